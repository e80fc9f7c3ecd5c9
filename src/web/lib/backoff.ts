/**
 * Reconnect delays for the stream: exponential from 0.5 s to 15 s with ±25 % jitter, so a
 * restarted server is not hit by every client at the same instant (RELIABILITY L7).
 */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 15_000;

export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt));
  const jitter = 0.75 + random() * 0.5;
  return Math.round(Math.min(BACKOFF_MAX_MS, exp * jitter));
}
