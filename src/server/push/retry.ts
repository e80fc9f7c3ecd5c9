/**
 * What to do after a push service answers (RFC 8030 §5, §8.4): 2xx delivered; 404/410 the
 * subscription is gone (remove it); 429, 5xx and network errors are retried with exponential
 * backoff and jitter, or at the time Retry-After asks for; anything else (400, 401/403 VAPID
 * refused, 413) will not get better by retrying and is dropped. A delivery is also dropped after
 * `maxAttempts` sends or once it is older than its TTL (the push service would discard it anyway).
 */
export type SendResult =
  | { kind: 'response'; status: number; retryAfter?: string | undefined }
  /** No answer: connection refused or reset, DNS, timeout. */
  | { kind: 'error'; message: string }
  /** The request could not be made (the library refused the subscription's keys): never retried. */
  | { kind: 'invalid'; message: string };

export interface RetryPolicy {
  maxAttempts: number;
  /** First retry after about this long; doubled per attempt, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Deliveries older than this are dropped (the TTL). */
  maxAgeMs: number;
  /** In [0, 1): the jitter's source. */
  random: () => number;
}

export type Decision =
  | { action: 'delivered' }
  | { action: 'gone'; status: number }
  | { action: 'retry'; at: number; reason: string }
  | { action: 'dropped'; reason: string };

/** Retry-After in milliseconds from now: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, wallNow: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - wallNow) : undefined;
}

export function decide(result: SendResult, delivery: { attempts: number; createdAt: number }, now: number, policy: RetryPolicy): Decision {
  let reason: string;
  let retryAfterMs: number | undefined;
  if (result.kind === 'invalid') return { action: 'dropped', reason: result.message };
  if (result.kind === 'response') {
    const s = result.status;
    if (s >= 200 && s < 300) return { action: 'delivered' };
    if (s === 404 || s === 410) return { action: 'gone', status: s };
    if (s !== 429 && s < 500) return { action: 'dropped', reason: `push service answered ${s}` };
    reason = `push service answered ${s}`;
    retryAfterMs = parseRetryAfter(result.retryAfter);
  } else {
    reason = result.message;
  }
  if (delivery.attempts >= policy.maxAttempts) return { action: 'dropped', reason: `${reason}; gave up after ${delivery.attempts} attempts` };
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (delivery.attempts - 1));
  // Equal jitter (half fixed, half random), so a burst of failures does not come back as a burst.
  const delay = retryAfterMs !== undefined ? Math.min(Math.max(retryAfterMs, 1000), policy.maxAgeMs) : backoff / 2 + (policy.random() * backoff) / 2;
  const at = now + Math.ceil(delay);
  if (at > delivery.createdAt + policy.maxAgeMs) return { action: 'dropped', reason: `${reason}; the next try would be past the TTL` };
  return { action: 'retry', at, reason };
}
