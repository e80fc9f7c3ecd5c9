/**
 * The Redis bus, two instances standing for two nodes on one real Redis: events cross. (The rate
 * limiter's and presence's Redis tests are in rate-limit/redis.test.ts and presence/redis.test.ts.)
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { DomainEvent } from '../services/context.js';
import { redisAvailable, testRedisUrl } from '../../test-support/redis.js';
import { createRedis } from '../distributed/redis-client.js';
import { RedisBus } from './redis.js';

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
