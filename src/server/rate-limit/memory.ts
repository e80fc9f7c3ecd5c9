/**
 * The per-webhook rate limit (SPEC 2.3: 1 request per second per webhook, a token bucket of
 * capacity WEBHOOK_BURST refilled at WEBHOOK_RATE_PER_SECOND, or the webhook's own settings, issue 15).
 * Chime's documented limit was one
 * request per second per webhook (https://docs.aws.amazon.com/chime/latest/ug/webhooks.html);
 * Carillon keeps it so scripts tuned for Chime behave the same.
 *
 * One small interface (STYLE 3, after @fastify/rate-limit's LocalStore/RedisStore): this in-process
 * bucket serves the embedded default; a Redis implementation (issue 8) will serve several nodes.
 */
import type { Clock } from '../services/context.js';

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

export interface MemoryRateLimiterOptions {
  clock: Clock;
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket capacity (the largest burst). */
  burst: number;
  /** Above this many tracked keys, buckets that have refilled completely are forgotten. */
  maxKeys?: number;
}

/** Says whether something keyed (a security event to log) may happen now: at most once per `everyMs` per key. */
export class OncePerKey {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly everyMs: number,
    /** Above this many keys the memory is simply emptied (at worst one event too many is logged). */
    private readonly maxKeys = 10_000,
  ) {}

  allow(key: string): boolean {
    const now = this.clock.now();
    const last = this.last.get(key);
    if (last !== undefined && now - last < this.everyMs) return false;
    if (this.last.size >= this.maxKeys) this.last.clear();
    this.last.set(key, now);
    return true;
  }
}

interface Bucket {
  tokens: number;
  /** Clock time (ms) at which `tokens` was computed. */
  at: number;
  /** The capacity and rate of its last decision (for forgetting full buckets). */
  burst: number;
  ratePerSecond: number;
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;
  /** The size that triggers the next sweep: doubling it after a sweep keeps the cost amortised O(1). */
  private sweepAt: number;

  constructor(private readonly options: MemoryRateLimiterOptions) {
    checkLimits(options);
    this.maxKeys = options.maxKeys ?? 10_000;
    this.sweepAt = this.maxKeys;
  }

  async take(key: string, limits?: RateLimits): Promise<RateDecision> {
    const l = limits ?? this.options;
    if (limits) checkLimits(limits);
    const now = this.options.clock.now();
    const bucket = this.refill(this.buckets.get(key), now, l);
    const ok = bucket.tokens >= 1;
    if (ok) bucket.tokens -= 1;
    this.remember(key, bucket, now);
    return rateDecision(ok, bucket.tokens, l);
  }

  /** What `take` would answer now, without spending a token. */
  peek(key: string, limits?: RateLimits): RateDecision {
    const l = limits ?? this.options;
    const bucket = this.refill(this.buckets.get(key), this.options.clock.now(), l);
    return rateDecision(bucket.tokens >= 1, bucket.tokens, l);
  }

  /** How many keys are tracked (for tests of the memory bound). */
  get size(): number {
    return this.buckets.size;
  }

  private refill(bucket: Bucket | undefined, now: number, { burst, ratePerSecond }: RateLimits): Bucket {
    if (!bucket) return { tokens: burst, at: now, burst, ratePerSecond };
    // A clock that steps backwards refills nothing rather than draining the bucket.
    const elapsed = Math.max(0, now - bucket.at);
    return { tokens: Math.min(burst, bucket.tokens + (elapsed / 1000) * ratePerSecond), at: Math.max(now, bucket.at), burst, ratePerSecond };
  }

  private remember(key: string, bucket: Bucket, now: number): void {
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.sweepAt) {
      this.evictFull(now);
      this.sweepAt = Math.max(this.maxKeys, this.buckets.size * 2);
    }
  }

  /** Forgets every bucket that is full again (at its own rate and capacity): forgetting it changes nothing (a new bucket starts full). */
  private evictFull(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (this.refill(bucket, now, bucket).tokens >= bucket.burst) this.buckets.delete(key);
    }
  }
}

function checkLimits(l: RateLimits): void {
  if (!(l.ratePerSecond > 0) || !(l.burst >= 1)) throw new Error('rate limiter: ratePerSecond must be > 0 and burst >= 1');
}
