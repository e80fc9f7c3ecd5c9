/**
 * The failed-authentication limiter of webhook URLs (RELIABILITY D-5, S4): wrong or expired URLs
 * are counted per client address and per webhook id, in buckets of their own. Past the budget such
 * requests are answered 429 instead of 403/404, and a security event is logged (never a token).
 *
 * It only ever changes the answer to a request that failed anyway: a request with a valid URL is
 * never counted nor refused here, so an attacker hammering a known webhook id (or sharing the
 * legitimate sender's address, as behind a proxy) cannot lock the legitimate sender out. The
 * client address is the socket's (X-Forwarded-For is not trusted), so rotating that header does
 * not help. The budget is generous: a forgotten cron job posting to a deleted URL every minute keeps
 * getting its 404 and the message that says what to do.
 *
 * In memory, per node: with several nodes an attacker gets each node's budget, which the 428 bits
 * of a token make irrelevant; what this limits is noise and wasted work, and it makes the attack visible.
 */
import { AppError } from '../errors.js';
import type { Clock } from '../services/context.js';
import { MemoryRateLimiter } from './memory.js';
import { OncePerKey } from './once-per-key.js';

/** Failed requests allowed at once per address and per webhook id, and refilled per minute. */
export const FAILED_AUTH_BUDGET = 30;

/** A logged security event is repeated at most this often per address or webhook id. */
const LOG_EVERY_MS = 60_000;

export interface FailedAuthEvent {
  /** 'address' when the client address is over its budget, 'webhook' when the webhook id is. */
  scope: 'address' | 'webhook';
  address: string;
  webhookId: string | null;
  /** What the request failed with (InvalidWebhook or WebhookNotFound). */
  code: string;
}

export class FailedAuthGuard {
  private readonly buckets: MemoryRateLimiter;
  private readonly logged: OncePerKey;

  constructor(
    clock: Clock,
    /** Called (at most once a minute per address or webhook id) when the limiter engages. */
    private readonly onEngaged: (event: FailedAuthEvent) => void,
    budget = FAILED_AUTH_BUDGET,
  ) {
    this.buckets = new MemoryRateLimiter({ clock, ratePerSecond: budget / 60, burst: budget });
    this.logged = new OncePerKey(clock, LOG_EVERY_MS);
  }

  /**
   * A request failed authentication with `failure`: counts it, and answers what to send — the
   * failure itself, or 429 Throttled once the address or the webhook id is over its budget.
   * `webhookId` is null when the URL has no well-formed id (then only the address counts).
   */
  async refuse(address: string, webhookId: string | null, failure: AppError): Promise<AppError> {
    const byAddress = await this.buckets.take(`a:${address}`);
    const byWebhook = webhookId === null ? ({ ok: true } as const) : await this.buckets.take(`w:${webhookId}`);
    if (byAddress.ok && byWebhook.ok) return failure;
    const scope = byAddress.ok ? 'webhook' : 'address';
    if (this.logged.allow(scope === 'address' ? `a:${address}` : `w:${webhookId}`)) this.onEngaged({ scope, address, webhookId, code: failure.code });
    const retryAfter = Math.max(byAddress.ok ? 0 : byAddress.retryAfterSeconds, byWebhook.ok ? 0 : byWebhook.retryAfterSeconds);
    const who = scope === 'address' ? 'from this address' : 'for this webhook';
    return new AppError(
      'Throttled',
      `Too many requests with a wrong or expired webhook URL ${who}; this one was refused too (${failure.code}: ${failure.message}) Retry after ${retryAfter} second${retryAfter === 1 ? '' : 's'}.`,
      { retryAfterS: retryAfter },
    );
  }
}
