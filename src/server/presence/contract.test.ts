/**
 * The presence contract (types.ts), run on both trackers: InProcessPresence and RedisPresence (one
 * node on a real Redis) count connections the same way, answer the same present users and publish
 * the same `presence.changed` events. RedisPresence publishes a departure after a Redis round trip
 * (it checks the other nodes first), so the cases wait for events rather than expect them at once.
 *
 * What only the Redis tracker does (several nodes, a dead node, Redis away) is in redis.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { eventually, redisAvailable, testRedisUrlWithDb } from '../../test-support/redis.js';
import { createRedis, whenReady } from '../distributed/redis-client.js';
import { type DomainEvent, type EventSink, systemClock } from '../services/context.js';
import { InProcessPresence } from './in-process.js';
import { NodeRegistry } from './node-registry.js';
import { RedisPresence } from './redis.js';
import type { PresenceTracker } from './types.js';

type Make = (events: EventSink) => Promise<PresenceTracker>;

function contract(make: () => Make): void {
  let tracker: PresenceTracker;
  let events: DomainEvent[];
  beforeEach(async () => {
    events = [];
    tracker = await make()({ publish: (e) => events.push(e) });
  });
  const present = async (roomId: string) => [...(await tracker.presentUserIds(roomId))].sort();
  const changed = (roomId: string, userId: string, isPresent: boolean): DomainEvent => ({ type: 'presence.changed', roomId, userId, present: isPresent });

  test('present while at least one connection has the room open; one event per change', async () => {
    const room = randomUUID();
    const other = randomUUID();
    tracker.open(room, 'bob');
    tracker.open(room, 'bob'); // phone too
    tracker.open(other, 'bob');
    assert.deepEqual(await present(room), ['bob']);
    tracker.close(room, 'bob');
    assert.deepEqual(await present(room), ['bob']);
    tracker.close(room, 'bob');
    tracker.close(room, 'bob'); // an extra close is harmless
    assert.deepEqual(await present(room), []);
    await eventually(() => events.length >= 3, 'the departure event');
    assert.deepEqual(events, [changed(room, 'bob', true), changed(other, 'bob', true), changed(room, 'bob', false)]);
  });

  test('each user of a room counts on their own', async () => {
    const room = randomUUID();
    tracker.open(room, 'alice');
    tracker.open(room, 'bob');
    assert.deepEqual(await present(room), ['alice', 'bob']);
    tracker.close(room, 'alice');
    assert.deepEqual(await present(room), ['bob']);
    await eventually(() => events.length >= 3, 'the departure event');
    assert.deepEqual(events, [changed(room, 'alice', true), changed(room, 'bob', true), changed(room, 'alice', false)]);
  });

  test('a room nobody opened has nobody present; closing it publishes nothing', async () => {
    const room = randomUUID();
    assert.deepEqual(await present(room), []);
    tracker.close(room, 'nobody');
    assert.deepEqual(await present(room), []);
    // Something published after, to be sure nothing came before it.
    tracker.open(room, 'carol');
    assert.deepEqual(events, [changed(room, 'carol', true)]);
  });

  test('a complete read (for @Present) answers the same as a plain one while presence is readable', async () => {
    const room = randomUUID();
    tracker.open(room, 'dave');
    assert.deepEqual([...(await tracker.presentUserIds(room, { complete: true }))], ['dave']);
  });
}

describe('PresenceTracker contract: InProcessPresence', () => {
  contract(() => async (events) => new InProcessPresence(events));
});

describe('PresenceTracker contract: RedisPresence', { skip: !redisAvailable() }, () => {
  let redis: Redis;
  const registries: NodeRegistry[] = [];
  before(async () => {
    // Database 3: this file's node registry (see testRedisUrlWithDb).
    redis = createRedis(testRedisUrlWithDb(3), { warn: () => {}, info: () => {} }, 'presence-contract');
    assert.ok(await whenReady(redis), 'Redis answers');
  });
  after(async () => {
    for (const r of registries) await r.stop();
    redis.disconnect();
  });

  contract(() => async (events) => {
    const registry = new NodeRegistry(redis, `contract-${randomUUID()}`, systemClock);
    registries.push(registry);
    await registry.beat();
    return new RedisPresence(redis, registry, events);
  });
});
