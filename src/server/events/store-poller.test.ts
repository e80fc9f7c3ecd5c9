/**
 * The Redis bus's safety net on a real SQLite store, its periods timed by a FakeClock: each poll
 * hands this node's subscribers the latest event of every active room that is ahead of what was
 * delivered (a new message or a change of one), and the timer polls every second while Redis is
 * away and every five seconds while it is healthy.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { type BackendInstance, openBackend } from '../../test-support/backends.js';
import { freePort } from '../../test-support/net.js';
import { eventually, redisAvailable, testRedisUrl } from '../../test-support/redis.js';
import { FakeClock } from '../../test-support/webhooks.js';
import { createRedis, whenReady } from '../distributed/redis-client.js';
import type { DomainEvent } from '../services/context.js';
import type { MessageRecord } from '../store/types.js';
import { RedisBus } from './redis.js';
import { StorePoller } from './store-poller.js';

const quiet = { warn: () => {}, info: () => {} };
const noMentions = { all: false, present: false, userIds: [] };

describe('StorePoller', () => {
  let backend: BackendInstance;
  let dead: Redis;
  /** A bus whose Redis never answers: not healthy, as while Redis is away. */
  let awayBus: RedisBus;
  let roomId: string;
  let userId: string;
  const got: DomainEvent[] = [];

  const post = (content: string): Promise<MessageRecord> =>
    backend.store.appendMessage({ id: randomUUID(), roomId, sender: { type: 'user', id: userId, name: 'U' }, content, html: content, mentions: noMentions, createdAt: Date.now() });

  before(async () => {
    backend = await openBackend('sqlite');
    dead = createRedis(`redis://127.0.0.1:${await freePort()}`, quiet, 'dead');
    awayBus = new RedisBus(dead, dead, `n-${randomUUID()}`, () => {});
    awayBus.subscribe((e) => got.push(e));
    userId = randomUUID();
    await backend.store.createUser({ id: userId, email: 'u@example.com', alias: 'u', displayName: 'U', passwordHash: 'x', isSystemAdmin: false, createdAt: 1 });
    roomId = (await backend.store.createRoom({ id: randomUUID(), name: 'R', createdBy: userId, createdAt: 1, lastSeq: 0 }, 1)).id;
  });
  after(async () => {
    dead.disconnect();
    await backend.cleanup();
  });

  test('a poll hands over each active room\'s latest event when the room is ahead, and nothing otherwise', async () => {
    await post('one');
    const two = await post('two');
    let delivered = 0;
    const poller = new StorePoller({ store: backend.store, bus: awayBus, clock: new FakeClock(), activeRooms: () => new Map([[roomId, delivered], [randomUUID(), 0]]) });
    got.length = 0;
    await poller.pollOnce();
    assert.deepEqual(got, [{ type: 'message.created', message: two }], 'the latest message only: the room channel reads the gap');
    delivered = 2;
    got.length = 0;
    await poller.pollOnce();
    assert.deepEqual(got, [], 'nothing new');
    const edit = await backend.store.editMessage(roomId, two.id, { content: 'two!', html: 'two!', mentions: noMentions, at: Date.now() });
    await poller.pollOnce();
    assert.deepEqual(got, [{ type: 'message.changed', event: edit!.event }], 'a change of a message is an event of the room too');
  });

  test('while Redis is away, the timer polls every second by the clock', async () => {
    const clock = new FakeClock();
    let polls = 0;
    const poller = new StorePoller({ store: backend.store, bus: awayBus, clock, activeRooms: () => (polls++, new Map()) });
    await poller.tick();
    assert.equal(polls, 1, 'the first tick polls');
    clock.advance(500);
    await poller.tick();
    assert.equal(polls, 1);
    clock.advance(500);
    await poller.tick();
    assert.equal(polls, 2);
  });

  test('while Redis is healthy, every five seconds (a slow safety net)', { skip: !redisAvailable() }, async () => {
    const pub = createRedis(testRedisUrl!, quiet, 'poller-pub');
    const sub = createRedis(testRedisUrl!, quiet, 'poller-sub');
    try {
      assert.ok((await whenReady(pub)) && (await whenReady(sub)));
      const bus = new RedisBus(pub, sub, `n-${randomUUID()}`, () => {});
      await eventually(() => bus.healthy, 'the bus healthy');
      const clock = new FakeClock();
      let polls = 0;
      const poller = new StorePoller({ store: backend.store, bus, clock, activeRooms: () => (polls++, new Map()) });
      await poller.tick();
      clock.advance(1_000);
      await poller.tick();
      clock.advance(3_000);
      await poller.tick();
      assert.equal(polls, 1, '4 s after the first poll');
      clock.advance(1_000);
      await poller.tick();
      assert.equal(polls, 2);
    } finally {
      pub.disconnect();
      sub.disconnect();
    }
  });
});
