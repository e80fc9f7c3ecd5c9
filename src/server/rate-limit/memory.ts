/**
 * The in-process token bucket (types.ts says what a bucket decides): the embedded default's
 * per-webhook limit, and the per-node buckets of failed-auth.ts, sign-in-throttle.ts and the Redis
 * limiter's degraded fallback (redis.ts). Memory stays bounded: full buckets are forgotten.
 */
import type { Clock } from '../services/context.js';
import { type RateDecision, type RateLimiter, type RateLimits, rateDecision } from './types.js';

export interface MemoryRateLimiterOptions {
  clock: Clock;
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket capacity (the largest burst). */
  burst: number;
  /** Above this many tracked keys, buckets that have refilled completely are forgotten. */
  maxKeys?: number;
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
