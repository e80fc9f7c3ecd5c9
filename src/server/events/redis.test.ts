/**
 * What only the Redis bus does; what it shares with InProcessBus is in contract.test.ts. Two buses
 * stand for two nodes on one real Redis: events cross once and are not echoed back, repairs
 * (publishLocal) stay on their node, and with Redis away events still reach this node's
 * subscribers. No test sleeps: a later event through the same Redis connection marks that an
 * earlier one would have arrived.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { freePort } from '../../test-support/net.js';
import { eventually, redisAvailable, testRedisUrl } from '../../test-support/redis.js';
import { createRedis, whenReady } from '../distributed/redis-client.js';
import type { DomainEvent } from '../services/context.js';
import { RedisBus } from './redis.js';

const quiet = { warn: () => {}, info: () => {} };
const about = (roomId: string) => (e: DomainEvent) => 'roomId' in e && e.roomId === roomId;

describe('RedisBus across nodes', { skip: !redisAvailable() }, () => {
  const conns: Redis[] = [];
  const conn = async (name: string) => {
    const r = createRedis(testRedisUrl!, quiet, name);
    conns.push(r);
    assert.ok(await whenReady(r), `Redis answers (${name})`);
    return r;
  };
  after(() => {
    for (const c of conns) c.disconnect();
  });

  let busA: RedisBus;
  let busB: RedisBus;
  const gotA: DomainEvent[] = [];
  const gotB: DomainEvent[] = [];
  before(async () => {
    busA = new RedisBus(await conn('pub-a'), await conn('sub-a'), `a-${randomUUID()}`, () => {});
    busB = new RedisBus(await conn('pub-b'), await conn('sub-b'), `b-${randomUUID()}`, () => {});
    busA.subscribe((e) => gotA.push(e));
    busB.subscribe((e) => gotB.push(e));
    assert.ok(busA.healthy && busB.healthy);
    // Subscribed both ways: an event from each node has reached the other.
    const [fromA, fromB] = [randomUUID(), randomUUID()];
    await eventually(() => {
      if (gotB.some(about(fromA)) && gotA.some(about(fromB))) return true;
      busA.publish({ type: 'webhooks.changed', roomId: fromA });
      busB.publish({ type: 'webhooks.changed', roomId: fromB });
      return false;
    }, 'both subscriptions');
  });

  test('events published on one node reach the other once; own events are not echoed', async () => {
    const roomId = randomUUID();
    busA.publish({ type: 'webhooks.changed', roomId });
    await eventually(() => gotB.some(about(roomId)), 'event on node B');
    assert.deepEqual(gotB.filter(about(roomId)), [{ type: 'webhooks.changed', roomId }]);
    // Redis delivered A's event to every subscriber, A's own connection too. An event B publishes
    // now comes after it on that connection: once A has B's, A's echo would have come.
    const marker = randomUUID();
    busB.publish({ type: 'webhooks.changed', roomId: marker });
    await eventually(() => gotA.some(about(marker)), 'the marker on node A');
    assert.equal(gotA.filter(about(roomId)).length, 1, 'node A handled its own event once');
  });

  test('publishLocal (the poller\'s repairs) reaches this node\'s subscribers only', async () => {
    const repaired = randomUUID();
    const marker = randomUUID();
    busA.publishLocal({ type: 'webhooks.changed', roomId: repaired });
    assert.equal(gotA.filter(about(repaired)).length, 1);
    // Had the repair gone through Redis, B would get it before this later event on the same connection.
    busA.publish({ type: 'webhooks.changed', roomId: marker });
    await eventually(() => gotB.some(about(marker)), 'the marker on node B');
    assert.deepEqual(gotB.filter(about(repaired)), []);
  });
});

describe('RedisBus with Redis unreachable (no Redis needed)', () => {
  test('events still reach this node\'s subscribers; the failed publishes are counted and the bus says it is not healthy', async () => {
    const port = await freePort();
    const pub = createRedis(`redis://127.0.0.1:${port}`, quiet, 'dead-pub');
    const sub = createRedis(`redis://127.0.0.1:${port}`, quiet, 'dead-sub');
    try {
      const bus = new RedisBus(pub, sub, `n-${randomUUID()}`, () => {});
      const got: DomainEvent[] = [];
      bus.subscribe((e) => got.push(e));
      const event: DomainEvent = { type: 'webhooks.changed', roomId: randomUUID() };
      bus.publish(event);
      assert.deepEqual(got, [event]);
      assert.equal(bus.healthy, false);
      await eventually(() => bus.publishFailures === 1, 'the failed publish counted');
    } finally {
      pub.disconnect();
      sub.disconnect();
    }
  });
});
