/**
 * Changing messages after they are posted (issue 14) over real HTTP and WebSocket, on every
 * storage backend: edit, delete (tombstone), history, reactions, and the stream's `message.updated`
 * frames, which take seqs of the same gap-free sequence as new messages, live and through
 * `resume`. No test waits for time: frames are awaited by predicate, and ping → pong is the
 * barrier after which everything the server meant to send has arrived. Timestamps come from a
 * clock the tests move by hand.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Message } from '../../shared/api-types.js';
import { LIMITS } from '../../shared/limits.js';
import type { MessageCreatedFrame, MessageUpdatedFrame, ServerFrame } from '../../shared/stream-protocol.js';
import { availableBackends } from '../../test-support/backends.js';
import { assertSafeHtml } from '../../test-support/html-allowlist.js';
import { type ApiResponse, type TestServer, type TestUser, addMember, call, createRoom, createUser, setupAdmin, startTestServer } from '../../test-support/server.js';
import { loadVectors } from '../../test-support/shared-dir.js';
import { StreamClient } from '../../test-support/stream-client.js';
import { FakeClock, createWebhook, rawRequest, portOf } from '../../test-support/webhooks.js';
import { redisAvailable, testRedisUrl } from '../../test-support/redis.js';
import { RedisBus } from '../events/redis.js';
import { createRedis } from '../distributed/redis-client.js';
import { InProcessBus } from '../events/in-process.js';
import type { Bus } from '../events/types.js';

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

type RoomFrame = MessageCreatedFrame | MessageUpdatedFrame;
const isRoomFrame = (f: ServerFrame, roomId: string): f is RoomFrame => (f.type === 'message.created' || f.type === 'message.updated') && f.message.roomId === roomId;
/** The seq a frame carries: the message's own for message.created, the change's for message.updated. */
const frameSeq = (f: RoomFrame): number => (f.type === 'message.created' ? f.message.seq : f.seq);
const roomFrames = (c: StreamClient, roomId: string): RoomFrame[] => c.frames.filter((f) => isRoomFrame(f, roomId));
const roomSeqs = (c: StreamClient, roomId: string): number[] => roomFrames(c, roomId).map(frameSeq);
const updates = (c: StreamClient, roomId: string): MessageUpdatedFrame[] => roomFrames(c, roomId).filter((f): f is MessageUpdatedFrame => f.type === 'message.updated');

/** Waits for the frame of `seq` in the room (either kind), then for everything sent before it. */
async function waitForRoomSeq(c: StreamClient, roomId: string, seq: number): Promise<void> {
  await c.waitFor((f) => isRoomFrame(f, roomId) && frameSeq(f) >= seq, `seq ${seq} in ${roomId}`);
  await c.barrier();
}

/** The message without the per-recipient `alert`, as GET answers it. */
function stripAlert(m: Message & { alert?: boolean }): Message {
  const { alert: _alert, ...rest } = m;
  return rest;
}

/** What a client ends up with when it applies the frames in order (replace the copy by id). */
function applyFrames(frames: readonly RoomFrame[]): Map<string, Message> {
  const state = new Map<string, Message>();
  for (const f of frames) state.set(f.message.id, stripAlert(f.message));
  return state;
}

/** A connected client that has spoken (an empty resume), so live delivery has started. */
async function live(s: TestServer, user: TestUser): Promise<StreamClient> {
  const c = await StreamClient.ready(s.baseUrl, { token: user.token });
  c.send({ type: 'resume', rooms: {} });
  await c.barrier();
  return c;
}

const enc = encodeURIComponent;

