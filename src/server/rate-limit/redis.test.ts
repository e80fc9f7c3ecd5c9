/**
 * The Redis token bucket answers what the in-process one does (issue 15): the same ok /
 * Retry-After and the same X-RateLimit-* numbers for the same sequence, per-webhook limits sent
 * with each call (a changed setting applies to the shared bucket at once), and the degraded
 * per-node fallback follows the webhook's limits too.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { Redis as RedisClient } from 'ioredis';
import { redisAvailable, testRedisUrl } from '../../test-support/redis.js';
import { FakeClock } from '../../test-support/webhooks.js';
import { MemoryRateLimiter, type RateDecision, type RateLimits } from './memory.js';
import { createRedis } from '../distributed/redis-client.js';
import { RedisRateLimiter } from './redis.js';

const quiet = { warn: () => {}, info: () => {} };
const numbers = (d: RateDecision) => ({ ok: d.ok, retryAfter: d.ok ? null : d.retryAfterSeconds, limit: d.limit, remaining: d.remaining, reset: d.resetSeconds });

describe('RedisRateLimiter decisions (issue 15)', { skip: !redisAvailable() }, () => {
  let redis: Redis;
  before(async () => {
    redis = createRedis(testRedisUrl!, quiet, 'rl-headers');
    for (let i = 0; i < 200 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(redis.status, 'ready');
  });
  after(() => redis.disconnect());

  const limiter = (ratePerSecond: number, burst: number) => new RedisRateLimiter({ redis, clock: { now: () => Date.now() }, ratePerSecond, burst, nodeCount: () => 1 });

  test('a burst answers the same numbers as the in-process bucket', async () => {
    // A slow refill (0.01/s), so the few milliseconds between Redis calls change no whole number.
    const limits: RateLimits = { ratePerSecond: 0.01, burst: 4 };
    const inRedis = limiter(1, 1);
    const inMemory = new MemoryRateLimiter({ clock: new FakeClock(0), ratePerSecond: 1, burst: 1 });
    const key = randomUUID();
    for (let i = 0; i < 6; i++) {
      assert.deepEqual(numbers(await inRedis.take(key, limits)), numbers(await inMemory.take(key, limits)), `take ${i + 1}`);
    }
    const last = numbers(await inRedis.take(key, limits));
    assert.deepEqual(last, { ok: false, retryAfter: 100, limit: 4, remaining: 0, reset: 400 });
  });

  test('the configured defaults: limit = WEBHOOK_BURST, remaining counts down, 429 with Retry-After', async () => {
    const rl = limiter(1, 3);
    const key = randomUUID();
    const got = [];
    for (let i = 0; i < 4; i++) got.push(numbers(await rl.take(key)));
    assert.deepEqual(got.map((d) => [d.ok, d.limit, d.remaining]), [[true, 3, 2], [true, 3, 1], [true, 3, 0], [false, 3, 0]]);
    assert.equal(got[3]!.retryAfter, 1);
    assert.ok(got[0]!.reset === 1 && got[2]!.reset === 3, JSON.stringify(got));
  });

  test('a webhook\'s new limits apply to its shared bucket at once, from any node', async () => {
    const a = limiter(1, 1);
    const b = limiter(1, 1);
    const key = randomUUID();
    assert.equal((await a.take(key)).ok, true);
    assert.equal((await b.take(key)).ok, false, 'the default: 1 at once');
    // An administrator raises the burst to 5 at 1000/s: node B uses it at its next take (full after 5 ms).
    await new Promise((r) => setTimeout(r, 20));
    const raised = await b.take(key, { ratePerSecond: 1000, burst: 5 });
    assert.deepEqual([raised.ok, raised.limit, raised.remaining], [true, 5, 4]);
    // Lowered again: the bucket holds at most the new burst.
    const lowered = await a.take(key, { ratePerSecond: 0.01, burst: 2 });
    assert.deepEqual([lowered.ok, lowered.limit, lowered.remaining], [true, 2, 1]);
  });

  test('Redis unreachable: the fallback applies the webhook\'s own limits divided among the nodes', async () => {
    const dead = new RedisClient('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    dead.on('error', () => {});
    const rl = new RedisRateLimiter({ redis: dead, clock: new FakeClock(0), ratePerSecond: 1, burst: 1, nodeCount: () => 2 });
    const key = randomUUID();
    // burst 6 over 2 nodes → 3 here.
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await rl.take(key, { ratePerSecond: 4, burst: 6 }));
    assert.deepEqual(got.map((d) => [d.ok, d.limit, d.remaining]), [[true, 3, 2], [true, 3, 1], [true, 3, 0], [false, 3, 0]]);
    assert.equal(rl.degradedDecisions, 4);
    dead.disconnect();
  });
});
