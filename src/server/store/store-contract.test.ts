/**
 * The Store contract: every method, on every backend (SQLite always, PostgreSQL when available), and
 * on SQLite without its writer thread too (sqlite-inline: the other message append path).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type BackendInstance, availableBackends, openBackend } from '../../test-support/backends.js';
import { StoreConflictError, StoreGuardError, type UserRecord, type WebhookRecord } from './types.js';

const user = (alias: string, extra: Partial<UserRecord> = {}): UserRecord => ({
  id: randomUUID(),
  email: `${alias}@example.com`,
  alias,
  displayName: alias.toUpperCase(),
  passwordHash: 'scrypt$x',
  isSystemAdmin: false,
  createdAt: 1000,
  ...extra,
});

const draft = (roomId: string, content: string, senderId = 'u') => ({
  id: randomUUID(),
  roomId,
  sender: { type: 'user' as const, id: senderId, name: 'Sender' },
  content,
  html: `<p>${content}</p>`,
  mentions: { all: false, present: false, userIds: [] as string[] },
  createdAt: 5000,
});

for (const backend of availableBackends({ sqliteInline: true })) {
  describe(`Store contract on ${backend}`, () => {
    let b: BackendInstance;
    before(async () => {
      b = await openBackend(backend);
    });
    after(async () => {
      await b.cleanup();
    });

    test('first user is created once; a second setup gets null', async () => {
      assert.equal(await b.store.countUsers(), 0);
      const first = await b.store.createFirstUser(user('root', { isSystemAdmin: true }));
      assert.equal(first?.alias, 'root');
      assert.equal(await b.store.createFirstUser(user('root2')), null);
      assert.equal(await b.store.countUsers(), 1);
      assert.equal((await b.store.getUserByEmail('root2@example.com')), null);
    });

    test('two racing setups: exactly one wins', async () => {
      const b2 = await openBackend(backend);
      try {
        const results = await Promise.all([b2.store.createFirstUser(user('a1')), b2.store.createFirstUser(user('a2')), b2.store.createFirstUser(user('a3'))]);
        assert.equal(results.filter((r) => r !== null).length, 1);
        assert.equal(await b2.store.countUsers(), 1);
      } finally {
        await b2.cleanup();
      }
    });

    test('users: create, get by id and email, list; duplicates conflict by field', async () => {
      const mary = await b.store.createUser(user('mary', { isSystemAdmin: false }));
      assert.deepEqual(await b.store.getUserById(mary.id), mary);
      assert.deepEqual(await b.store.getUserByEmail('mary@example.com'), mary);
      assert.equal(await b.store.getUserById(randomUUID()), null);
      await assert.rejects(b.store.createUser(user('mary2', { email: 'mary@example.com' })), (e) => e instanceof StoreConflictError && e.field === 'email');
      await assert.rejects(b.store.createUser(user('mary')), (e) => e instanceof StoreConflictError && e.field === 'email' || (e instanceof StoreConflictError && e.field === 'alias'));
      await assert.rejects(b.store.createUser(user('mary', { email: 'other@example.com' })), (e) => e instanceof StoreConflictError && e.field === 'alias');
      const all = await b.store.listUsers();
      assert.ok(all.some((u) => u.id === mary.id));
      assert.equal(all.find((u) => u.alias === 'root')?.isSystemAdmin, true);
    });

    test('sessions: live session finds its user; expired or deleted does not', async () => {
      const u = await b.store.createUser(user('sess'));
      await b.store.createSession({ tokenHash: 'h1', userId: u.id, createdAt: 1, expiresAt: 10_000 });
      assert.equal((await b.store.getSessionUser('h1', 9_999))?.id, u.id);
      assert.equal(await b.store.getSessionUser('h1', 10_000), null);
      assert.equal(await b.store.getSessionUser('nope', 1), null);
      await b.store.deleteSession('h1');
      assert.equal(await b.store.getSessionUser('h1', 5), null);
    });

    test('rooms: creator becomes administrator; listed with role; found by name', async () => {
      const owner = await b.store.createUser(user('owner'));
      const room = await b.store.createRoom({ id: randomUUID(), name: 'Ops', createdBy: owner.id, createdAt: 7, lastSeq: 0 }, 7);
      assert.equal(room.lastSeq, 0);
      assert.deepEqual(await b.store.getRoom(room.id), { id: room.id, name: 'Ops', createdBy: owner.id, createdAt: 7, lastSeq: 0 });
      assert.equal(await b.store.getRoom(randomUUID()), null);
      assert.equal(await b.store.getMemberRole(room.id, owner.id), 'administrator');
      const mine = await b.store.listRoomsForUser(owner.id);
      assert.deepEqual(mine.map((r) => [r.id, r.role]), [[room.id, 'administrator']]);
      assert.deepEqual((await b.store.findRoomsByName('Ops')).map((r) => r.id), [room.id]);
      assert.deepEqual(await b.store.findRoomsByName('nope'), []);
    });

    test('members: add, list, count, role change, last-admin protection, remove', async () => {
      const owner = await b.store.createUser(user('own2'));
      const m = await b.store.createUser(user('mem2'));
      const room = await b.store.createRoom({ id: randomUUID(), name: 'R', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
      await b.store.addMember(room.id, m.id, 'member', 2);
      await assert.rejects(b.store.addMember(room.id, m.id, 'member', 3), (e) => e instanceof StoreConflictError && e.field === 'member');
      assert.equal(await b.store.countMembers(room.id), 2);
      const members = await b.store.listMembers(room.id);
      assert.deepEqual(members.map((x) => [x.user.alias, x.role]).sort(), [['mem2', 'member'], ['own2', 'administrator']]);
      assert.equal(await b.store.getMemberRole(room.id, m.id), 'member');
      // The only administrator cannot be demoted or removed.
      assert.equal(await b.store.setMemberRole(room.id, owner.id, 'member'), false);
      assert.equal(await b.store.removeMember(room.id, owner.id), false);
      assert.equal(await b.store.setMemberRole(room.id, m.id, 'administrator'), true);
      assert.equal(await b.store.setMemberRole(room.id, owner.id, 'member'), true);
      assert.equal(await b.store.getMemberRole(room.id, owner.id), 'member');
      assert.equal(await b.store.removeMember(room.id, owner.id), true);
      assert.equal(await b.store.getMemberRole(room.id, owner.id), null);
      await assert.rejects(b.store.removeMember(room.id, owner.id), (e) => e instanceof StoreGuardError && e.reason === 'not_found');
      await assert.rejects(b.store.setMemberRole(room.id, owner.id, 'member'), (e) => e instanceof StoreGuardError && e.reason === 'not_found');
    });

    test('messages: seq 1,2,3 per room; paging after, before and latest', async () => {
      const owner = await b.store.createUser(user('msg'));
      const r1 = await b.store.createRoom({ id: randomUUID(), name: 'M1', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
      const r2 = await b.store.createRoom({ id: randomUUID(), name: 'M2', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
      for (let i = 1; i <= 5; i++) {
        const m = await b.store.appendMessage(draft(r1.id, `m${i}`));
        assert.equal(m.seq, i);
      }
      assert.equal((await b.store.appendMessage(draft(r2.id, 'other'))).seq, 1);
      assert.equal((await b.store.getRoom(r1.id))?.lastSeq, 5);
      const seqs = async (p: Parameters<typeof b.store.listMessages>[1]) => (await b.store.listMessages(r1.id, p)).map((m) => m.seq);
      assert.deepEqual(await seqs({ limit: 50 }), [1, 2, 3, 4, 5]);
      assert.deepEqual(await seqs({ limit: 2 }), [4, 5]);
      assert.deepEqual(await seqs({ after: 2, limit: 2 }), [3, 4]);
      assert.deepEqual(await seqs({ before: 4, limit: 2 }), [2, 3]);
      assert.deepEqual(await seqs({ before: 1, limit: 10 }), []);
      const [first] = await b.store.listMessages(r1.id, { after: 0, limit: 1 });
      assert.deepEqual(await b.store.getMessage(first!.id), first);
      assert.equal(first!.content, 'm1');
      assert.deepEqual(first!.mentions, { all: false, present: false, userIds: [] });
      assert.equal(await b.store.getMessage(randomUUID()), null);
    });

    test('messages: the @Present snapshot is kept with the message; absent when not given', async () => {
      const owner = await b.store.createUser(user('snap'));
      const room = await b.store.createRoom({ id: randomUUID(), name: 'S', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
      const present = { ...draft(room.id, '@Present hi'), presentAtPost: ['u1', 'u2'] };
      const stored = await b.store.appendMessage(present);
      await b.store.appendMessage(draft(room.id, 'plain'));
      const [withSnapshot, without] = await b.store.listMessages(room.id, { after: 0, limit: 10 });
      assert.deepEqual(withSnapshot, stored);
      assert.deepEqual(withSnapshot!.presentAtPost, ['u1', 'u2']);
      assert.equal(without!.presentAtPost, undefined);
      assert.ok(!('presentAtPost' in without!));
    });

    test('messages: the member-count guard refuses atomically (nothing stored, seq not spent)', async () => {
      const owner = await b.store.createUser(user('guard'));
      const room = await b.store.createRoom({ id: randomUUID(), name: 'G', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
      assert.equal((await b.store.appendMessage(draft(room.id, 'ok'), { maxMembers: 1 })).seq, 1);
      await assert.rejects(b.store.appendMessage(draft(room.id, 'no'), { maxMembers: 0 }), (e) => e instanceof StoreGuardError && e.reason === 'too_many_members' && e.detail === 1);
      assert.equal((await b.store.getRoom(room.id))?.lastSeq, 1);
      assert.equal((await b.store.appendMessage(draft(room.id, 'next'))).seq, 2);
      await assert.rejects(b.store.appendMessage(draft(randomUUID(), 'x')), (e) => e instanceof StoreGuardError && e.reason === 'not_found');
    });

    test('webhooks: create up to the limit, list live ones, rename, regenerate, delete to tombstone', async () => {
      const owner = await b.store.createUser(user('hooks'));
      const room = await b.store.createRoom({ id: randomUUID(), name: 'W', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
      const wh = (name: string): WebhookRecord => ({ id: randomUUID(), roomId: room.id, name, generation: 1, createdBy: owner.id, createdAt: 3, deletedAt: null });
      const first = await b.store.createWebhook(wh('Deploy'), 2);
      await assert.rejects(b.store.createWebhook(wh('deploy'), 2), (e) => e instanceof StoreConflictError && e.field === 'name');
      await b.store.createWebhook(wh('CI'), 2);
      await assert.rejects(b.store.createWebhook(wh('Third'), 2), (e) => e instanceof StoreGuardError && e.reason === 'webhook_limit');
      assert.deepEqual((await b.store.listWebhooks(room.id)).map((w) => w.name).sort(), ['CI', 'Deploy']);
      assert.equal((await b.store.renameWebhook(first.id, 'Deploy bot'))?.name, 'Deploy bot');
      assert.equal((await b.store.regenerateWebhook(first.id))?.generation, 2);
      // A message guarded by an old generation is refused; the current one is accepted.
      await assert.rejects(b.store.appendMessage(draft(room.id, 'x'), { webhook: { id: first.id, generation: 1 } }), (e) => e instanceof StoreGuardError && e.reason === 'webhook_gone');
      assert.equal((await b.store.appendMessage(draft(room.id, 'y'), { webhook: { id: first.id, generation: 2 } })).seq, 1);
      assert.equal(await b.store.deleteWebhook(first.id, 99), true);
      assert.equal(await b.store.deleteWebhook(first.id, 100), false);
      assert.equal((await b.store.getWebhook(first.id))?.deletedAt, 99);
      assert.equal(await b.store.renameWebhook(first.id, 'again'), null);
      assert.equal(await b.store.regenerateWebhook(first.id), null);
      assert.deepEqual((await b.store.listWebhooks(room.id)).map((w) => w.name), ['CI']);
      // The deleted name is free again, and the room is back under its limit.
      await b.store.createWebhook(wh('Deploy bot'), 2);
      assert.equal(await b.store.getWebhook(randomUUID()), null);
    });

    test('200 parallel appends into one room: seqs 1..200, no gap, no duplicate', async () => {
      const owner = await b.store.createUser(user('par'));
      const room = await b.store.createRoom({ id: randomUUID(), name: 'P', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => b.store.appendMessage(draft(room.id, `p${i}`))));
      assert.deepEqual(results.map((m) => m.seq).sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1));
      const stored = await b.store.listMessages(room.id, { after: 0, limit: 1000 });
      assert.deepEqual(stored.map((m) => m.seq), Array.from({ length: 200 }, (_, i) => i + 1));
    });

    test('group commit: refused appends inside a parallel burst leave no gap and write nothing', async () => {
      const owner = await b.store.createUser(user('burst'));
      const room = await b.store.createRoom({ id: randomUUID(), name: 'B', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
      const results = await Promise.allSettled(
        Array.from({ length: 150 }, (_, i) => b.store.appendMessage(draft(room.id, `b${i}`), i % 3 === 0 ? { maxMembers: 0 } : {})),
      );
      const refused = results.filter((r) => r.status === 'rejected');
      assert.equal(refused.length, 50);
      assert.ok(refused.every((r) => r.status === 'rejected' && r.reason instanceof StoreGuardError && r.reason.reason === 'too_many_members'));
      const seqs = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.seq] : [])).sort((x, y) => x - y);
      assert.deepEqual(seqs, Array.from({ length: 100 }, (_, i) => i + 1));
      const stored = await b.store.listMessages(room.id, { after: 0, limit: 1000 });
      assert.deepEqual(stored.map((m) => m.seq), seqs);
      assert.ok(stored.every((m) => Number(m.content.slice(1)) % 3 !== 0), 'no refused message was stored');
      assert.equal((await b.store.getRoom(room.id))?.lastSeq, 100);
    });

    test('read state: members start with defaults; markRead clamps, never moves backwards; settings are per member', async () => {
      const owner = await b.store.createUser(user('reader'));
      const other = await b.store.createUser(user('reader2'));
      const outsider = await b.store.createUser(user('reader3'));
      const room = await b.store.createRoom({ id: randomUUID(), name: 'Read', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
      for (let i = 1; i <= 3; i++) await b.store.appendMessage(draft(room.id, `m${i}`, other.id));
      // A member added later starts with what was already there read.
      await b.store.addMember(room.id, other.id, 'member', 2);
      const fresh = await b.store.getMembership(room.id, owner.id);
      assert.deepEqual(
        { notify: fresh?.notify, muted: fresh?.muted, lastReadSeq: fresh?.lastReadSeq, lastSeq: fresh?.lastSeq, role: fresh?.role },
        { notify: 'mentions', muted: false, lastReadSeq: 0, lastSeq: 3, role: 'administrator' },
      );
      assert.equal((await b.store.getMembership(room.id, other.id))?.lastReadSeq, 3);
      assert.equal(await b.store.getMembership(room.id, outsider.id), null);
      assert.equal(await b.store.getMembership(randomUUID(), owner.id), null);

      assert.deepEqual(await b.store.markRead(room.id, owner.id, 2), { lastReadSeq: 2, lastSeq: 3, changed: true });
      // Lower or equal: a no-op (a stale device cannot un-read).
      assert.deepEqual(await b.store.markRead(room.id, owner.id, 1), { lastReadSeq: 2, lastSeq: 3, changed: false });
      assert.deepEqual(await b.store.markRead(room.id, owner.id, 2), { lastReadSeq: 2, lastSeq: 3, changed: false });
      // Past the room's last seq: clamped to it.
      assert.deepEqual(await b.store.markRead(room.id, owner.id, 99), { lastReadSeq: 3, lastSeq: 3, changed: true });
      assert.equal(await b.store.markRead(room.id, outsider.id, 1), null);
      assert.equal(await b.store.markRead(randomUUID(), owner.id, 1), null);

      assert.equal(await b.store.setMemberSettings(room.id, owner.id, { notify: 'all' }), true);
      assert.equal(await b.store.setMemberSettings(room.id, owner.id, { muted: true }), true);
      assert.equal(await b.store.setMemberSettings(room.id, outsider.id, { muted: true }), false);
      const listed = (await b.store.listRoomsForUser(owner.id)).find((r) => r.id === room.id);
      assert.deepEqual({ notify: listed?.notify, muted: listed?.muted, lastReadSeq: listed?.lastReadSeq }, { notify: 'all', muted: true, lastReadSeq: 3 });
      // listMembers carries each member's own settings (Web Push picks recipients from it).
      const members = await b.store.listMembers(room.id);
      assert.deepEqual(
        members.map((m) => [m.user.alias, m.notify, m.muted, m.lastReadSeq]).sort(),
        [['reader', 'all', true, 3], ['reader2', 'mentions', false, 3]],
      );
      assert.equal(await b.store.setMemberSettings(room.id, owner.id, { notify: 'none', muted: false }), true);
      const after = await b.store.getMembership(room.id, owner.id);
      assert.deepEqual([after?.notify, after?.muted], ['none', false]);
    });

    test("read state: a member's own post marks the room read up to it, in the storing transaction", async () => {
      const owner = await b.store.createUser(user('poster'));
      const other = await b.store.createUser(user('poster2'));
      const room = await b.store.createRoom({ id: randomUUID(), name: 'Post', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
      await b.store.addMember(room.id, other.id, 'member', 2);
      await b.store.appendMessage(draft(room.id, 'from other', other.id));
      await b.store.appendMessage(draft(room.id, 'from other', other.id));
      assert.equal((await b.store.getMembership(room.id, owner.id))?.lastReadSeq, 0);
      const mine = await b.store.appendMessage(draft(room.id, 'mine', owner.id), { markReadBy: owner.id });
      assert.equal(mine.seq, 3);
      assert.equal((await b.store.getMembership(room.id, owner.id))?.lastReadSeq, 3);
      assert.equal((await b.store.getMembership(room.id, other.id))?.lastReadSeq, 0, 'only the author');
      // In a parallel burst (group commit), each post raises its author's mark; never lowers it.
      await Promise.all(Array.from({ length: 20 }, (_, i) => b.store.appendMessage(draft(room.id, `p${i}`, i % 2 ? owner.id : other.id), { markReadBy: i % 2 ? owner.id : other.id })));
      const byOwner = (await b.store.listMessages(room.id, { after: 3, limit: 100 })).filter((m) => m.sender.id === owner.id).map((m) => m.seq);
      const byOther = (await b.store.listMessages(room.id, { after: 3, limit: 100 })).filter((m) => m.sender.id === other.id).map((m) => m.seq);
      assert.equal((await b.store.getMembership(room.id, owner.id))?.lastReadSeq, Math.max(...byOwner));
      assert.equal((await b.store.getMembership(room.id, other.id))?.lastReadSeq, Math.max(...byOther));
    });

    test("tallyUnread: counts others' messages per range; returns only messages that may alert the member", async () => {
      const me = await b.store.createUser(user('tally'));
      const other = await b.store.createUser(user('tally2'));
      const r1 = await b.store.createRoom({ id: randomUUID(), name: 'T1', createdBy: me.id, createdAt: 1, lastSeq: 0 }, 1);
      const r2 = await b.store.createRoom({ id: randomUUID(), name: 'T2', createdBy: me.id, createdAt: 1, lastSeq: 0 }, 1);
      const m = (userIds: string[] = [], all = false, present = false) => ({ all, present, userIds });
      const post = (roomId: string, senderId: string, mentions = m(), presentAtPost?: string[]) =>
        b.store.appendMessage({ ...draft(roomId, 'x', senderId), mentions, ...(presentAtPost ? { presentAtPost } : {}) });
      await post(r1.id, other.id); // 1
      await post(r1.id, other.id, m([me.id])); // 2 mentions me
      await post(r1.id, me.id, m([], true)); // 3 mine (never counted)
      await post(r1.id, other.id, m([other.id])); // 4 mentions someone else
      await post(r1.id, other.id, m([], true)); // 5 @All
      await post(r1.id, other.id, m([], false, true), [me.id]); // 6 @Present while I was there
      await post(r2.id, other.id); // r2: 1
      await post(r2.id, other.id, m([me.id])); // r2: 2
      const tallies = await b.store.tallyUnread(me.id, [
        { roomId: r1.id, after: 1, through: 6 },
        { roomId: r2.id, after: 2, through: 2 },
      ]);
      assert.equal(tallies.get(r1.id)?.unread, 4);
      assert.deepEqual(tallies.get(r1.id)?.alertCandidates.map((c) => c.seq), [2, 5, 6]);
      assert.deepEqual(tallies.get(r1.id)?.alertCandidates[2]?.presentAtPost, [me.id]);
      assert.equal(tallies.has(r2.id), false, 'an empty range counts nothing');
      const upTo4 = await b.store.tallyUnread(me.id, [{ roomId: r1.id, after: 0, through: 4 }, { roomId: r2.id, after: 0, through: 2 }]);
      assert.equal(upTo4.get(r1.id)?.unread, 3);
      assert.deepEqual(upTo4.get(r1.id)?.alertCandidates.map((c) => c.seq), [2]);
      assert.equal(upTo4.get(r2.id)?.unread, 2);
      assert.deepEqual(upTo4.get(r2.id)?.alertCandidates.map((c) => [c.roomId, c.seq, c.sender.id]), [[r2.id, 2, other.id]]);
      assert.deepEqual(await b.store.tallyUnread(me.id, []), new Map());
    });

    test('delivery log: the newest `keep` rows of each live webhook stay, rows of deleted or unknown ones are dropped, a row written twice counts once; failures of a minute add up, the newest one\'s status wins', async () => {
      const owner = await b.store.createUser(user('logger'));
      const room = await b.store.createRoom({ id: randomUUID(), name: 'L', createdBy: owner.id, createdAt: 1, lastSeq: 0 }, 1);
      const wh = (name: string): WebhookRecord => ({ id: randomUUID(), roomId: room.id, name, generation: 1, createdBy: owner.id, createdAt: 3, deletedAt: null });
      const live = await b.store.createWebhook(wh('Live'), 10);
      const gone = await b.store.createWebhook(wh('Gone'), 10);
      await b.store.deleteWebhook(gone.id, 10);
      // On SQLite with its writer thread, the log goes there (sqlite-append-worker.ts): counted here.
      const writer = (b.store as unknown as { appender?: { recordDeliveries?: (...a: unknown[]) => Promise<void> } }).appender;
      let viaWriter = 0;
      if (writer?.recordDeliveries) {
        const original = writer.recordDeliveries.bind(writer);
        writer.recordDeliveries = (...a: unknown[]) => (viaWriter++, original(...a));
      }
      const ops = b.store.webhookOps;
      const row = (webhookId: string, i: number, status = 200) => ({
        id: `0199a000-0000-7000-8000-${String(i).padStart(12, '0')}`,
        webhookId,
        at: 60_000 + i,
        status,
        code: status === 200 ? null : 'BadRequest',
        bytes: 10 + i,
        latencyMs: 1.234,
        messageId: status === 200 ? randomUUID() : null,
        format: 'chime' as const,
      });
      const first = Array.from({ length: 4 }, (_, i) => row(live.id, i));
      await ops.recordDeliveries([...first, row(gone.id, 50), row(randomUUID(), 51)], [], 3);
      assert.deepEqual((await ops.listDeliveries(live.id, 10)).map((d) => d.id), [first[3]!.id, first[2]!.id, first[1]!.id], 'the newest 3');
      assert.deepEqual(await ops.listDeliveries(gone.id, 10), []);
      const [latest] = await ops.listDeliveries(live.id, 1);
      assert.deepEqual(latest, first[3]);
      // Written again (a retried write): no duplicate, no error.
      await ops.recordDeliveries([first[3]!, row(live.id, 4, 400)], [], 3);
      assert.deepEqual((await ops.listDeliveries(live.id, 10)).map((d) => [d.id, d.status]), [[row(live.id, 4).id, 400], [first[3]!.id, 200], [first[2]!.id, 200]]);

      const tally = (minute: number, failures: number, firstAt: number, lastAt: number, lastStatus: number) => ({
        webhookId: live.id, minute, failures, firstAt, lastAt, lastStatus, lastCode: String(lastStatus),
      });
      await ops.recordDeliveries([], [tally(7, 2, 420_010, 420_020, 400), { ...tally(7, 9, 1, 2, 400), webhookId: gone.id }], 3);
      // An earlier node's tally of the same minute arrives later: counts add, first_at goes back, the newest failure's status stays.
      await ops.recordDeliveries([], [tally(7, 3, 420_001, 420_005, 413), tally(8, 1, 480_000, 480_000, 429)], 3);
      assert.deepEqual(await ops.failureWindow(live.id, 7), { failures: 6, since: 420_001, lastAt: 480_000, lastStatus: 429, lastCode: '429' });
      assert.deepEqual(await ops.failureWindow(live.id, 8), { failures: 1, since: 480_000, lastAt: 480_000, lastStatus: 429, lastCode: '429' });
      await ops.recordDeliveries([], [tally(9, 1, 540_002, 540_002, 404), tally(9, 1, 540_001, 540_001, 413)], 3);
      assert.deepEqual(await ops.failureWindow(live.id, 9), { failures: 2, since: 540_001, lastAt: 540_002, lastStatus: 404, lastCode: '404' });
      assert.equal(await ops.failureWindow(gone.id, 0), null);
      if (backend === 'sqlite') assert.equal(viaWriter, 5, 'SQLite with its writer thread writes the log there');
      else assert.equal(viaWriter, 0);
    });

    test('ping answers true while open', async () => {
      assert.equal(await b.store.ping(), true);
    });
  });
}
