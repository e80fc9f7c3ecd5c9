/**
 * The per-webhook rate limit (SPEC 2.3: 1 request per second per webhook, a token bucket of
 * capacity WEBHOOK_BURST refilled at WEBHOOK_RATE_PER_SECOND, or the webhook's own settings, issue 15).
 * Chime's documented limit was one
 * request per second per webhook (https://docs.aws.amazon.com/chime/latest/ug/webhooks.html);
 * Carillon keeps it so scripts tuned for Chime behave the same.
 *
 * One small interface (STYLE 3, after @fastify/rate-limit's LocalStore/RedisStore), two
 * implementations: MemoryRateLimiter (memory.ts) serves the embedded default, RedisRateLimiter
 * (redis.ts) serves several nodes. Both answer rateDecision's numbers, and contract.test.ts runs
 * the same cases on each.
 */

/** A bucket's size and refill: the server's WEBHOOK_RATE_PER_SECOND / WEBHOOK_BURST, or a webhook's own settings (issue 15). */
export interface RateLimits {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket capacity (the largest burst). */
  burst: number;
}

/**
 * The bucket after a decision, for the X-RateLimit-* headers (issue 15): `limit` is the capacity,
 * `remaining` the whole tokens left after this request, `resetSeconds` the whole seconds until the
 * bucket is full again (0 when it is full).
 */
export interface RateState {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

export type RateDecision = ({ ok: true } | { ok: false; retryAfterSeconds: number }) & RateState;

export interface RateLimiter {
  /**
   * Spends one token of `key`'s bucket, or says how many whole seconds to wait (at least 1).
   * `limits` replaces the limiter's own rate and capacity for this bucket (a webhook's settings);
   * a bucket whose capacity shrank keeps at most the new capacity.
   */
  take(key: string, limits?: RateLimits): Promise<RateDecision>;
}

/** The decision for a bucket holding `tokens` (after any spending), in whole numbers for headers. */
export function rateDecision(ok: boolean, tokens: number, limits: RateLimits): RateDecision {
  const { ratePerSecond, burst } = limits;
  // A hair of tolerance: refills are floating-point sums (0.1 + 0.2 …).
  const t = Math.min(burst, Math.max(0, tokens + 1e-9));
  const state: RateState = {
    limit: burst,
    remaining: Math.floor(t),
    resetSeconds: Math.max(0, Math.ceil((burst - t) / ratePerSecond - 1e-9)),
  };
  if (ok) return { ok: true, ...state };
  // Retry-After is in whole seconds; rounding up means a caller who waits that long succeeds.
  return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - t) / ratePerSecond - 1e-9)), ...state };
}
