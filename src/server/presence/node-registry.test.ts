/**
 * The node registry on a real Redis, its heartbeats timed by a FakeClock: a node is alive from its
 * first heartbeat until the TTL after its last, leaves at once when it stops cleanly, and while
 * Redis is away the last view is kept (this node always counts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { freePort } from '../../test-support/net.js';
import { redisAvailable, testRedisUrlWithDb } from '../../test-support/redis.js';
import { FakeClock } from '../../test-support/webhooks.js';
import { createRedis, whenReady } from '../distributed/redis-client.js';
import { NodeRegistry } from './node-registry.js';

const quiet = { warn: () => {}, info: () => {} };

describe('NodeRegistry', { skip: !redisAvailable() }, () => {
  const conns: Redis[] = [];
  const conn = async (name: string) => {
    // Database 2: this file's node registry (see testRedisUrlWithDb).
    const r = createRedis(testRedisUrlWithDb(2), quiet, name);
    conns.push(r);
    assert.ok(await whenReady(r), `Redis answers (${name})`);
    return r;
  };
  after(() => {
    for (const c of conns) c.disconnect();
  });
  const sorted = (r: NodeRegistry) => [...r.liveNodes()].sort();

  test('a node is alive from its first heartbeat until the TTL after its last', async () => {
    const clock = new FakeClock();
    const a = new NodeRegistry(await conn('a'), `a-${randomUUID()}`, clock, { ttlMs: 1000, heartbeatMs: 100_000 });
    const b = new NodeRegistry(await conn('b'), `b-${randomUUID()}`, clock, { ttlMs: 1000, heartbeatMs: 100_000 });
    assert.deepEqual([...a.liveNodes()], [a.nodeId], 'before any heartbeat: this node only');
    await a.beat();
    await b.beat();
    await a.beat();
    assert.deepEqual(sorted(a), [a.nodeId, b.nodeId].sort());
    assert.equal(a.lastKnownNodeCount, 2);
    clock.advance(900);
    await a.beat();
    assert.equal(a.lastKnownNodeCount, 2, 'B beat 900 ms ago: within the TTL');
    clock.advance(200);
    await a.beat();
    assert.deepEqual([...a.liveNodes()], [a.nodeId], 'B beat 1100 ms ago: dead');
    assert.equal(a.lastKnownNodeCount, 1);
    // B comes back.
    await b.beat();
    await a.beat();
    assert.equal(a.lastKnownNodeCount, 2);
    await a.stop();
    await b.stop();
  });

  test('start() beats at once; stop() leaves at once, without waiting for the TTL', async () => {
    const clock = new FakeClock();
    const a = new NodeRegistry(await conn('a2'), `a-${randomUUID()}`, clock, { heartbeatMs: 100_000 });
    const b = new NodeRegistry(await conn('b2'), `b-${randomUUID()}`, clock, { heartbeatMs: 100_000 });
    await a.start();
    await b.start();
    await a.beat();
    assert.deepEqual(sorted(a), [a.nodeId, b.nodeId].sort());
    await b.stop();
    await a.beat();
    assert.deepEqual([...a.liveNodes()], [a.nodeId]);
    await a.stop();
  });

  test('Redis lost: the last view and node count are kept', async () => {
    const clock = new FakeClock();
    const ra = await conn('a3');
    const a = new NodeRegistry(ra, `a-${randomUUID()}`, clock, { ttlMs: 1000, heartbeatMs: 100_000 });
    const b = new NodeRegistry(await conn('b3'), `b-${randomUUID()}`, clock, { ttlMs: 1000, heartbeatMs: 100_000 });
    await b.beat();
    await a.beat();
    assert.equal(a.lastKnownNodeCount, 2);
    ra.disconnect();
    clock.advance(5_000);
    await a.beat();
    assert.deepEqual(sorted(a), [a.nodeId, b.nodeId].sort(), 'no heartbeat read: the last view stands');
    assert.equal(a.lastKnownNodeCount, 2);
    await b.stop();
  });
});

describe('NodeRegistry with Redis unreachable (no Redis needed)', () => {
  test('this node alone counts', async () => {
    const dead = createRedis(`redis://127.0.0.1:${await freePort()}`, quiet, 'dead');
    try {
      const registry = new NodeRegistry(dead, `n-${randomUUID()}`, new FakeClock());
      await registry.beat();
      assert.deepEqual([...registry.liveNodes()], [registry.nodeId]);
      assert.equal(registry.lastKnownNodeCount, 1);
      await registry.stop();
    } finally {
      dead.disconnect();
    }
  });
});