for (const backend of availableBackends()) {
  describe(`message changes on ${backend}`, { timeout: 300_000 }, () => {
    let s: TestServer;
    let clock: FakeClock;
    let admin: TestUser;
    let n = 0;
    const clients: StreamClient[] = [];
    const track = <T extends StreamClient>(c: T): T => (clients.push(c), c);
    /** Fresh users for each test, so tests share the server but not rooms or presence. */
    const users = (...names: string[]) => Promise.all(names.map((name) => createUser(s.baseUrl, admin, `${name}${++n}`, name)));

    before(async () => {
      clock = new FakeClock(1_800_000_000_000);
      s = await startTestServer({ backend, clock, stream: { heartbeatIntervalMs: 0 }, env: { WEBHOOK_RATE_PER_SECOND: '1000', WEBHOOK_BURST: '1000' } });
      admin = await setupAdmin(s.baseUrl);
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await s.close();
    });

    // ---- small API helpers ----
    const msgPath = (roomId: string, messageId: string) => `/api/v1/rooms/${roomId}/messages/${messageId}`;
    async function post(user: TestUser, roomId: string, content: string): Promise<Message> {
      const r = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: user.token, body: { content } });
      assert.equal(r.status, 201, r.text);
      return r.body.message;
    }
    const patch = (user: TestUser, roomId: string, messageId: string, content: unknown) =>
      call(s.baseUrl, 'PATCH', msgPath(roomId, messageId), { token: user.token, body: { content } });
    const del = (user: TestUser, roomId: string, messageId: string) => call(s.baseUrl, 'DELETE', msgPath(roomId, messageId), { token: user.token });
    const get = (user: TestUser, roomId: string, messageId: string) => call(s.baseUrl, 'GET', msgPath(roomId, messageId), { token: user.token });
    const edits = (user: TestUser, roomId: string, messageId: string) => call(s.baseUrl, 'GET', `${msgPath(roomId, messageId)}/edits`, { token: user.token });
    /** `emoji` is sent URL-encoded unless `raw`. */
    const react = (user: TestUser, roomId: string, messageId: string, emoji: string, on = true, raw = false) =>
      call(s.baseUrl, on ? 'PUT' : 'DELETE', `${msgPath(roomId, messageId)}/reactions/${raw ? emoji : enc(emoji)}`, { token: user.token });
    const room = async (user: TestUser, roomId: string) => {
      const r = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}`, { token: user.token });
      assert.equal(r.status, 200, r.text);
      return r.body.room as { lastSeq: number; unreadCount: number; mentionCount: number; lastReadSeq: number };
    };
    const lastSeq = async (roomId: string) => (await room(admin, roomId)).lastSeq;
    async function listAll(user: TestUser, roomId: string): Promise<Message[]> {
      const out: Message[] = [];
      for (let after = 0; ; ) {
        const r = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages?after=${after}&limit=100`, { token: user.token });
        assert.equal(r.status, 200, r.text);
        if (r.body.messages.length === 0) return out;
        out.push(...r.body.messages);
        after = r.body.messages.at(-1).seq;
      }
    }
    function assertError(r: ApiResponse, status: number, code: string, message?: RegExp): void {
      assert.equal(r.status, status, r.text);
      assert.equal(r.body?.Code, code, r.text);
      assert.equal(typeof r.body.Message, 'string');
      if (message) assert.match(r.body.Message, message);
    }
    /** A room of the system admin's (as its administrator) with fresh members. */
    async function roomWith(name: string, ...members: TestUser[]): Promise<string> {
      const roomId = await createRoom(s.baseUrl, admin, name);
      for (const m of members) await addMember(s.baseUrl, admin, roomId, m);
      return roomId;
    }

    describe('edit: PATCH …/messages/{messageId}', () => {
      test('the author edits: 200 with the whole message, re-rendered, editedAt set, seq kept; the old versions go to the history', async () => {
        const [alice, bob] = await users('alice', 'bob');
        const roomId = await roomWith('edit', alice!, bob!);
        const m = await post(alice!, roomId, 'first **draft**');
        assert.equal(m.editedAt, null);
        const seqBefore = await lastSeq(roomId);

        clock.advance(60_000);
        const t1 = clock.now();
        const r1 = await patch(alice!, roomId, m.id, `/md second **draft** @${bob!.alias}`);
        assert.equal(r1.status, 200, r1.text);
        const e1: Message = r1.body.message;
        assert.deepEqual(Object.keys(r1.body), ['message']);
        assert.equal(e1.id, m.id);
        assert.equal(e1.seq, m.seq, 'the message keeps its place');
        assert.equal(e1.createdAt, m.createdAt);
        assert.deepEqual(e1.sender, m.sender);
        assert.equal(e1.content, `/md second **draft** @${bob!.alias}`);
        assert.match(e1.html, /<strong>draft<\/strong>/);
        assert.deepEqual(e1.mentions, { all: false, present: false, userIds: [bob!.id] });
        assert.equal(e1.editedAt, t1);
        assert.equal(e1.deletedAt, null);
        assert.equal('deletedBy' in e1, false);
        assert.deepEqual((await get(bob!, roomId, m.id)).body.message, e1, 'GET answers the same');
        assert.equal(await lastSeq(roomId), seqBefore + 1, 'an edit takes the room\'s next seq');

        clock.advance(60_000);
        const t2 = clock.now();
        const r2 = await patch(alice!, roomId, m.id, 'third');
        assert.equal(r2.status, 200, r2.text);
        assert.equal(r2.body.message.editedAt, t2);
        assert.equal(r2.body.message.html, 'third');
        assert.deepEqual(r2.body.message.mentions, { all: false, present: false, userIds: [] });

        const h = await edits(alice!, roomId, m.id);
        assert.equal(h.status, 200, h.text);
        assert.deepEqual(h.body, {
          edits: [
            { version: 1, content: 'first **draft**', createdAt: m.createdAt, replacedAt: t1 },
            { version: 2, content: `/md second **draft** @${bob!.alias}`, createdAt: t1, replacedAt: t2 },
          ],
        });
        // Still one message in the room, at its place.
        assert.deepEqual((await listAll(bob!, roomId)).map((x) => [x.id, x.seq, x.content]), [[m.id, m.seq, 'third']]);
        assert.equal(await lastSeq(roomId), seqBefore + 2);
      });

      test('the same content again: 200 with the message as it is, nothing stored (no seq, no history, editedAt kept)', async () => {
        const [alice] = await users('alice');
        const roomId = await roomWith('same', alice!);
        const m = await post(alice!, roomId, 'unchanged');
        const seq0 = await lastSeq(roomId);
        clock.advance(1000);
        const same = await patch(alice!, roomId, m.id, 'unchanged');
        assert.equal(same.status, 200, same.text);
        assert.deepEqual(same.body.message, m);
        assert.equal(await lastSeq(roomId), seq0);
        assert.deepEqual((await edits(alice!, roomId, m.id)).body.edits, []);

        const edited = (await patch(alice!, roomId, m.id, 'changed')).body.message;
        const seq1 = await lastSeq(roomId);
        clock.advance(1000);
        const again = await patch(alice!, roomId, m.id, 'changed');
        assert.equal(again.status, 200);
        assert.deepEqual(again.body.message, edited);
        assert.equal(await lastSeq(roomId), seq1);
        assert.equal((await edits(alice!, roomId, m.id)).body.edits.length, 1);
      });

      test('only the author of a user message: another member or a room administrator 403, a webhook message 403 naming Key, a non-member 404', async () => {
        const [alice, bob, outsider] = await users('alice', 'bob', 'outsider');
        const roomId = await roomWith('perm', alice!, bob!);
        const m = await post(alice!, roomId, 'mine');
        const hook = await createWebhook(s, admin, roomId, 'Alerts');
        const w = await rawRequest(portOf(s), { path: hook.path, body: '{"Content": "from the webhook"}' });
        assert.equal(w.status, 200, w.text);
        const seq0 = await lastSeq(roomId);

        assertError(await patch(bob!, roomId, m.id, 'hijacked'), 403, 'Forbidden', /only your own/);
        assertError(await patch(admin, roomId, m.id, 'moderated'), 403, 'Forbidden', /only your own/);
        for (const who of [admin, alice!]) {
          assertError(await patch(who, roomId, w.json.MessageId, 'rewritten'), 403, 'Forbidden', /Key/);
        }
        assertError(await patch(outsider!, roomId, m.id, 'x'), 404, 'NotFound', /not a member/);
        // A message of another room named under this room, or no message at all: 404.
        const other = await roomWith('other', alice!);
        const elsewhere = await post(alice!, other, 'elsewhere');
        assertError(await patch(alice!, roomId, elsewhere.id, 'x'), 404, 'NotFound');
        assertError(await patch(alice!, roomId, randomUUID(), 'x'), 404, 'NotFound');
        assertError(await patch(alice!, randomUUID(), m.id, 'x'), 404, 'NotFound');
        assertError(await patch(alice!, roomId, 'not-a-uuid', 'x'), 400, 'InvalidRequest');

        assert.equal(await lastSeq(roomId), seq0, 'no refusal took a seq');
        assert.equal((await get(alice!, roomId, m.id)).body.message.content, 'mine');
        assert.equal((await get(alice!, other, elsewhere.id)).body.message.content, 'elsewhere');
      });

      test('content rules as when posting: 4096 code points pass, 4097 → 413; blank, NUL, lone surrogate → 400; bad bodies → 400; nothing stored', async () => {
        const [alice] = await users('alice');
        const roomId = await roomWith('rules', alice!);
        const m = await post(alice!, roomId, 'short');
        const seq0 = await lastSeq(roomId);
        assertError(await patch(alice!, roomId, m.id, 'a'.repeat(4097)), 413, 'PayloadTooLarge', /4097 characters long; the limit is 4096/);
        assertError(await patch(alice!, roomId, m.id, '😀'.repeat(4097)), 413, 'PayloadTooLarge');
        for (const blank of ['', '   ', '\n\t', '\u200b \u200b']) {
          const r = await patch(alice!, roomId, m.id, blank);
          assert.equal(r.status, 400, `${JSON.stringify(blank)}: ${r.text}`);
          assert.match(r.body.Message, /empty|white space/);
        }
        assert.match((await patch(alice!, roomId, m.id, 'a\u0000b')).body.Message, /NUL/);
        assert.equal((await patch(alice!, roomId, m.id, 'a\ud800b')).status, 400);
        assertError(await patch(alice!, roomId, m.id, 42), 400, 'InvalidRequest');
        assertError(await call(s.baseUrl, 'PATCH', msgPath(roomId, m.id), { token: alice!.token, body: {} }), 400, 'InvalidRequest');
        assertError(await call(s.baseUrl, 'PATCH', msgPath(roomId, m.id), { token: alice!.token, body: { content: 'x', sender: 'someone' } }), 400, 'InvalidRequest');
        assert.equal(await lastSeq(roomId), seq0);
        assert.equal((await get(alice!, roomId, m.id)).body.message.content, 'short');
        assert.deepEqual((await edits(alice!, roomId, m.id)).body.edits, []);

        // Each refusal is the one a post of the same content gets.
        for (const content of ['a'.repeat(4097), '  ', 'a\u0000b']) {
          const p = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: alice!.token, body: { content } });
          const e = await patch(alice!, roomId, m.id, content);
          assert.deepEqual([e.status, e.body.Code, e.body.Message], [p.status, p.body.Code, p.body.Message]);
        }
        const max = await patch(alice!, roomId, m.id, '😀'.repeat(4096));
        assert.equal(max.status, 200, max.text.slice(0, 200));
      });

      test('@All and @Present in a room of more than 50 members → 400 TooManyMembers (and at 50 the edit passes)', async () => {
        const [alice] = await users('alice');
        const fill = async (roomId: string, count: number) => {
          // Members straight into the store: 50 accounts through the API would spend seconds hashing passwords.
          for (let i = 0; i < count; i++) {
            const id = randomUUID();
            await s.backend.store.createUser({ id, email: `${id}@example.com`, alias: `m${id.slice(0, 8)}`, displayName: `M ${i}`, passwordHash: 'x', isSystemAdmin: false, createdAt: 1 });
            await s.backend.store.addMember(roomId, id, 'member', 1);
          }
        };
        const big = await roomWith('R51', alice!);
        await fill(big, 49);
        assert.equal(await s.backend.store.countMembers(big), 51);
        const m = await post(alice!, big, 'hello');
        const seq0 = await lastSeq(big);
        for (const content of ['@All wake up', 'now @present', '/md **@All**']) assertError(await patch(alice!, big, m.id, content), 400, 'TooManyMembers', /at most 50 members/);
        assert.equal(await lastSeq(big), seq0);
        assert.equal((await patch(alice!, big, m.id, `hello @${alice!.alias}`)).status, 200);

        const fifty = await roomWith('R50', alice!);
        await fill(fifty, 48);
        assert.equal(await s.backend.store.countMembers(fifty), 50);
        const m50 = await post(alice!, fifty, 'hello');
        const r = await patch(alice!, fifty, m50.id, '@All standup');
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.message.mentions.all, true);
      });

      test('an edit or reaction racing the message\'s deletion answers 200 (before it) or 409 Conflict (after it), never 404', async () => {
        const [alice, bob] = await users('alice', 'bob');
        const roomId = await roomWith('racing a deletion', alice!, bob!);
        const targets: Message[] = [];
        for (let i = 0; i < 20; i++) targets.push(await post(alice!, roomId, `target ${i}`));
        const results = await Promise.all(
          targets.flatMap((m, i) => [
            patch(alice!, roomId, m.id, `edited ${i}`).then((r) => ['edit', r] as const),
            react(bob!, roomId, m.id, '👍').then((r) => ['react', r] as const),
            del(alice!, roomId, m.id).then((r) => ['delete', r] as const),
            react(bob!, roomId, m.id, '👍', false).then((r) => ['unreact', r] as const),
          ]),
        );
        for (const [what, r] of results) {
          if (what === 'delete') assert.equal(r.status, 204, r.text);
          else assert.ok(r.status === 200 || (r.status === 409 && r.body.Code === 'Conflict' && /deleted/.test(r.body.Message)), `${what}: ${r.status} ${r.text}`);
        }
        for (const m of targets) assert.deepEqual((await get(bob!, roomId, m.id)).body.message.reactions, []);
      });

      test('a deleted message cannot be edited: 409 Conflict', async () => {
        const [alice] = await users('alice');
        const roomId = await roomWith('gone', alice!);
        const m = await post(alice!, roomId, 'soon gone');
        assert.equal((await del(alice!, roomId, m.id)).status, 204);
        const seq0 = await lastSeq(roomId);
        assertError(await patch(alice!, roomId, m.id, 'back again'), 409, 'Conflict', /deleted/);
        assert.equal(await lastSeq(roomId), seq0);
      });

      test(`the history keeps the last ${LIMITS.editHistoryMax} versions, oldest first`, async () => {
        const [alice] = await users('alice');
        const roomId = await roomWith('history', alice!);
        const m = await post(alice!, roomId, 'v0');
        const total = LIMITS.editHistoryMax + 5;
        for (let i = 1; i <= total; i++) {
          clock.advance(10);
          assert.equal((await patch(alice!, roomId, m.id, `v${i}`)).status, 200);
        }
        const h = (await edits(alice!, roomId, m.id)).body.edits as { version: number; content: string; createdAt: number; replacedAt: number }[];
        assert.equal(h.length, LIMITS.editHistoryMax);
        assert.deepEqual(h.map((e) => e.version), range(total - LIMITS.editHistoryMax + 1, total));
        assert.deepEqual(h.map((e) => e.content), range(total - LIMITS.editHistoryMax, total - 1).map((i) => `v${i}`));
        for (let i = 1; i < h.length; i++) assert.equal(h[i]!.createdAt, h[i - 1]!.replacedAt, 'each version became current when the one before was replaced');
        assert.equal((await get(alice!, roomId, m.id)).body.message.content, `v${total}`);
      });
    });

    describe('delete: DELETE …/messages/{messageId}', () => {
      test('the author deletes: 204; a tombstone keeps id, seq, sender and time; content, html, mentions, reactions and history go', async () => {
        const [alice, bob] = await users('alice', 'bob');
        const roomId = await roomWith('tombstone', alice!, bob!);
        const before1 = await post(alice!, roomId, 'before');
        const m = await post(alice!, roomId, `secret @${bob!.alias}`);
        const after1 = await post(bob!, roomId, 'after');
        await patch(alice!, roomId, m.id, `secret v2 @${bob!.alias}`);
        assert.equal((await react(bob!, roomId, m.id, '👍')).status, 200);
        const seq0 = await lastSeq(roomId);

        clock.advance(5000);
        const r = await del(alice!, roomId, m.id);
        assert.equal(r.status, 204, r.text);
        assert.equal(r.text, '');
        assert.equal(await lastSeq(roomId), seq0 + 1, 'a deletion takes the room\'s next seq');
        const t = (await get(bob!, roomId, m.id)).body.message as Message;
        assert.deepEqual(t, {
          id: m.id,
          roomId,
          seq: m.seq,
          sender: m.sender,
          content: '',
          html: '',
          mentions: { all: false, present: false, userIds: [] },
          createdAt: m.createdAt,
          editedAt: t.editedAt,
          deletedAt: clock.now(),
          deletedBy: 'author',
          reactions: [],
        });
        assert.deepEqual((await edits(alice!, roomId, m.id)).body, { edits: [] }, 'the history goes with it');
        // The tombstone keeps its place in the room, between its neighbours.
        assert.deepEqual((await listAll(bob!, roomId)).map((x) => [x.id, x.deletedAt !== null]), [[before1.id, false], [m.id, true], [after1.id, false]]);

        // Twice: 204 again, nothing stored.
        assert.equal((await del(alice!, roomId, m.id)).status, 204);
        assert.equal(await lastSeq(roomId), seq0 + 1);
        // A deleted message takes no reactions and no edits.
        assertError(await react(bob!, roomId, m.id, '👍'), 409, 'Conflict', /deleted/);
        assertError(await react(bob!, roomId, m.id, '👍', false), 409, 'Conflict', /deleted/);
        assertError(await patch(alice!, roomId, m.id, 'resurrected'), 409, 'Conflict');
        assert.equal(await lastSeq(roomId), seq0 + 1);
      });

      test('a room administrator deletes any message (a member\'s, a webhook\'s): deletedBy administrator; their own: author', async () => {
        const [alice, bob] = await users('alice', 'bob');
        const roomId = await roomWith('moderation', alice!, bob!);
        const hook = await createWebhook(s, admin, roomId, 'Noisy');
        const w = await rawRequest(portOf(s), { path: hook.path, body: '{"Content": "spam"}' });
        assert.equal(w.status, 200);
        const fromBob = await post(bob!, roomId, 'off topic');
        const own = await post(admin, roomId, 'my own');
        // Alice becomes a room administrator too (not the system admin): the room role is what counts.
        assert.equal((await call(s.baseUrl, 'PATCH', `/api/v1/rooms/${roomId}/members/${alice!.id}`, { token: admin.token, body: { role: 'administrator' } })).status, 200);

        assert.equal((await del(alice!, roomId, fromBob.id)).status, 204);
        assert.equal((await del(alice!, roomId, w.json.MessageId)).status, 204);
        assert.equal((await del(admin, roomId, own.id)).status, 204);
        const by = async (id: string) => (await get(bob!, roomId, id)).body.message.deletedBy;
        assert.equal(await by(fromBob.id), 'administrator');
        assert.equal(await by(w.json.MessageId), 'administrator');
        assert.equal(await by(own.id), 'author');
        assert.equal((await get(bob!, roomId, w.json.MessageId)).body.message.sender.type, 'webhook');
      });

      test('a plain member deleting someone else\'s message (or a webhook\'s) → 403; a non-member → 404; nothing changes', async () => {
        const [alice, bob, outsider] = await users('alice', 'bob', 'outsider');
        const roomId = await roomWith('no moderation', alice!, bob!);
        const hook = await createWebhook(s, admin, roomId, 'Alerts');
        const w = await rawRequest(portOf(s), { path: hook.path, body: '{"Content": "alert"}' });
        const m = await post(alice!, roomId, 'alice says');
        const seq0 = await lastSeq(roomId);
        assertError(await del(bob!, roomId, m.id), 403, 'Forbidden', /only your own/);
        assertError(await del(bob!, roomId, w.json.MessageId), 403, 'Forbidden');
        assertError(await del(outsider!, roomId, m.id), 404, 'NotFound');
        assertError(await del(alice!, roomId, randomUUID()), 404, 'NotFound');
        assert.equal(await lastSeq(roomId), seq0);
        assert.equal((await get(bob!, roomId, m.id)).body.message.deletedAt, null);
      });
    });

    describe('GET …/messages/{messageId} and …/edits', () => {
      test('members read a message; the history is for its author and room administrators only', async () => {
        const [alice, bob, outsider] = await users('alice', 'bob', 'outsider');
        const roomId = await roomWith('reading', alice!, bob!);
        const m = await post(alice!, roomId, 'v1');
        await patch(alice!, roomId, m.id, 'v2');
        const g = await get(bob!, roomId, m.id);
        assert.equal(g.status, 200);
        assert.deepEqual(Object.keys(g.body), ['message']);
        assert.deepEqual(Object.keys(g.body.message).sort(), ['content', 'createdAt', 'deletedAt', 'editedAt', 'html', 'id', 'mentions', 'reactions', 'roomId', 'sender', 'seq']);
        assertError(await get(outsider!, roomId, m.id), 404, 'NotFound');
        assertError(await get(bob!, roomId, randomUUID()), 404, 'NotFound');

        assert.equal((await edits(alice!, roomId, m.id)).body.edits.length, 1);
        assert.equal((await edits(admin, roomId, m.id)).body.edits.length, 1, 'a room administrator sees it');
        assertError(await edits(bob!, roomId, m.id), 403, 'Forbidden', /author and room administrators/);
        assertError(await edits(outsider!, roomId, m.id), 404, 'NotFound');
        assertError(await edits(alice!, roomId, randomUUID()), 404, 'NotFound');
        const fresh = await post(bob!, roomId, 'never edited');
        assert.deepEqual((await edits(bob!, roomId, fresh.id)).body, { edits: [] });
      });
    });

    describe('reactions: PUT/DELETE …/reactions/{emoji}', () => {
      test('one per user per emoji, in first-use order, with counts; shortcodes name the same emoji; PUT twice and DELETE of none change nothing', async () => {
        const [alice, bob, carol] = await users('alice', 'bob', 'carol');
        const roomId = await roomWith('reactions', alice!, bob!, carol!);
        const m = await post(alice!, roomId, 'deployed');
        const seq0 = await lastSeq(roomId);

        const r1 = await react(bob!, roomId, m.id, '✅');
        assert.equal(r1.status, 200, r1.text);
        assert.deepEqual(Object.keys(r1.body), ['message']);
        assert.deepEqual(r1.body.message.reactions, [{ emoji: '✅', count: 1, userIds: [bob!.id] }]);
        assert.equal(r1.body.message.editedAt, null, 'a reaction is not an edit');
        // The shortcode is the same emoji: bob already has it.
        const again = await react(bob!, roomId, m.id, 'white_check_mark', true, true);
        assert.equal(again.status, 200);
        assert.deepEqual(again.body.message.reactions, [{ emoji: '✅', count: 1, userIds: [bob!.id] }]);
        assert.equal(await lastSeq(roomId), seq0 + 1, 'a repeated reaction takes no seq');

        assert.equal((await react(carol!, roomId, m.id, ':+1:', true, true)).status, 200);
        assert.equal((await react(alice!, roomId, m.id, 'white_check_mark', true, true)).status, 200);
        const r = await react(carol!, roomId, m.id, '✅');
        assert.deepEqual(r.body.message.reactions, [
          { emoji: '✅', count: 3, userIds: [bob!.id, alice!.id, carol!.id] },
          { emoji: '👍', count: 1, userIds: [carol!.id] },
        ]);
        assert.equal(await lastSeq(roomId), seq0 + 4);

        // Removing: one's own only; the last one out removes the emoji; re-adding puts it last.
        const off = await react(bob!, roomId, m.id, '✅', false);
        assert.deepEqual(off.body.message.reactions, [
          { emoji: '✅', count: 2, userIds: [alice!.id, carol!.id] },
          { emoji: '👍', count: 1, userIds: [carol!.id] },
        ]);
        const none = await react(bob!, roomId, m.id, '✅', false);
        assert.equal(none.status, 200);
        assert.deepEqual(none.body.message.reactions, off.body.message.reactions);
        assert.equal((await react(bob!, roomId, m.id, '🎉', false)).status, 200, 'removing an emoji nobody used is no error');
        assert.equal(await lastSeq(roomId), seq0 + 5);
        await react(alice!, roomId, m.id, '✅', false);
        const last = await react(carol!, roomId, m.id, '✅', false);
        assert.deepEqual(last.body.message.reactions, [{ emoji: '👍', count: 1, userIds: [carol!.id] }]);
        const back = await react(bob!, roomId, m.id, '✅');
        assert.deepEqual(back.body.message.reactions.map((x: { emoji: string }) => x.emoji), ['👍', '✅']);
        assert.deepEqual((await get(alice!, roomId, m.id)).body.message.reactions, back.body.message.reactions);
        assert.equal(await lastSeq(roomId), seq0 + 8);
      });

      test('any single emoji: skin tones, ZWJ sequences, flags, keycaps; webhook messages and one\'s own take reactions too', async () => {
        const [alice] = await users('alice');
        const roomId = await roomWith('emoji', alice!);
        const hook = await createWebhook(s, admin, roomId, 'Bot');
        const w = await rawRequest(portOf(s), { path: hook.path, body: '{"Content": "alert"}' });
        const emoji = ['👍🏽', '👩‍💻', '🇯🇵', '1️⃣', '🏳️‍🌈', '❤️', '🫠', '©️'];
        let r: ApiResponse | undefined;
        for (const e of emoji) {
          r = await react(alice!, roomId, w.json.MessageId, e);
          assert.equal(r.status, 200, `${e}: ${r.text}`);
        }
        assert.deepEqual(r!.body.message.reactions.map((x: { emoji: string }) => x.emoji), emoji);
        const own = await post(alice!, roomId, 'mine');
        assert.equal((await react(alice!, roomId, own.id, '🚀')).status, 200);
      });

      test('not one emoji → 400 InvalidRequest saying what to send (text, two emoji, controls, private use, unknown shortcodes); nothing stored', async () => {
        const [alice] = await users('alice');
        const roomId = await roomWith('bad emoji', alice!);
        const m = await post(alice!, roomId, 'react to me');
        const seq0 = await lastSeq(roomId);
        for (const bad of ['hello', 'not_an_emoji_at_all', '1', 'é', '✅✅', '👍👎', '✅ ', ' ✅', '✅\u0000', '\u0007', '✅\n', '\ue000', '\u200d', '<script>', 'a'.repeat(81)]) {
          const r = await react(alice!, roomId, m.id, bad);
          assertError(r, 400, 'InvalidRequest');
          assert.ok(r.body.Message.length > 20);
          if (bad.length < 20) assert.match(r.body.Message, /emoji|characters/, bad);
        }
        assertError(await react(alice!, roomId, m.id, '%F0%9F', true, true), 400, 'InvalidRequest');
        assertError(await react(alice!, roomId, m.id, 'hello', false), 400, 'InvalidRequest');
        assert.equal(await lastSeq(roomId), seq0);
        assert.deepEqual((await get(alice!, roomId, m.id)).body.message.reactions, []);
      });

      test(`at most ${LIMITS.reactionsPerMessage} different emoji: the next one → 409; more users on an existing one still fit`, async () => {
        const [alice, bob] = await users('alice', 'bob');
        const roomId = await roomWith('many emoji', alice!, bob!);
        const m = await post(alice!, roomId, 'vote');
        const pool = ['😀', '😁', '😂', '🤣', '😃', '😄', '😅', '😆', '😉', '😊', '😋', '😎', '😍', '😘', '🥰', '😗', '😙', '😚', '🙂', '🤗', '🤩', '🤔'];
        for (const e of pool.slice(0, LIMITS.reactionsPerMessage)) assert.equal((await react(alice!, roomId, m.id, e)).status, 200);
        const seq0 = await lastSeq(roomId);
        assertError(await react(bob!, roomId, m.id, pool[LIMITS.reactionsPerMessage]!), 409, 'Conflict', /at most 20 different reactions/);
        assert.equal(await lastSeq(roomId), seq0);
        const joined = await react(bob!, roomId, m.id, pool[0]!);
        assert.equal(joined.status, 200);
        assert.equal(joined.body.message.reactions.length, LIMITS.reactionsPerMessage);
        assert.deepEqual(joined.body.message.reactions[0], { emoji: pool[0], count: 2, userIds: [alice!.id, bob!.id] });
        // Freeing a slot makes room for another.
        await react(alice!, roomId, m.id, pool[5]!, false);
        assert.equal((await react(bob!, roomId, m.id, pool[LIMITS.reactionsPerMessage]!)).status, 200);
      });

      test('members only: a non-member → 404, an unknown message → 404', async () => {
        const [alice, outsider] = await users('alice', 'outsider');
        const roomId = await roomWith('members only', alice!);
        const m = await post(alice!, roomId, 'x');
        assertError(await react(outsider!, roomId, m.id, '👍'), 404, 'NotFound');
        assertError(await react(admin, randomUUID(), m.id, '👍'), 404, 'NotFound');
        assertError(await react(alice!, roomId, randomUUID(), '👍'), 404, 'NotFound');
      });
    });

    describe('edited HTML is as safe as posted HTML (test/vectors)', () => {
      // Every hostile content, as sent and with /md: the edit answers what a post of the same content
      // answers, its HTML is byte-identical to the posted HTML, and passes the allow-list.
      for (const file of ['xss-markdown.jsonl', 'mentions.jsonl', 'webhook-bodies-unicode.jsonl', 'render-cost.jsonl']) {
        test(file, async () => {
          const [alice, bob] = await users('alice', 'bob');
          const roomId = await roomWith(file, alice!, bob!);
          const target = await post(alice!, roomId, 'to be edited');
          let checked = 0;
          for (const v of loadVectors(file)) {
            const parsed = JSON.parse(v.body) as Record<string, unknown>;
            const content = Object.hasOwn(parsed, 'Content') ? parsed.Content : parsed.content;
            if (typeof content !== 'string') continue;
            for (const variant of [content, `/md ${content}`]) {
              const posted = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: alice!.token, body: { content: variant } });
              const edited = await patch(alice!, roomId, target.id, variant);
              assert.equal(edited.status, posted.status === 201 ? 200 : posted.status, `${v.name}: ${edited.text.slice(0, 300)}`);
              if (edited.status !== 200) {
                assert.equal(edited.body.Code, posted.body.Code, v.name);
                continue;
              }
              const html = edited.body.message.html as string;
              assert.equal(edited.body.message.content, variant, v.name);
              assert.equal(html, posted.body.message.html, `${v.name}: an edit renders as a post does`);
              assert.deepEqual(edited.body.message.mentions, posted.body.message.mentions, v.name);
              assertSafeHtml(html);
              assert.ok(!/<script/i.test(html), `${v.name}: no <script`);
              assert.equal((await get(bob!, roomId, target.id)).body.message.html, html, `${v.name}: stored as answered`);
              checked++;
            }
          }
          assert.ok(checked > 0);
        });
      }
    });

    describe('the stream: message.updated frames', () => {
      test('live, for two users: every change takes the next seq; frames carry the current state, per-user alert and newAlert', async () => {
        const [alice, bob, carol] = await users('alice', 'bob', 'carol');
        const roomId = await roomWith('live changes', alice!, bob!, carol!);
        const a = track(await live(s, alice!));
        const b = track(await live(s, bob!));
        const c = track(await live(s, carol!));
        // Carol has the room open: she is present (for @Present).
        c.send({ type: 'open', roomId });
        await c.waitFor((f) => f.type === 'presence.changed' && f.roomId === roomId && f.userId === carol!.id && f.present, 'carol present');

        const m = await post(alice!, roomId, 'disk at 90%'); // seq 1
        await patch(alice!, roomId, m.id, `disk at 95% @${bob!.alias}`); // 2: adds @bob
        await patch(alice!, roomId, m.id, `disk at 97% @${bob!.alias}`); // 3: same mentions
        await react(bob!, roomId, m.id, '✅'); // 4
        await patch(alice!, roomId, m.id, `disk at 99% @${bob!.alias} @present`); // 5: adds @Present (carol is present)
        await patch(alice!, roomId, m.id, 'disk at 99% @All'); // 6: adds @All, drops @bob and @Present
        const other = await post(bob!, roomId, 'looking'); // 7
        await del(alice!, roomId, m.id); // 8
        await react(alice!, roomId, other.id, '👀'); // 9
        assert.equal(await lastSeq(roomId), 9);

        for (const client of [a, b, c]) {
          await waitForRoomSeq(client, roomId, 9);
          assert.deepEqual(roomSeqs(client, roomId), range(1, 9), 'every seq once, in order');
        }
        const up = (client: StreamClient) => updates(client, roomId);
        assert.deepEqual(up(a).map((f) => [f.seq, f.change, f.message.id, f.message.seq]), [
          [2, 'edited', m.id, 1],
          [3, 'edited', m.id, 1],
          [4, 'reactions', m.id, 1],
          [5, 'edited', m.id, 1],
          [6, 'edited', m.id, 1],
          [8, 'deleted', m.id, 1],
          [9, 'reactions', other.id, 7],
        ]);
        const byClient = (client: StreamClient) => up(client).map((f) => [f.seq, f.message.alert, f.newAlert]);
        // alice is the author: never alerted by her own message.
        assert.deepEqual(byClient(a), [[2, false, false], [3, false, false], [4, false, false], [5, false, false], [6, false, false], [8, false, false], [9, false, false]]);
        // bob: seq 2 newly mentions him; 3 and 4 keep the mention; 6 mentions him through @All.
        assert.deepEqual(byClient(b).slice(0, 3), [[2, true, true], [3, true, false], [4, true, false]]);
        assert.deepEqual(byClient(b)[3], [5, true, false], '@Present adds nothing for bob, who is not present');
        assert.equal(byClient(b)[4]![1], true, '@All alerts bob');
        assert.deepEqual(byClient(b).slice(5), [[8, false, false], [9, false, false]]);
        // carol: present when @Present was added at seq 5; @All at 6 alerts her (she was already alerted by @Present).
        assert.deepEqual(byClient(c).slice(0, 4), [[2, false, false], [3, false, false], [4, false, false], [5, true, true]]);
        assert.equal(byClient(c)[4]![1], true);
        assert.deepEqual(byClient(c).slice(5), [[8, false, false], [9, false, false]]);

        // The frames carry the whole current state, the same for everyone but `alert`.
        const f4 = up(b).find((f) => f.seq === 4)!;
        assert.deepEqual(f4.message.reactions, [{ emoji: '✅', count: 1, userIds: [bob!.id] }]);
        assert.equal(f4.message.content, `disk at 97% @${bob!.alias}`);
        const f8 = up(c).find((f) => f.seq === 8)!;
        assert.deepEqual([f8.message.content, f8.message.html, f8.message.deletedBy, f8.message.reactions], ['', '', 'author', []]);
        assert.equal(typeof f8.message.deletedAt, 'number');
        // Applying the frames in order gives what GET gives.
        for (const client of [a, b, c]) {
          assert.deepEqual([...applyFrames(roomFrames(client, roomId)).values()], await listAll(alice!, roomId));
        }
        // Frame shape.
        assert.deepEqual(Object.keys(up(a)[0]!), ['type', 'seq', 'change', 'message', 'newAlert']);
      });

      test('newAlert is only for a mention the change adds: an edit keeping the same mentions alerts nobody anew', async () => {
        const [alice, bob] = await users('alice', 'bob');
        const roomId = await roomWith('same mentions', alice!, bob!);
        const b = track(await live(s, bob!));
        const m = await post(alice!, roomId, `ping @${bob!.alias}`);
        await patch(alice!, roomId, m.id, `ping again @${bob!.alias}`);
        await patch(alice!, roomId, m.id, `/md **ping** @${bob!.alias} and @${alice!.alias}`);
        await waitForRoomSeq(b, roomId, 3);
        assert.equal(roomFrames(b, roomId)[0]!.message.alert, true);
        assert.deepEqual(updates(b, roomId).map((f) => [f.message.alert, f.newAlert]), [[true, false], [true, false]]);
      });

      test('a message already alerting a user through @bob gets @All added: newAlert false for him (it alerted him before)', async () => {
        const [alice, bob, carol] = await users('alice', 'bob', 'carol');
        const roomId = await roomWith('already alerted', alice!, bob!, carol!);
        const b = track(await live(s, bob!));
        const c = track(await live(s, carol!));
        const m = await post(alice!, roomId, `ping @${bob!.alias}`);
        await patch(alice!, roomId, m.id, `ping @${bob!.alias} @All`);
        await waitForRoomSeq(b, roomId, 2);
        await waitForRoomSeq(c, roomId, 2);
        assert.deepEqual([updates(c, roomId)[0]!.message.alert, updates(c, roomId)[0]!.newAlert], [true, true], 'carol: alerted anew by @All');
        assert.deepEqual([updates(b, roomId)[0]!.message.alert, updates(b, roomId)[0]!.newAlert], [true, false], 'bob was alerted before');
      });

      test('resume after a reconnect covers edits, deletions and reactions made while offline: every seq once, in order, final state right', async () => {
        const [alice, bob] = await users('alice', 'bob');
        const roomId = await roomWith('offline', alice!, bob!);
        const first = track(await live(s, bob!));
        const m1 = await post(alice!, roomId, 'one'); // 1
        const m2 = await post(alice!, roomId, 'two'); // 2
        const m3 = await post(bob!, roomId, 'three'); // 3
        await react(alice!, roomId, m3.id, '👍'); // 4
        await waitForRoomSeq(first, roomId, 4);
        assert.deepEqual(roomSeqs(first, roomId), [1, 2, 3, 4]);
        await first.close();

        // Offline: changes of messages bob has, new messages, and changes of those.
        await patch(alice!, roomId, m1.id, `one, edited @${bob!.alias}`); // 5 (adds @bob)
        await del(alice!, roomId, m2.id); // 6
        await react(alice!, roomId, m3.id, '👍', false); // 7
        const m4 = await post(alice!, roomId, 'four'); // 8
        await patch(alice!, roomId, m4.id, 'four, edited'); // 9
        await react(alice!, roomId, m4.id, '🎉'); // 10
        const m5 = await post(alice!, roomId, 'five'); // 11
        await del(alice!, roomId, m5.id); // 12
        await patch(alice!, roomId, m1.id, `one, edited twice @${bob!.alias}`); // 13
        await react(alice!, roomId, m1.id, '✅'); // 14
        assert.equal(await lastSeq(roomId), 14);

        const again = track(await StreamClient.ready(s.baseUrl, { token: bob!.token }));
        again.send({ type: 'resume', rooms: { [roomId]: 4 } });
        await again.waitFor((f) => f.type === 'resumed' && f.roomId === roomId, 'resumed');
        await again.barrier();
        assert.deepEqual(roomSeqs(again, roomId), range(5, 14), 'the replay: each seq once, in order, no gap');
        assert.equal(again.ofType('resumed').find((f) => f.roomId === roomId)!.lastSeq, 14);
        const frames = roomFrames(again, roomId);
        assert.deepEqual(frames.map((f) => [frameSeq(f), f.type, f.type === 'message.updated' ? f.change : '', f.message.id]), [
          [5, 'message.updated', 'edited', m1.id],
          [6, 'message.updated', 'deleted', m2.id],
          [7, 'message.updated', 'reactions', m3.id],
          // Created after the resume point: sent once as message.created, in its current state…
          [8, 'message.created', '', m4.id],
          // …and its changes come with their seqs, each in the current state too.
          [9, 'message.updated', 'edited', m4.id],
          [10, 'message.updated', 'reactions', m4.id],
          [11, 'message.created', '', m5.id],
          [12, 'message.updated', 'deleted', m5.id],
          [13, 'message.updated', 'edited', m1.id],
          [14, 'message.updated', 'reactions', m1.id],
        ]);
        const created8 = frames[3] as MessageCreatedFrame;
        assert.deepEqual([created8.message.content, created8.message.reactions.map((r) => r.emoji)], ['four, edited', ['🎉']]);
        assert.equal((frames[6] as MessageCreatedFrame).message.deletedAt !== null, true, 'm5 comes as the tombstone it is now');
        // The replayed edit that added @bob alerts him anew, as it did live.
        const f5 = frames[0] as MessageUpdatedFrame;
        assert.deepEqual([f5.message.alert, f5.newAlert], [true, true]);
        // Together with what bob had before the disconnect, the frames give exactly what GET gives.
        const state = applyFrames([...roomFrames(first, roomId), ...frames]);
        assert.deepEqual([...state.values()].sort((x, y) => x.seq - y.seq), await listAll(bob!, roomId));

        // Live delivery goes on after the replay, with the next seq.
        await react(bob!, roomId, m4.id, '🎉'); // 15
        await waitForRoomSeq(again, roomId, 15);
        assert.deepEqual(roomSeqs(again, roomId), range(5, 15));

        // A resume from 0 sends every seq once: each message once as message.created (current state), then the changes.
        const fresh = track(await StreamClient.ready(s.baseUrl, { token: bob!.token }));
        fresh.send({ type: 'resume', rooms: { [roomId]: 0 } });
        await fresh.waitFor((f) => f.type === 'resumed' && f.roomId === roomId, 'resumed');
        await fresh.barrier();
        assert.deepEqual(roomSeqs(fresh, roomId), range(1, 15));
        assert.deepEqual([...applyFrames(roomFrames(fresh, roomId)).values()].sort((x, y) => x.seq - y.seq), await listAll(bob!, roomId));
      });

      test('changes never add to unread counts: edits, reactions and keyed updates leave them as they were', async () => {
        const [alice, bob] = await users('alice', 'bob');
        const roomId = await roomWith('unread', alice!, bob!);
        const hook = await createWebhook(s, admin, roomId, 'Monitor');
        const m1 = await post(alice!, roomId, 'one');
        const m2 = await post(alice!, roomId, `two @${bob!.alias}`);
        const k = await rawRequest(portOf(s), { path: hook.path, body: JSON.stringify({ Content: 'CPU high', Key: 'cpu' }) });
        assert.equal(k.status, 200);
        const before = await room(bob!, roomId);
        assert.deepEqual([before.unreadCount, before.mentionCount], [3, 1]);
        const aliceBefore = await room(alice!, roomId);

        await patch(alice!, roomId, m1.id, 'one, edited');
        await patch(alice!, roomId, m2.id, `two, edited @${bob!.alias}`);
        await react(alice!, roomId, m1.id, '👍');
        await react(bob!, roomId, m2.id, '👀');
        const k2 = await rawRequest(portOf(s), { path: hook.path, body: JSON.stringify({ Content: 'CPU still high', Key: 'cpu' }) });
        assert.equal(k2.json.MessageId, k.json.MessageId);
        const afterChanges = await room(bob!, roomId);
        assert.equal(afterChanges.lastSeq, before.lastSeq + 5);
        assert.deepEqual([afterChanges.unreadCount, afterChanges.mentionCount], [3, 1]);
        const aliceAfter = await room(alice!, roomId);
        assert.deepEqual([aliceAfter.unreadCount, aliceAfter.mentionCount], [aliceBefore.unreadCount, aliceBefore.mentionCount]);
        // The rooms list says the same.
        const list = await call(s.baseUrl, 'GET', '/api/v1/rooms', { token: bob!.token });
        const listed = (list.body.rooms as { id: string; unreadCount: number; lastSeq: number }[]).find((r) => r.id === roomId)!;
        assert.deepEqual([listed.unreadCount, listed.lastSeq], [3, afterChanges.lastSeq]);
        // Reading up to the last seq (a change's) clears the room.
        assert.equal((await call(s.baseUrl, 'PUT', `/api/v1/rooms/${roomId}/read`, { token: bob!.token, body: { seq: afterChanges.lastSeq } })).status, 200);
        await react(alice!, roomId, m1.id, '🎉');
        await patch(alice!, roomId, m1.id, 'one, edited again');
        const cleared = await room(bob!, roomId);
        assert.deepEqual([cleared.unreadCount, cleared.mentionCount], [0, 0]);
        // Pinned: a deleted unread message has nothing left to read; deleting never adds.
        const m3 = await post(alice!, roomId, 'three');
        const beforeDelete = (await room(bob!, roomId)).unreadCount;
        await del(alice!, roomId, m3.id);
        assert.ok((await room(bob!, roomId)).unreadCount <= beforeDelete);
      });

      test('race: many concurrent posts, edits, reactions and deletions in one room → every stream has seqs 1..N once each, and the final state matches GET', async () => {
        const people = await users('p1', 'p2', 'p3', 'p4');
        const roomId = await roomWith('race', ...people);
        const streams = await Promise.all(people.map(async (p) => track(await live(s, p))));
        const hook = await createWebhook(s, admin, roomId, 'Racer');

        // Phase 0: two messages each (seqs 1..8).
        const base: Message[] = [];
        for (const p of people) for (let i = 0; i < 2; i++) base.push(await post(p, roomId, `base ${p.alias} ${i}`));
        const baseSeq = await lastSeq(roomId);
        assert.equal(baseSeq, 8);

        // Phase 1: every request changes something, except exact duplicates, which must take no seq.
        const emoji = ['👍', '🎉', '👀'];
        const ops: Promise<ApiResponse>[] = [];
        let expected = 0;
        for (const p of people) {
          for (let i = 0; i < 5; i++, expected++) ops.push(call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: p.token, body: { content: `new ${p.alias} ${i}` } }));
          for (const m of base.filter((x) => x.sender.id === p.id)) {
            for (let v = 0; v < 2; v++, expected++) ops.push(patch(p, roomId, m.id, `${m.content} edit ${v}`));
          }
          for (const m of base) {
            for (const e of emoji) {
              ops.push(react(p, roomId, m.id, e));
              expected++;
            }
            // The same reaction twice at once: one of them changes the message.
            ops.push(react(p, roomId, m.id, '👍'));
            // Removing a reaction nobody has: no change.
            ops.push(react(p, roomId, m.id, '🦄', false));
          }
        }
        for (let i = 0; i < 5; i++, expected++) ops.push(call(s.baseUrl, 'POST', hook.path, { rawBody: JSON.stringify({ Content: `hook ${i}` }) }));
        const results = await Promise.all(ops);
        for (const r of results) assert.ok(r.status === 200 || r.status === 201, r.text);
        const n1 = await lastSeq(roomId);
        assert.equal(n1, baseSeq + expected, 'one seq per change, none for repeats');

        // Phase 2: deletions racing reactions and edits of the same messages (their outcome may be 409).
        const ops2: Promise<ApiResponse>[] = [];
        for (const [i, m] of base.entries()) {
          const author = people.find((p) => p.id === m.sender.id)!;
          const other = people[(people.indexOf(author) + 1) % people.length]!;
          if (i % 2 === 0) ops2.push(del(author, roomId, m.id));
          ops2.push(react(other, roomId, m.id, '🔥'));
          ops2.push(patch(author, roomId, m.id, `late edit ${i}`));
          ops2.push(react(author, roomId, m.id, '👍', false));
        }
        for (const p of people) ops2.push(call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: p.token, body: { content: `late ${p.alias}` } }));
        const results2 = await Promise.all(ops2);
        for (const r of results2) assert.ok([200, 201, 204].includes(r.status) || (r.status === 409 && r.body.Code === 'Conflict'), r.text);
        const total = await lastSeq(roomId);
        assert.ok(total > n1);

        const final = await listAll(people[0]!, roomId);
        assert.equal(final.length, 8 + 20 + 5 + 4);
        for (const m of final.filter((x) => x.deletedAt !== null)) assert.deepEqual([m.content, m.html, m.reactions], ['', '', []]);
        for (const m of final) for (const r of m.reactions) assert.equal(r.count, new Set(r.userIds).size);
        for (const c of streams) {
          await waitForRoomSeq(c, roomId, total);
          assert.deepEqual(roomSeqs(c, roomId), range(1, total), 'live: every seq once, in order, no gap');
          assert.deepEqual([...applyFrames(roomFrames(c, roomId)).values()].sort((x, y) => x.seq - y.seq), final);
        }
        // And through resume, from the start and from the middle.
        for (const from of [0, baseSeq, n1]) {
          const r = track(await StreamClient.ready(s.baseUrl, { token: people[1]!.token }));
          r.send({ type: 'resume', rooms: { [roomId]: from } });
          await r.waitFor((f) => f.type === 'resumed' && f.roomId === roomId, 'resumed');
          await r.barrier();
          assert.deepEqual(roomSeqs(r, roomId), range(from + 1, total), `resume from ${from}`);
          if (from === 0) assert.deepEqual([...applyFrames(roomFrames(r, roomId)).values()].sort((x, y) => x.seq - y.seq), final);
          await r.close();
        }
      });
    });
  });
}

