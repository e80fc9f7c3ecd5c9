/**
 * What only RedisPresence does; the behaviour it shares with InProcessPresence is in
 * contract.test.ts. Two trackers stand for two nodes on one real Redis: presence is the union over
 * live nodes, a node that stops beating stops counting, a node that shuts down takes its clients
 * with it; and with Redis unreachable each node sees its own clients only.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { freePort } from '../../test-support/net.js';
import { eventually, redisAvailable, testRedisUrlWithDb } from '../../test-support/redis.js';
import { FakeClock } from '../../test-support/webhooks.js';
import { createRedis, whenReady } from '../distributed/redis-client.js';
import { type DomainEvent, PresenceUnavailableError } from '../services/context.js';
import { NodeRegistry } from './node-registry.js';
import { RedisPresence } from './redis.js';

const quiet = { warn: () => {}, info: () => {} };

describe('RedisPresence across nodes', { skip: !redisAvailable() }, () => {
  const conns: Redis[] = [];
  const conn = async (name: string) => {
    // Database 1: this file's node registry (see testRedisUrlWithDb).
    const r = createRedis(testRedisUrlWithDb(1), quiet, name);
    conns.push(r);
    assert.ok(await whenReady(r), `Redis answers (${name})`);
    return r;
  };
  before(async () => {
    await conn('setup');
  });
  after(() => {
    for (const c of conns) c.disconnect();
  });

  test('presence is the union over live nodes; a node that stops beating stops counting', async () => {
    const events: DomainEvent[] = [];
    const sink = { publish: (e: DomainEvent) => events.push(e) };
    const clock = new FakeClock();
    const regA = new NodeRegistry(await conn('reg-a'), `a-${randomUUID()}`, clock, { ttlMs: 1000, heartbeatMs: 100_000 });
    const regB = new NodeRegistry(await conn('reg-b'), `b-${randomUUID()}`, clock, { ttlMs: 1000, heartbeatMs: 100_000 });
    await regA.beat();
    await regB.beat();
    await regA.beat();
    const pa = new RedisPresence(await conn('pr-a'), regA, sink);
    const pb = new RedisPresence(await conn('pr-b'), regB, sink);
    const room = randomUUID();
    pa.open(room, 'u1');
    pb.open(room, 'u2');
    pb.open(room, 'u2');
    await eventually(async () => (await pa.presentUserIds(room)).size === 2, 'both present from node A');
    assert.deepEqual([...(await pb.presentUserIds(room))].sort(), ['u1', 'u2']);
    pb.close(room, 'u2'); // one of two connections: still present
    assert.ok((await pa.presentUserIds(room)).has('u2'));
    // Node B dies (no more heartbeats): after the TTL node A no longer counts its clients.
    clock.advance(1100);
    await regA.beat();
    assert.deepEqual([...(await pa.presentUserIds(room))], ['u1']);
    assert.ok(events.some((e) => e.type === 'presence.changed' && e.userId === 'u1' && e.present));
    pa.close(room, 'u1');
    await eventually(() => events.some((e) => e.type === 'presence.changed' && e.userId === 'u1' && !e.present), 'u1 gone');
  });

  test('leaving on one node while the room is open on another changes nothing; shutting a node down removes its clients', async () => {
    const events: DomainEvent[] = [];
    const sink = { publish: (e: DomainEvent) => events.push(e) };
    const clock = new FakeClock();
    const regA = new NodeRegistry(await conn('reg-a2'), `a-${randomUUID()}`, clock, { heartbeatMs: 100_000 });
    const regB = new NodeRegistry(await conn('reg-b2'), `b-${randomUUID()}`, clock, { heartbeatMs: 100_000 });
    await regA.beat();
    await regB.beat();
    await regA.beat();
    const pa = new RedisPresence(await conn('pr-a2'), regA, sink);
    const pb = new RedisPresence(await conn('pr-b2'), regB, sink);
    const room = randomUUID();
    pa.open(room, 'u1');
    pb.open(room, 'u1'); // the same user, on a second device connected to node B
    await eventually(async () => (await pa.presentUserIds(room, { complete: true })).has('u1') && (await pb.presentUserIds(room)).has('u1'), 'u1 seen by both');
    pa.close(room, 'u1');
    // Node A checks the other nodes before publishing a departure. A second departure on node A,
    // whose Redis commands follow the first's on the same connection, marks the end of that check.
    const marker = randomUUID();
    pa.open(marker, 'x');
    pa.close(marker, 'x');
    await eventually(() => events.some((e) => e.type === 'presence.changed' && e.roomId === marker && !e.present), 'the marker departure');
    assert.deepEqual([...(await pa.presentUserIds(room))], ['u1'], 'still present through node B');
    assert.deepEqual(events.filter((e) => e.type === 'presence.changed' && e.roomId === room && !e.present), [], 'no departure while node B has u1');
    // Node B shuts down cleanly: its clients are no longer present anywhere, without waiting for the TTL.
    await pb.clear();
    assert.deepEqual([...(await pa.presentUserIds(room))], []);
    await regA.stop();
    await regB.stop();
  });
});

describe('RedisPresence with Redis unreachable (no Redis needed)', () => {
  test('presence falls back to this node\'s own view, but a complete read (for @Present) refuses', async () => {
    const port = await freePort();
    // Nothing listens there: with the offline queue off, every command fails at once.
    const dead = createRedis(`redis://127.0.0.1:${port}`, quiet, 'dead');
    try {
      const registry = new NodeRegistry(dead, `n-${randomUUID()}`, new FakeClock(), { ttlMs: 1000, heartbeatMs: 100_000 });
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
