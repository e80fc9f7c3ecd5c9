/**
 * What only the Redis token bucket does; the answers it shares with the in-process bucket are in
 * contract.test.ts. Two limiters stand for two nodes on one real Redis: the bucket is shared, so
 * the limit and a webhook's changed limits hold across nodes; and when Redis is unreachable each
 * node falls back to rate/N (the webhook's own limits divided among the nodes), never unlimited.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { Redis as RedisClient } from 'ioredis';
import { redisAvailable, testRedisUrl } from '../../test-support/redis.js';
import { FakeClock } from '../../test-support/webhooks.js';
import { createRedis, whenReady } from '../distributed/redis-client.js';
import { RedisRateLimiter, redisBucketKey } from './redis.js';

const quiet = { warn: () => {}, info: () => {} };

/** A Redis client that can never connect: every command fails at once. */
function deadRedis(): Redis {
  const dead = new RedisClient('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
  dead.on('error', () => {});
  return dead;
}

describe('RedisRateLimiter across nodes', { skip: !redisAvailable() }, () => {
  const conns: Redis[] = [];
  const conn = async (name: string) => {
    const r = createRedis(testRedisUrl!, quiet, name);
    conns.push(r);
    assert.ok(await whenReady(r), `Redis answers (${name})`);
    return r;
  };
  let redis: Redis;
  before(async () => {
    redis = await conn('rl-test');
  });
  after(() => {
    for (const c of conns) c.disconnect();
  });
  const limiter = (r: Redis, ratePerSecond: number, burst: number) => new RedisRateLimiter({ redis: r, clock: new FakeClock(0), ratePerSecond, burst, nodeCount: () => 2 });
  /** To the Lua script, the same as `ms` passing for this bucket (Redis's clock cannot be faked). */
  const advance = (key: string, ms: number) => redis.hincrbyfloat(redisBucketKey(key), 'at', -ms);

  test('the token bucket is shared: a second take on another node within the second is refused', async () => {
    const a = limiter(await conn('rl-a'), 1, 1);
    const b = limiter(await conn('rl-b'), 1, 1);
    const key = randomUUID();
    const [ra, rb] = await Promise.all([a.take(key), b.take(key)]);
    assert.deepEqual([ra.ok, rb.ok].sort(), [false, true]);
    const refused = ra.ok ? rb : ra;
    assert.ok(!refused.ok && refused.retryAfterSeconds === 1);
    assert.equal(a.degradedDecisions + b.degradedDecisions, 0);
    // Another webhook has its own bucket.
    assert.equal((await b.take(randomUUID())).ok, true);
  });

  test('concurrent takes spend the burst atomically, then refill at the configured rate', async () => {
    const rl = limiter(redis, 1, 3);
    const key = randomUUID();
    const first = await Promise.all([rl.take(key), rl.take(key), rl.take(key), rl.take(key)]);
    assert.deepEqual(first.map((d) => d.ok).sort(), [false, true, true, true]);
    await advance(key, 1000);
    assert.equal((await rl.take(key)).ok, true, 'refilled at 1/s');
    assert.equal(rl.degradedDecisions, 0);
  });

  test('a webhook\'s new limits apply to its shared bucket at once, from any node', async () => {
    const a = limiter(await conn('rl-limits-a'), 1, 1);
    const b = limiter(await conn('rl-limits-b'), 1, 1);
    const key = randomUUID();
    assert.equal((await a.take(key)).ok, true);
    assert.equal((await b.take(key)).ok, false, 'the default: 1 at once');
    // An administrator raises the burst to 5 at 1000/s: node B uses it at its next take (full after 5 ms).
    await advance(key, 20);
    const raised = await b.take(key, { ratePerSecond: 1000, burst: 5 });
    assert.deepEqual([raised.ok, raised.limit, raised.remaining], [true, 5, 4]);
    // Lowered again: the bucket holds at most the new burst.
    const lowered = await a.take(key, { ratePerSecond: 0.01, burst: 2 });
    assert.deepEqual([lowered.ok, lowered.limit, lowered.remaining], [true, 2, 1]);
    assert.equal(a.degradedDecisions + b.degradedDecisions, 0);
  });
});

describe('RedisRateLimiter with Redis unreachable (no Redis needed)', () => {
  test('the limiter falls back to rate/N per node, never unlimited', async () => {
    const dead = deadRedis();
    const rl = new RedisRateLimiter({ redis: dead, clock: new FakeClock(0), ratePerSecond: 2, burst: 2, nodeCount: () => 2 });
    const key = randomUUID();
    // rate 2/s over 2 nodes → this node grants 1/s with a bucket of 1.
    assert.equal((await rl.take(key)).ok, true);
    const second = await rl.take(key);
    assert.equal(second.ok, false);
    assert.ok(rl.degradedDecisions >= 2);
    dead.disconnect();
  });

  test('the fallback applies the webhook\'s own limits divided among the nodes', async () => {
    const dead = deadRedis();
    const rl = new RedisRateLimiter({ redis: dead, clock: new FakeClock(0), ratePerSecond: 1, burst: 1, nodeCount: () => 2 });
    const key = randomUUID();
    // burst 6 over 2 nodes → 3 here.
    const got = [];
    for (let i = 0; i < 4; i++) got.push(await rl.take(key, { ratePerSecond: 4, burst: 6 }));
    assert.deepEqual(got.map((d) => [d.ok, d.limit, d.remaining]), [[true, 3, 2], [true, 3, 1], [true, 3, 0], [false, 3, 0]]);
    assert.equal(rl.degradedDecisions, 4);
    dead.disconnect();
  });

  test('the fallback follows the number of live nodes: its buckets start afresh when N changes', async () => {
    const dead = deadRedis();
    const clock = new FakeClock(0);
    let nodes = 3;
    const rl = new RedisRateLimiter({ redis: dead, clock, ratePerSecond: 3, burst: 3, nodeCount: () => nodes });
    const key = randomUUID();
    // 3 nodes: a bucket of 1 here.
    assert.deepEqual([(await rl.take(key)).ok, (await rl.take(key)).ok], [true, false]);
    // One node left: the whole burst, in a new bucket.
    nodes = 1;
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await rl.take(key)).ok);
    assert.deepEqual(got, [true, true, true, false]);
    dead.disconnect();
  });
});
