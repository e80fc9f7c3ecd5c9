/**
 * The rate limiter's contract (types.ts), run on both implementations: MemoryRateLimiter and
 * RedisRateLimiter must give the same answers to the same sequence — ok or Retry-After, and the
 * X-RateLimit-* numbers (limit, remaining, reset) — with the limiter's own limits or a webhook's.
 *
 * Time: the memory limiter reads its injected clock (a FakeClock here). The Redis script reads
 * Redis's own clock, which no test can move; for Redis, `advance(ms)` moves the touched buckets'
 * `at` back by ms (or forward, for a clock that steps back), which to the script is ms passing.
 * Real time also passes between Redis calls (milliseconds, refilling a little), so no case
 * expects an answer to change within less than half a second of time.
 *
 * What only one implementation does is tested beside it: memory.test.ts (memory bound, peek,
 * exact millisecond refill), redis.test.ts (a bucket shared by nodes, the degraded fallback).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { redisAvailable, testRedisUrl } from '../../test-support/redis.js';
import { FakeClock } from '../../test-support/webhooks.js';
import { createRedis, whenReady } from '../distributed/redis-client.js';
import { MemoryRateLimiter } from './memory.js';
import { RedisRateLimiter, redisBucketKey } from './redis.js';
import type { RateDecision, RateLimiter } from './types.js';

interface Fixture {
  /** A new limiter with these defaults; the keys of one fixture are its own. */
  limiter(ratePerSecond: number, burst: number): RateLimiter;
  /** Lets `ms` pass for every bucket of this fixture (negative: the clock steps back). */
  advance(ms: number): Promise<void>;
}

/** The decision without its header numbers (tested on their own below). */
const okOf = (d: RateDecision) => (d.ok ? { ok: true } : { ok: false, retryAfterSeconds: d.retryAfterSeconds });
/** ok, limit, remaining, reset. */
const state = (d: RateDecision) => [d.ok, d.limit, d.remaining, d.resetSeconds];

