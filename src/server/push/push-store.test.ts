/**
 * The push part of the store on every backend (issue 13): migration 0004 starts existing rooms at
 * their last message (no pushes for history when the feature first runs), rooms created later
 * count from 0, and a re-run of fan-out never queues a delivery twice.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { describe, test } from 'node:test';
import { availableBackends, createPgDatabase, tempDir } from '../../test-support/backends.js';
import { KyselyStore } from '../store/kysely-store.js';
import { migrateToLatest } from '../store/migrations.js';
import { openStore } from '../store/open-store.js';
import type { Store, UserRecord } from '../store/types.js';

const user = (alias: string): UserRecord => ({ id: randomUUID(), email: `${alias}@example.com`, alias, displayName: alias, passwordHash: 'x', isSystemAdmin: false, createdAt: 1 });

async function post(store: Store, roomId: string, userId: string, content: string): Promise<void> {
  await store.appendMessage({ id: randomUUID(), roomId, sender: { type: 'user', id: userId, name: 'u' }, content, html: content, mentions: { all: false, present: false, userIds: [] }, createdAt: Date.now() });
}

for (const backend of availableBackends()) {
  test(`migration 0004 starts existing rooms at their last message; later rooms count from 0 (${backend})`, async () => {
    const dataDir = tempDir('carillon-push-migration-');
    const db = backend === 'postgres' ? await createPgDatabase() : undefined;
    // The database as it was before 0004 (migrated up to 0003), with a room that has messages; the
    // next open runs 0004 and the later migrations on it.
    try {
      const opened = db ? (await import('../store/dialects/postgres.js')).openPostgres(db.url, () => {}).db : (await import('../store/dialects/sqlite.js')).openSqlite(dataDir).db;
      await migrateToLatest(opened, '0003_member_read_state');
      let store: Store = new KyselyStore({ db: opened, dialect: backend, translateError: (e) => e, onClose: () => opened.destroy() });
      const owner = await store.createUser(user('owner'));
      const old = await store.createRoom({ id: randomUUID(), name: 'Old', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
      for (let i = 0; i < 3; i++) await post(store, old.id, owner.id, `history ${i}`);
      await store.close();
      store = await openStore({ dataDir, databaseUrl: db?.url });
      try {
        assert.deepEqual(await store.push.roomsBehind(10), [], 'the old room starts at its last seq: its history is never pushed');
        const fresh = await store.createRoom({ id: randomUUID(), name: 'New', createdBy: owner.id, createdAt: 2, lastSeq: 0 }, 2);
        await post(store, fresh.id, owner.id, 'first');
        await post(store, old.id, owner.id, 'new in the old room');
        assert.deepEqual((await store.push.roomsBehind(10)).sort(), [fresh.id, old.id].sort());
        // Fan-out (nobody subscribed: only the cursors move) catches both up.
        const planned: string[] = [];
        const r = await store.push.fanOut([fresh.id, old.id], { now: Date.now(), maxMessagesPerRoom: 10, plan: (room) => (planned.push(room.roomId), []) });
        assert.deepEqual(r.claimed.sort(), [fresh.id, old.id].sort());
        assert.deepEqual(r.skipped, []);
        assert.equal(r.messages, 2);
        assert.deepEqual(planned, [], 'no subscriptions: nothing to plan');
        assert.deepEqual(await store.push.roomsBehind(10), []);
      } finally {
        await store.close();
      }
    } finally {
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  describe(`push outbox (${backend})`, () => {
    test('fan-out plans each new message once, a second run finds nothing; claims take due rows once; settling deletes, reschedules and drops gone subscriptions', async () => {
      const dataDir = tempDir('carillon-push-store-');
      const db = backend === 'postgres' ? await createPgDatabase() : undefined;
      const store = await openStore({ dataDir, databaseUrl: db?.url });
      try {
        const [a, b] = [await store.createUser(user('a')), await store.createUser(user('b'))];
        const room = await store.createRoom({ id: randomUUID(), name: 'R', createdBy: a.id, createdAt: 1, lastSeq: 0 }, 1);
        await store.addMember(room.id, b.id, 'member', 1);
        const key = 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM';
        const { subscription } = await store.push.saveSubscription({ id: randomUUID(), userId: b.id, endpoint: 'https://fcm.googleapis.com/fcm/send/x', p256dh: key, auth: 'AAAAAAAAAAAAAAAAAAAAAA', expiresAt: null }, 10, 20);
        for (let i = 0; i < 3; i++) await post(store, room.id, a.id, `m${i}`);
        const plan = (r: { messages: { id: string }[]; subscribed: { subscriptionId: string }[] }) =>
          r.messages.flatMap((m) => r.subscribed.map((s) => ({ subscriptionId: s.subscriptionId, messageId: m.id, payload: '{}', urgency: 'high' as const })));
        const first = await store.push.fanOut([room.id], { now: 100, maxMessagesPerRoom: 2, plan });
        assert.deepEqual([first.messages, first.deliveries, first.more], [2, 2, [room.id]], 'two messages per run: one more to do');
        const second = await store.push.fanOut([room.id], { now: 100, maxMessagesPerRoom: 2, plan });
        assert.deepEqual([second.messages, second.deliveries, second.more], [1, 1, []]);
        const third = await store.push.fanOut([room.id], { now: 100, maxMessagesPerRoom: 2, plan });
        assert.deepEqual([third.messages, third.deliveries], [0, 0]);
        assert.equal(await store.push.countDeliveries(), 3);

        const claimed = await store.push.settleAndClaim({ finished: [], retry: [], released: [], goneSubscriptions: [] }, 100, { leaseMs: 1000, limit: 2 });
        assert.equal(claimed.length, 2);
        assert.equal(claimed[0]!.subscription.endpoint, 'https://fcm.googleapis.com/fcm/send/x');
        assert.deepEqual(claimed.map((c) => c.attempts), [1, 1]);
        const rest = await store.push.settleAndClaim({ finished: [], retry: [], released: [], goneSubscriptions: [] }, 100, { leaseMs: 1000, limit: 10 });
        assert.equal(rest.length, 1, 'claimed rows are leased: only the third is due');
        // One delivered, one to retry at 500, the third released (shutdown): due again at once, attempt not counted.
        const next = await store.push.settleAndClaim(
          { finished: [claimed[0]!.id], retry: [{ id: claimed[1]!.id, at: 500 }], released: [rest[0]!.id], goneSubscriptions: [] },
          200,
          { leaseMs: 1000, limit: 10 },
        );
        assert.deepEqual(next.map((c) => [c.id, c.attempts]), [[rest[0]!.id, 1]]);
        assert.equal(await store.push.countDeliveries(), 2);
        assert.deepEqual(await store.push.settleAndClaim({ finished: [], retry: [], released: [], goneSubscriptions: [] }, 499, { leaseMs: 1000, limit: 10 }), []);
        assert.deepEqual((await store.push.settleAndClaim({ finished: [], retry: [], released: [], goneSubscriptions: [] }, 500, { leaseMs: 1000, limit: 10 })).map((c) => [c.id, c.attempts]), [[claimed[1]!.id, 2]]);
        // A gone subscription takes its deliveries with it.
        await store.push.settleAndClaim({ finished: [], retry: [], released: [], goneSubscriptions: [subscription.id] }, 600);
        assert.equal(await store.push.countDeliveries(), 0);
        assert.deepEqual(await store.push.listSubscriptions(b.id), []);
      } finally {
        await store.close();
        await db?.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}