describe('changes across two nodes', { timeout: 120_000 }, () => {
  const quiet = { warn: () => {}, info: () => {} };
  const nodesOn: { name: string; buses: () => Promise<{ a: Bus; b: Bus; close: () => void }> }[] = [
    { name: 'one shared bus', buses: async () => { const bus = new InProcessBus(); return { a: bus, b: bus, close: () => {} }; } },
  ];
  if (redisAvailable()) {
    nodesOn.push({
      name: 'Redis pub/sub',
      buses: async () => {
        const conns: ReturnType<typeof createRedis>[] = [];
        const bus = (node: string) => {
          const [pub, sub] = [createRedis(testRedisUrl!, quiet, `${node}-pub`), createRedis(testRedisUrl!, quiet, `${node}-sub`)];
          conns.push(pub, sub);
          return new RedisBus(pub, sub, randomUUID(), () => {});
        };
        const a = bus('a');
        const b = bus('b');
        // Pub/sub is live once a probe published on one node arrives on the other.
        let seen = false;
        const off = b.subscribe((e) => (seen ||= e.type === 'webhooks.changed'));
        for (let i = 0; i < 200 && !seen; i++) {
          a.publish({ type: 'webhooks.changed', roomId: randomUUID() });
          await new Promise((r) => setTimeout(r, 25));
        }
        off();
        assert.ok(seen, 'Redis pub/sub carries events between the two buses');
        return { a, b, close: () => conns.forEach((c) => c.disconnect()) };
      },
    });
  }

  for (const { name, buses } of nodesOn) {
    test(`edits, reactions, deletions and keyed updates on node A reach sockets on node B in seq order, with newAlert (${name})`, async () => {
      const { a: busA, b: busB, close } = await buses();
      const backend = availableBackends().at(-1)!;
      const a = await startTestServer({ backend, bus: busA, stream: { heartbeatIntervalMs: 0 } });
      const b = await startTestServer({ sameDatabaseAs: a, bus: busB, stream: { heartbeatIntervalMs: 0 } });
      const clients: StreamClient[] = [];
      try {
        const admin = await setupAdmin(a.baseUrl);
        const bob = await createUser(a.baseUrl, admin, 'bob');
        const roomId = await createRoom(a.baseUrl, admin, 'two nodes');
        await addMember(a.baseUrl, admin, roomId, bob);
        const hook = await createWebhook(a, admin, roomId, 'Monitor');
        const onB = await live(b, bob);
        const onA = await live(a, admin);
        clients.push(onA, onB);

        const m = (await call(a.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: admin.token, body: { content: 'hello' } })).body.message; // 1
        assert.equal((await call(a.baseUrl, 'PATCH', `/api/v1/rooms/${roomId}/messages/${m.id}`, { token: admin.token, body: { content: `hello @${bob.alias}` } })).status, 200); // 2
        assert.equal((await call(b.baseUrl, 'PUT', `/api/v1/rooms/${roomId}/messages/${m.id}/reactions/${enc('👀')}`, { token: bob.token })).status, 200); // 3
        const k1 = await rawRequest(portOf(a), { path: hook.path, body: JSON.stringify({ Content: 'disk 90%', Key: 'disk' }) }); // 4
        assert.equal(k1.status, 200, k1.text);
        // The webhook's bucket (1 per second) is per node here: node B takes the update.
        const k2 = await rawRequest(portOf(b), { path: hook.path, body: JSON.stringify({ Content: `disk 99% @${bob.alias}`, Key: 'disk' }) }); // 5
        assert.equal(k2.status, 200, k2.text);
        assert.equal(k2.json.MessageId, k1.json.MessageId);
        assert.equal((await call(a.baseUrl, 'DELETE', `/api/v1/rooms/${roomId}/messages/${m.id}`, { token: admin.token })).status, 204); // 6

        for (const c of [onA, onB]) {
          await waitForRoomSeq(c, roomId, 6);
          assert.deepEqual(roomSeqs(c, roomId), range(1, 6));
        }
        assert.deepEqual(updates(onB, roomId).map((f) => [f.seq, f.change, f.message.alert, f.newAlert]), [
          [2, 'edited', true, true],
          [3, 'reactions', true, false],
          [5, 'edited', true, true],
          [6, 'deleted', false, false],
        ]);
        const messages = (await call(b.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages`, { token: bob.token })).body.messages;
        for (const c of [onA, onB]) assert.deepEqual([...applyFrames(roomFrames(c, roomId)).values()], messages);
      } finally {
        await Promise.all(clients.map((c) => c.close()));
        await b.close();
        await a.close();
        close();
      }
    });
  }
});