function contract(fixture: () => Fixture): void {
  let f: Fixture;
  beforeEach(() => {
    f = fixture();
  });

  test('capacity 1, refill 1/s: one request per second; Retry-After rounds up to whole seconds', async () => {
    const rl = f.limiter(1, 1);
    assert.deepEqual(okOf(await rl.take('w')), { ok: true });
    assert.deepEqual(okOf(await rl.take('w')), { ok: false, retryAfterSeconds: 1 });
    await f.advance(500);
    assert.deepEqual(okOf(await rl.take('w')), { ok: false, retryAfterSeconds: 1 });
    await f.advance(500);
    assert.deepEqual(okOf(await rl.take('w')), { ok: true });
  });

  test('a refused request spends nothing: waiting Retry-After is always enough', async () => {
    const rl = f.limiter(1, 1);
    await rl.take('w');
    for (let i = 0; i < 5; i++) assert.equal((await rl.take('w')).ok, false);
    await f.advance(1000);
    assert.equal((await rl.take('w')).ok, true);
  });

  test('keys have separate buckets', async () => {
    const rl = f.limiter(1, 1);
    assert.equal((await rl.take('a')).ok, true);
    assert.equal((await rl.take('b')).ok, true);
    assert.equal((await rl.take('a')).ok, false);
  });

  test('WEBHOOK_BURST allows a burst, then the refill rate holds', async () => {
    const rl = f.limiter(2, 3);
    for (let i = 0; i < 3; i++) assert.equal((await rl.take('w')).ok, true);
    assert.deepEqual(okOf(await rl.take('w')), { ok: false, retryAfterSeconds: 1 });
    await f.advance(500);
    assert.equal((await rl.take('w')).ok, true);
    assert.equal((await rl.take('w')).ok, false);
    await f.advance(10_000);
    for (let i = 0; i < 3; i++) assert.equal((await rl.take('w')).ok, true, 'the bucket never holds more than its capacity');
    assert.equal((await rl.take('w')).ok, false);
  });

  test('a slow rate gives a longer Retry-After, never below 1', async () => {
    const rl = f.limiter(0.25, 1);
    await rl.take('w');
    assert.deepEqual(okOf(await rl.take('w')), { ok: false, retryAfterSeconds: 4 });
    await f.advance(3_500);
    assert.deepEqual(okOf(await rl.take('w')), { ok: false, retryAfterSeconds: 1 });
  });

  test('a clock that steps backwards refills nothing and drains nothing', async () => {
    const rl = f.limiter(1, 1);
    await rl.take('w');
    await f.advance(-5_000);
    assert.equal((await rl.take('w')).ok, false);
    await f.advance(6_000);
    assert.equal((await rl.take('w')).ok, true);
  });

  // ---- issue 15: the numbers behind X-RateLimit-*, and per-webhook limits ----

  test('limit, remaining and reset across a burst, a refusal and the refill (the configured defaults)', async () => {
    const rl = f.limiter(1, 3);
    assert.deepEqual(state(await rl.take('w')), [true, 3, 2, 1]);
    assert.deepEqual(state(await rl.take('w')), [true, 3, 1, 2]);
    assert.deepEqual(state(await rl.take('w')), [true, 3, 0, 3]);
    const refused = await rl.take('w');
    assert.deepEqual(state(refused), [false, 3, 0, 3]);
    assert.equal(!refused.ok && refused.retryAfterSeconds, 1);
    await f.advance(500);
    // Half a token: still nothing to spend; the bucket is full in 2.5 s, said as 3.
    assert.deepEqual(state(await rl.take('w')), [false, 3, 0, 3]);
    await f.advance(500);
    assert.deepEqual(state(await rl.take('w')), [true, 3, 0, 3]);
    await f.advance(60_000);
    assert.deepEqual(state(await rl.take('w')), [true, 3, 2, 1], 'full again, never more than the capacity');
  });

  test('a burst at a slow rate: every whole number of every answer', async () => {
    // A slow refill (0.01/s): the milliseconds between Redis calls change no whole number.
    const rl = f.limiter(1, 1);
    const limits = { ratePerSecond: 0.01, burst: 4 };
    const got = [];
    for (let i = 0; i < 7; i++) {
      const d = await rl.take('w', limits);
      got.push([...state(d), d.ok ? null : d.retryAfterSeconds]);
    }
    assert.deepEqual(got, [
      [true, 4, 3, 100, null],
      [true, 4, 2, 200, null],
      [true, 4, 1, 300, null],
      [true, 4, 0, 400, null],
      [false, 4, 0, 400, 100],
      [false, 4, 0, 400, 100],
      [false, 4, 0, 400, 100],
    ]);
  });

  test('per-call limits: a webhook\'s own rate and burst; a smaller burst caps what the bucket holds at once', async () => {
    const rl = f.limiter(1, 1);
    const own = { ratePerSecond: 2, burst: 5 };
    for (let i = 4; i >= 0; i--) assert.deepEqual([(await rl.take('w', own)).remaining], [i]);
    const refused = await rl.take('w', own);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.retryAfterSeconds, 1, '1 token at 2/s: half a second, said as 1');
    assert.equal(refused.resetSeconds, 3, '5 tokens at 2/s');
    await f.advance(10_000);
    const smaller = await rl.take('w', { ratePerSecond: 2, burst: 2 });
    assert.deepEqual([smaller.ok, smaller.limit, smaller.remaining], [true, 2, 1]);
    // Other keys keep the limiter's own limits.
    assert.deepEqual([(await rl.take('other')).limit, (await rl.take('other')).ok], [1, false]);
  });

  test('a webhook\'s new limits apply to its bucket at the next take', async () => {
    const rl = f.limiter(1, 1);
    assert.equal((await rl.take('w')).ok, true);
    assert.equal((await rl.take('w')).ok, false, 'the default: 1 at once');
    // An administrator raises the burst to 5 at 1000/s: full again after 5 ms.
    await f.advance(20);
    const raised = await rl.take('w', { ratePerSecond: 1000, burst: 5 });
    assert.deepEqual([raised.ok, raised.limit, raised.remaining], [true, 5, 4]);
    // Lowered again: the bucket holds at most the new burst.
    const lowered = await rl.take('w', { ratePerSecond: 0.01, burst: 2 });
    assert.deepEqual([lowered.ok, lowered.limit, lowered.remaining], [true, 2, 1]);
  });
}

describe('RateLimiter contract: MemoryRateLimiter', () => {
  contract(() => {
    const clock = new FakeClock(1_000_000);
    return {
      limiter: (ratePerSecond, burst) => new MemoryRateLimiter({ clock, ratePerSecond, burst }),
      advance: async (ms) => clock.advance(ms),
    };
  });
});

describe('RateLimiter contract: RedisRateLimiter', { skip: !redisAvailable() }, () => {
  let redis: Redis;
  let made: RedisRateLimiter[] = [];
  before(async () => {
    redis = createRedis(testRedisUrl!, { warn: () => {}, info: () => {} }, 'rl-contract');
    assert.ok(await whenReady(redis), 'Redis answers');
  });
  after(() => redis.disconnect());
  afterEach(() => {
    // Every answer came from Redis, not from the degraded in-process fallback.
    assert.deepEqual(made.map((rl) => rl.degradedDecisions), made.map(() => 0));
    made = [];
  });

  contract(() => {
    const namespace = `${randomUUID()}:`;
    const touched = new Set<string>();
    return {
      limiter: (ratePerSecond, burst) => {
        const rl = new RedisRateLimiter({ redis, clock: new FakeClock(0), ratePerSecond, burst, nodeCount: () => 1 });
        made.push(rl);
        return {
          take: (key, limits) => {
            touched.add(redisBucketKey(namespace + key));
            return rl.take(namespace + key, limits);
          },
        };
      },
      advance: async (ms) => {
        for (const key of touched) {
          if ((await redis.exists(key)) === 1) await redis.hincrbyfloat(key, 'at', -ms);
        }
      },
    };
  });
});
