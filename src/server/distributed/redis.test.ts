/**
 * The Redis implementations, two instances standing for two nodes on one real Redis: presence is
 * shared and forgets a dead node, events cross, and presence falls back to the local view when
 * Redis is unreachable. (The rate limiter's are in rate-limit/redis.test.ts.)
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { type DomainEvent, PresenceUnavailableError } from '../services/context.js';
import { freePort } from '../../test-support/net.js';
import { redisAvailable, testRedisUrl } from '../../test-support/redis.js';
import { NodeRegistry } from '../presence/node-registry.js';
import { createRedis } from './redis-client.js';
import { RedisBus } from './redis-bus.js';
import { RedisPresence } from '../presence/redis.js';

const quiet = { warn: () => {}, info: () => {} };
const until = async (cond: () => boolean | Promise<boolean>, what: string) => {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
};

describe('Redis implementations', { skip: !redisAvailable() }, () => {
  const conns: Redis[] = [];
  const conn = (name: string) => {
    const r = createRedis(testRedisUrl!, quiet, name);
    conns.push(r);
    return r;
  };
  before(async () => {
    const r = conn('setup');
    await until(() => r.status === 'ready', 'redis');
  });
  after(async () => {
    for (const c of conns) c.disconnect();
  });

  test('presence is the union over live nodes; a node that stops beating stops counting', async () => {
    const events: DomainEvent[] = [];
    const sink = { publish: (e: DomainEvent) => events.push(e) };
    const regA = new NodeRegistry(conn('reg-a'), `a-${randomUUID()}`, { ttlMs: 1000, heartbeatMs: 100_000 });
    const regB = new NodeRegistry(conn('reg-b'), `b-${randomUUID()}`, { ttlMs: 1000, heartbeatMs: 100_000 });
    await until(() => conns.every((c) => c.status === 'ready'), 'connections');
    await regA.beat();
    await regB.beat();
    await regA.beat();
    const pa = new RedisPresence(conn('pr-a'), regA, sink);
    const pb = new RedisPresence(conn('pr-b'), regB, sink);
    await until(() => conns.every((c) => c.status === 'ready'), 'connections');
    const room = randomUUID();
    pa.open(room, 'u1');
    pb.open(room, 'u2');
    pb.open(room, 'u2');
    await until(async () => (await pa.presentUserIds(room)).size === 2, 'both present from node A');
    assert.deepEqual([...(await pb.presentUserIds(room))].sort(), ['u1', 'u2']);
    pb.close(room, 'u2'); // one of two connections: still present
    assert.ok((await pa.presentUserIds(room)).has('u2'));
    // Node B dies (no more heartbeats): after the TTL node A no longer counts its clients.
    await new Promise((r) => setTimeout(r, 1100));
    await regA.beat();
    assert.deepEqual([...(await pa.presentUserIds(room))], ['u1']);
    assert.ok(events.some((e) => e.type === 'presence.changed' && e.userId === 'u1' && e.present));
    pa.close(room, 'u1');
    await until(() => events.some((e) => e.type === 'presence.changed' && e.userId === 'u1' && !e.present), 'u1 gone');
  });

  test('events published on one node reach the other once; own events are not echoed', async () => {
    const gotA: DomainEvent[] = [];
    const gotB: DomainEvent[] = [];
    const busA = new RedisBus(conn('pub-a'), conn('sub-a'), 'node-a', () => {});
    const busB = new RedisBus(conn('pub-b'), conn('sub-b'), 'node-b', () => {});
    busA.subscribe((e) => gotA.push(e));
    busB.subscribe((e) => gotB.push(e));
    await until(() => busA.healthy && busB.healthy, 'buses ready');
    await new Promise((r) => setTimeout(r, 100)); // subscriptions registered
    const roomId = randomUUID();
    busA.publish({ type: 'webhooks.changed', roomId });
    await until(() => gotB.length === 1, 'event on node B');
    assert.deepEqual(gotB[0], { type: 'webhooks.changed', roomId });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(gotA.filter((e) => e.type === 'webhooks.changed' && e.roomId === roomId).length, 1, 'node A handled its own event once');
  });
});

describe('Redis unreachable (no Redis needed)', () => {
  test('presence falls back to this node\'s own view, but a complete read (for @Present) refuses', async () => {
    const port = await freePort();
    // Nothing listens there: with the offline queue off, every command fails at once.
    const dead = createRedis(`redis://127.0.0.1:${port}`, quiet, 'dead');
    try {
      const registry = new NodeRegistry(dead, `n-${randomUUID()}`, { ttlMs: 1000, heartbeatMs: 100_000 });
      const presence = new RedisPresence(dead, registry, { publish: () => {} });
      const room = randomUUID();
      presence.open(room, 'u1');
      assert.deepEqual([...(await presence.presentUserIds(room))], ['u1']);
      await assert.rejects(presence.presentUserIds(room, { complete: true }), PresenceUnavailableError);
    } finally {
      dead.disconnect();
    }
  });
});
