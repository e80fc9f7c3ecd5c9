/**
 * The per-webhook token bucket in Redis, so the 1-per-second limit (or the webhook's own rate,
 * issue 15) holds across every node (SPEC 9). One Lua script reads, refills and spends atomically with Redis's own clock, so nodes'
 * clocks do not matter. While Redis is away, each node falls back to an in-process bucket at
 * rate/N (N = nodes last seen alive): degraded, never unlimited (RELIABILITY D-6).
 */
import type { Redis } from 'ioredis';
import { KEY_PREFIX } from '../distributed/redis-client.js';
import type { Clock } from '../services/context.js';
import { MemoryRateLimiter } from './memory.js';
import { type RateDecision, type RateLimiter, type RateLimits, rateDecision } from './types.js';

const TOKEN_BUCKET = `
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
if now > at then at = now end
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', key, math.ceil(burst / rate) + 1000)
-- The tokens left as text: a Lua number in a reply is truncated to an integer.
return {ok, tostring(tokens)}
`;

/** The Redis key of `key`'s bucket: a hash of `tokens` and `at` (Redis time, ms), expiring once it would be full again. */
export const redisBucketKey = (key: string) => `${KEY_PREFIX}rl:${key}`;

export interface RedisRateLimiterOptions {
  redis: Redis;
  clock: Clock;
  ratePerSecond: number;
  burst: number;
  /** How many nodes share the limit (for the degraded per-node rate). */
  nodeCount: () => number;
}

export class RedisRateLimiter implements RateLimiter {
  private fallback: { limiter: MemoryRateLimiter; nodes: number } | undefined;
  /** Requests decided by the in-process fallback (for metrics and tests). */
  degradedDecisions = 0;

  constructor(private readonly options: RedisRateLimiterOptions) {
    options.redis.defineCommand('carillonTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET });
  }

  /**
   * The same decision as MemoryRateLimiter's (rateDecision), from the tokens the script left:
   * both limiters answer the same X-RateLimit-* values and Retry-After. `limits` (a webhook's own
   * settings) are sent with each call, so a changed setting applies to the shared bucket at once.
   */
  async take(key: string, limits?: RateLimits): Promise<RateDecision> {
    const { redis } = this.options;
    const l = limits ?? this.options;
    try {
      const [ok, tokens] = (await (redis as unknown as { carillonTokenBucket(k: string, r: string, b: string): Promise<[number, string]> }).carillonTokenBucket(
        redisBucketKey(key),
        String(l.ratePerSecond / 1000),
        String(l.burst),
      )) as [number, string];
      return rateDecision(ok === 1, Number(tokens), l);
    } catch {
      this.degradedDecisions++;
      return this.local(key, l);
    }
  }

  /** The degraded limiter: rate/N and burst/N per node (at least 1), its buckets started afresh when N changes. */
  private local(key: string, limits: RateLimits): Promise<RateDecision> {
    const nodes = Math.max(1, this.options.nodeCount());
    if (!this.fallback || this.fallback.nodes !== nodes) {
      this.fallback = {
        nodes,
        limiter: new MemoryRateLimiter({
          clock: this.options.clock,
          ratePerSecond: this.options.ratePerSecond / nodes,
          burst: Math.max(1, Math.floor(this.options.burst / nodes)),
        }),
      };
    }
    return this.fallback.limiter.take(key, { ratePerSecond: limits.ratePerSecond / nodes, burst: Math.max(1, Math.floor(limits.burst / nodes)) });
  }
}
