/**
 * The bus contract (types.ts), run on both buses: InProcessBus and RedisBus (one node, real Redis)
 * deliver an event to this node's subscribers during publish(), once, in publish order, and a
 * failing subscriber neither fails the publisher nor starves the others.
 *
 * What only the Redis bus does (events crossing nodes, Redis away) is in redis.test.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { redisAvailable, testRedisUrl } from '../../test-support/redis.js';
import { createRedis, whenReady } from '../distributed/redis-client.js';
import type { DomainEvent } from '../services/context.js';
import { InProcessBus } from './in-process.js';
import { RedisBus } from './redis.js';
import type { Bus } from './types.js';

type OnHandlerError = (err: unknown, event: DomainEvent) => void;

function contract(make: () => (onHandlerError: OnHandlerError) => Promise<Bus>): void {
  let bus: Bus;
  let errors: string[];
  beforeEach(async () => {
    errors = [];
    bus = await make()((_err, e) => errors.push(e.type));
  });
  // Random ids: on Redis, the other test files' nodes share the channel.
  const roomId = randomUUID();

  test('delivers in publish order to every subscriber; a failing one neither fails the publisher nor starves the others', () => {
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('boom');
    });
    const off = bus.subscribe((e) => seen.push(e.type));
    const events: DomainEvent[] = [
      { type: 'member.added', roomId, userId: 'u' },
      { type: 'webhooks.changed', roomId },
    ];
    for (const e of events) bus.publish(e);
    off();
    bus.publish({ type: 'member.removed', roomId, userId: 'u' });
    assert.deepEqual(seen, ['member.added', 'webhooks.changed']);
    assert.deepEqual(errors, ['member.added', 'webhooks.changed', 'member.removed']);
  });

  test('the same handler subscribed twice gets each event twice, and each subscription ends on its own', () => {
    const seen: string[] = [];
    const handler = (e: DomainEvent) => seen.push(e.type);
    const offFirst = bus.subscribe(handler);
    bus.subscribe(handler);
    bus.publish({ type: 'webhooks.changed', roomId });
    offFirst();
    bus.publish({ type: 'member.role', roomId, userId: 'u' });
    assert.deepEqual(seen, ['webhooks.changed', 'webhooks.changed', 'member.role']);
  });

  test('a subscriber gets what is published from then on, as it is published', () => {
    const early: DomainEvent = { type: 'webhooks.changed', roomId };
    bus.publish(early);
    const seen: DomainEvent[] = [];
    bus.subscribe((e) => seen.push(e));
    const event: DomainEvent = { type: 'session.ended', sessionId: randomUUID() };
    bus.publish(event);
    assert.deepEqual(seen, [event], 'delivered during publish(), once, and nothing from before');
  });
}

describe('Bus contract: InProcessBus', () => {
  contract(() => async (onHandlerError) => new InProcessBus(onHandlerError));
});

describe('Bus contract: RedisBus', { skip: !redisAvailable() }, () => {
  let conns: Redis[] = [];
  afterEach(() => {
    for (const c of conns) c.disconnect();
    conns = [];
  });

  contract(() => async (onHandlerError) => {
    const pub = createRedis(testRedisUrl!, { warn: () => {}, info: () => {} }, 'bus-contract-pub');
    const sub = createRedis(testRedisUrl!, { warn: () => {}, info: () => {} }, 'bus-contract-sub');
    conns.push(pub, sub);
    assert.ok((await whenReady(pub)) && (await whenReady(sub)), 'Redis answers');
    return new RedisBus(pub, sub, `contract-${randomUUID()}`, onHandlerError);
  });
});
