/**
 * The per-webhook rate limit (SPEC 2.3: 1 request per second per webhook, a token bucket of
 * capacity WEBHOOK_BURST refilled at WEBHOOK_RATE_PER_SECOND). Chime's documented limit was one
 * request per second per webhook (https://docs.aws.amazon.com/chime/latest/ug/webhooks.html);
 * Carillon keeps it so scripts tuned for Chime behave the same.
 *
 * One small interface (STYLE 3, after @fastify/rate-limit's LocalStore/RedisStore): this in-process
 * bucket serves the embedded default; a Redis implementation (issue 8) will serve several nodes.
 */
import type { Clock } from '../services/context.js';

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface RateLimiter {
  /** Spends one token of `key`'s bucket, or says how many whole seconds to wait (at least 1). */
  take(key: string): Promise<RateDecision>;
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
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly maxKeys: number;
  /** The size that triggers the next sweep: doubling it after a sweep keeps the cost amortised O(1). */
  private sweepAt: number;

  constructor(private readonly options: MemoryRateLimiterOptions) {
    if (!(options.ratePerSecond > 0) || !(options.burst >= 1)) throw new Error('rate limiter: ratePerSecond must be > 0 and burst >= 1');
    this.maxKeys = options.maxKeys ?? 10_000;
    this.sweepAt = this.maxKeys;
  }

  async take(key: string): Promise<RateDecision> {
    const now = this.options.clock.now();
    const bucket = this.refill(this.buckets.get(key), now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.remember(key, bucket, now);
      return { ok: true };
    }
    this.remember(key, bucket, now);
    const waitMs = ((1 - bucket.tokens) / this.options.ratePerSecond) * 1000;
    // Retry-After is in whole seconds; rounding up means a caller who waits that long succeeds.
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000 - 1e-9)) };
  }

  /** What `take` would answer now, without spending a token. */
  peek(key: string): RateDecision {
    const bucket = this.refill(this.buckets.get(key), this.options.clock.now());
    if (bucket.tokens >= 1) return { ok: true };
    const waitMs = ((1 - bucket.tokens) / this.options.ratePerSecond) * 1000;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000 - 1e-9)) };
  }

  /** How many keys are tracked (for tests of the memory bound). */
  get size(): number {
    return this.buckets.size;
  }

  private refill(bucket: Bucket | undefined, now: number): Bucket {
    const { burst, ratePerSecond } = this.options;
    if (!bucket) return { tokens: burst, at: now };
    // A clock that steps backwards refills nothing rather than draining the bucket.
    const elapsed = Math.max(0, now - bucket.at);
    return { tokens: Math.min(burst, bucket.tokens + (elapsed / 1000) * ratePerSecond), at: Math.max(now, bucket.at) };
  }

  private remember(key: string, bucket: Bucket, now: number): void {
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.sweepAt) {
      this.evictFull(now);
      this.sweepAt = Math.max(this.maxKeys, this.buckets.size * 2);
    }
  }

  /** Forgets every bucket that is full again: forgetting it changes nothing (a new bucket starts full). */
  private evictFull(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (this.refill(bucket, now).tokens >= this.options.burst) this.buckets.delete(key);
    }
  }
}
