/**
 * Webhook posts with a key (issue 14): `"Key"` in the JSON body or the X-Carillon-Key header. The
 * first post with a key creates a message carrying it; a later post of the same webhook with the
 * same key updates that message in place and answers the same {MessageId, RoomId}. Real server,
 * real HTTP and WebSocket, on every storage backend; time comes from a clock the tests move.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Message } from '../../shared/api-types.js';
import { LIMITS } from '../../shared/limits.js';
import type { MessageCreatedFrame, MessageUpdatedFrame, ServerFrame } from '../../shared/stream-protocol.js';
import { availableBackends } from '../../test-support/backends.js';
import { type TestServer, type TestUser, addMember, call, createRoom, createUser, setupAdmin, startTestServer } from '../../test-support/server.js';
import { loadVectors } from '../../test-support/shared-dir.js';
import { StreamClient } from '../../test-support/stream-client.js';
import { FakeClock, type RawResponse, type TestWebhook, createWebhook, deleteWebhook, portOf, rawRequest, regenerateWebhook, storedMessages } from '../../test-support/webhooks.js';

const JSON_TYPE = /^application\/json(;|$)/;
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

function assertError(res: RawResponse, status: number, code: string, message?: RegExp): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
  assert.match(String(res.headers['content-type']), JSON_TYPE);
  assert.deepEqual(Object.keys(res.json ?? {}).sort(), ['Code', 'Message'], res.text);
  assert.equal(res.json.Code, code);
  assert.ok(res.json.Message.length > 20, 'the Message says what to fix');
  if (message) assert.match(res.json.Message, message);
}

function assertAnswer(res: RawResponse, roomId: string): void {
  assert.equal(res.status, 200, res.text);
  assert.match(String(res.headers['content-type']), JSON_TYPE);
  // Byte for byte what an unkeyed post answers: exactly these two keys, in this order.
  assert.equal(res.text, JSON.stringify({ MessageId: res.json.MessageId, RoomId: roomId }));
}

type RoomFrame = MessageCreatedFrame | MessageUpdatedFrame;
const isRoomFrame = (f: ServerFrame, roomId: string): f is RoomFrame => (f.type === 'message.created' || f.type === 'message.updated') && f.message.roomId === roomId;
const frameSeq = (f: RoomFrame): number => (f.type === 'message.created' ? f.message.seq : f.seq);
const roomFrames = (c: StreamClient, roomId: string): RoomFrame[] => c.frames.filter((f) => isRoomFrame(f, roomId));
async function waitForRoomSeq(c: StreamClient, roomId: string, seq: number): Promise<void> {
  await c.waitFor((f) => isRoomFrame(f, roomId) && frameSeq(f) >= seq, `seq ${seq} in ${roomId}`);
  await c.barrier();
}
function applyFrames(frames: readonly RoomFrame[]): Message[] {
  const state = new Map<string, Message>();
  for (const f of frames) {
    const { alert: _alert, ...m } = f.message;
    state.set(m.id, m);
  }
  return [...state.values()].sort((a, b) => a.seq - b.seq);
}
async function live(s: TestServer, user: TestUser): Promise<StreamClient> {
  const c = await StreamClient.ready(s.baseUrl, { token: user.token });
  c.send({ type: 'resume', rooms: {} });
  await c.barrier();
  return c;
}

for (const backend of availableBackends()) {
  describe(`webhook posts with a Key (${backend})`, { timeout: 300_000 }, () => {
    let s: TestServer;
    let port: number;
    let clock: FakeClock;
    let admin: TestUser;
    let n = 0;
    const clients: StreamClient[] = [];

    before(async () => {
      clock = new FakeClock(1_800_000_000_000);
      // The default rate limit (1 per second, burst 1): every post below comes a second after the last.
      s = await startTestServer({ backend, clock, stream: { heartbeatIntervalMs: 0 } });
      port = portOf(s);
      admin = await setupAdmin(s.baseUrl);
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await s.close();
    });

    /** A post a full second after the last; `body` is JSON-encoded unless it is a string. */
    const post = (hook: TestWebhook, body: unknown, headers: Record<string, string> | [string, string][] = {}) => {
      clock.advance(1000);
      return rawRequest(port, { path: hook.path, body: typeof body === 'string' ? body : JSON.stringify(body), headers });
    };
    const getMessage = async (id: string, roomId: string): Promise<Message> => {
      const r = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages/${id}`, { token: admin.token });
      assert.equal(r.status, 200, r.text);
      return r.body.message;
    };
    const history = async (id: string, roomId: string) => (await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages/${id}/edits`, { token: admin.token })).body.edits;
    const lastSeq = async (roomId: string): Promise<number> => (await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}`, { token: admin.token })).body.room.lastSeq;
    const count = async (roomId: string) => (await storedMessages(s.backend.store, roomId)).length;
    async function setup(name: string): Promise<{ roomId: string; hook: TestWebhook }> {
      const roomId = await createRoom(s.baseUrl, admin, `${name} ${++n}`);
      return { roomId, hook: await createWebhook(s, admin, roomId, 'Monitor') };
    }
    /** Runs `fn`, which must be refused, and checks that the room did not change at all. */
    async function refused(roomId: string, status: number, code: string, fn: () => Promise<RawResponse>, message?: RegExp): Promise<RawResponse> {
      const before = await storedMessages(s.backend.store, roomId);
      const seq = await lastSeq(roomId);
      const res = await fn();
      assertError(res, status, code, message);
      assert.deepEqual(await storedMessages(s.backend.store, roomId), before, 'nothing is stored on a non-200 answer');
      assert.equal(await lastSeq(roomId), seq);
      return res;
    }

    test('the first post with a Key creates a message; a later one with the same key updates it in place and answers the same ids', async () => {
      const { roomId, hook } = await setup('keyed');
      const r1 = await post(hook, { Content: 'CPU 91% on db-1', Key: 'cpu/db-1' });
      assertAnswer(r1, roomId);
      const created = await getMessage(r1.json.MessageId, roomId);
      assert.deepEqual([created.content, created.editedAt, created.seq], ['CPU 91% on db-1', null, 1]);
      assert.deepEqual(created.sender, { type: 'webhook', id: hook.id, name: 'Monitor' });
      assert.deepEqual(Object.keys(created).sort(), ['content', 'createdAt', 'deletedAt', 'editedAt', 'html', 'id', 'mentions', 'reactions', 'roomId', 'sender', 'seq'], 'the key is not shown');

      const r2 = await post(hook, { Content: '/md **CPU 97%** on db-1', Key: 'cpu/db-1' });
      assertAnswer(r2, roomId);
      assert.equal(r2.text, r1.text, 'the same {MessageId, RoomId}');
      const updated = await getMessage(r1.json.MessageId, roomId);
      assert.equal(updated.content, '/md **CPU 97%** on db-1');
      assert.match(updated.html, /<strong>CPU 97%<\/strong>/);
      assert.equal(updated.editedAt, clock.now());
      assert.deepEqual([updated.seq, updated.createdAt, updated.sender], [created.seq, created.createdAt, created.sender]);
      assert.equal(await count(roomId), 1, 'no new message');
      assert.equal(await lastSeq(roomId), 2, 'the update took the room\'s next seq');
      assert.deepEqual(await history(r1.json.MessageId, roomId), [{ version: 1, content: 'CPU 91% on db-1', createdAt: created.createdAt, replacedAt: updated.editedAt }]);

      // The same content again: 200 naming the message, nothing stored.
      const r3 = await post(hook, { Content: '/md **CPU 97%** on db-1', Key: 'cpu/db-1' });
      assert.equal(r3.text, r1.text);
      assert.deepEqual(await getMessage(r1.json.MessageId, roomId), updated);
      assert.equal(await lastSeq(roomId), 2);
      assert.equal((await history(r1.json.MessageId, roomId)).length, 1);

      // Another key is another message; the first one's key still names the first.
      const other = await post(hook, { Content: 'CPU 80% on db-2', Key: 'cpu/db-2' });
      assert.notEqual(other.json.MessageId, r1.json.MessageId);
      const back = await post(hook, { Content: 'CPU 50% on db-1', Key: 'cpu/db-1' });
      assert.equal(back.json.MessageId, r1.json.MessageId);
      assert.equal(await count(roomId), 2);
    });

    test('the X-Carillon-Key header works as the body\'s Key; both agreeing is one key; differing → 400; non-ASCII or empty header → 400', async () => {
      const { roomId, hook } = await setup('header');
      const a = await post(hook, { Content: 'deploy 42 started' }, { 'X-Carillon-Key': 'deploy-42' });
      assertAnswer(a, roomId);
      const b = await post(hook, { Content: 'deploy 42 running', Key: 'deploy-42' });
      assert.equal(b.text, a.text, 'the header and the body name the same key');
      const c = await post(hook, { Content: 'deploy 42 done', Key: 'deploy-42' }, { 'x-carillon-key': 'deploy-42' });
      assert.equal(c.text, a.text);
      assert.equal((await getMessage(a.json.MessageId, roomId)).content, 'deploy 42 done');
      assert.equal(await count(roomId), 1);

      await refused(roomId, 400, 'InvalidPayload', () => post(hook, { Content: 'x', Key: 'deploy-43' }, { 'X-Carillon-Key': 'deploy-42' }), /differ/);
      // Header bytes beyond ASCII (UTF-8 sent raw, or Latin-1), and controls such as a tab.
      for (const value of [Buffer.from('clé', 'utf8').toString('latin1'), 'cl\xe9', 'a\tb']) {
        await refused(roomId, 400, 'InvalidPayload', () => post(hook, { Content: 'x' }, [['X-Carillon-Key', value]]), /printable ASCII/);
      }
      await refused(roomId, 400, 'InvalidPayload', () => post(hook, { Content: 'x' }, { 'X-Carillon-Key': '' }), /1 to 128 characters long \(it is 0\)/);
      await refused(roomId, 400, 'InvalidPayload', () => post(hook, { Content: 'x' }, { 'X-Carillon-Key': 'k'.repeat(129) }), /X-Carillon-Key.*1 to 128 characters long \(it is 129\)/);
      // The longest header key is fine.
      assertAnswer(await post(hook, { Content: 'long key' }, { 'X-Carillon-Key': 'k'.repeat(128) }), roomId);
    });

    test('invalid Key values → 400 InvalidPayload saying what to send; nothing stored', async () => {
      const { roomId, hook } = await setup('invalid keys');
      assertAnswer(await post(hook, { Content: 'existing', Key: 'ok' }), roomId);
      const cases: [unknown, RegExp][] = [
        [42, /'Key' must be a string that names the message to update/],
        [true, /'Key' must be a string/],
        [{ id: 'x' }, /'Key' must be a string/],
        [['ok'], /'Key' must be a string/],
        ['', /'Key' must be 1 to 128 characters long \(it is 0\)/],
        ['k'.repeat(129), /'Key' must be 1 to 128 characters long \(it is 129\)/],
        ['😀'.repeat(129), /it is 129/],
        ['line\nbreak', /control character/],
        ['nul\u0000', /control character/],
        ['del\u007f', /control character/],
        ['c1\u0085', /control character/],
      ];
      for (const [key, message] of cases) {
        const res = await refused(roomId, 400, 'InvalidPayload', () => post(hook, { Content: 'update', Key: key }), message);
        assert.match(res.json.Message, /leave it out|use letters/);
      }
      // The same key sent to update the existing message is refused the same way: it stays as it was.
      assert.equal((await getMessage((await storedMessages(s.backend.store, roomId))[0]!.id, roomId)).content, 'existing');
      // Valid edges: 128 characters (astral ones count once), any script, punctuation, spaces.
      for (const key of ['k'.repeat(128), '😀'.repeat(128), 'ключ/диск 1', 'alert:{"id": 7}']) {
        const first = await post(hook, { Content: 'v1', Key: key });
        assertAnswer(first, roomId);
        const second = await post(hook, { Content: 'v2', Key: key });
        assert.equal(second.json.MessageId, first.json.MessageId, key);
      }
    });

    test('pinned: "Key": null is no key, and only the exact spelling "Key" is one ("key", "KEY" are ignored like any unknown field)', async () => {
      const { roomId, hook } = await setup('not keys');
      for (const body of [{ Content: 'same', Key: null }, { Content: 'same', key: 'k' }, { Content: 'same', KEY: 'k' }]) {
        const a = await post(hook, body);
        const b = await post(hook, body);
        assertAnswer(a, roomId);
        assertAnswer(b, roomId);
        assert.notEqual(a.json.MessageId, b.json.MessageId, JSON.stringify(body));
      }
      assert.equal(await count(roomId), 6);
    });

    test('a different webhook with the same key creates its own message; each updates only its own', async () => {
      const { roomId, hook } = await setup('two webhooks');
      const other = await createWebhook(s, admin, roomId, 'Other monitor');
      const a1 = await post(hook, { Content: 'A: disk 80%', Key: 'disk' });
      const b1 = await post(other, { Content: 'B: disk 80%', Key: 'disk' });
      assert.notEqual(a1.json.MessageId, b1.json.MessageId);
      const a2 = await post(hook, { Content: 'A: disk 90%', Key: 'disk' });
      const b2 = await post(other, { Content: 'B: disk 90%', Key: 'disk' });
      assert.deepEqual([a2.json.MessageId, b2.json.MessageId], [a1.json.MessageId, b1.json.MessageId]);
      assert.equal((await getMessage(a1.json.MessageId, roomId)).content, 'A: disk 90%');
      assert.equal((await getMessage(b1.json.MessageId, roomId)).content, 'B: disk 90%');
      assert.equal((await getMessage(b1.json.MessageId, roomId)).sender.id, other.id);
      // Same key in another room's webhook: yet another message there.
      const elsewhere = await setup('elsewhere');
      const e1 = await post(elsewhere.hook, { Content: 'E: disk', Key: 'disk' });
      assertAnswer(e1, elsewhere.roomId);
      assert.equal(await count(roomId), 2);
    });

    test('after the keyed message is deleted, the key posts a new message (and updates that one from then on)', async () => {
      const { roomId, hook } = await setup('deleted');
      const first = await post(hook, { Content: 'incident open', Key: 'inc-1' });
      assert.equal((await call(s.baseUrl, 'DELETE', `/api/v1/rooms/${roomId}/messages/${first.json.MessageId}`, { token: admin.token })).status, 204);
      const second = await post(hook, { Content: 'incident open', Key: 'inc-1' });
      assertAnswer(second, roomId);
      assert.notEqual(second.json.MessageId, first.json.MessageId);
      const tomb = await getMessage(first.json.MessageId, roomId);
      assert.deepEqual([tomb.content, tomb.deletedBy], ['', 'administrator']);
      const fresh = await getMessage(second.json.MessageId, roomId);
      assert.deepEqual([fresh.content, fresh.editedAt, fresh.seq], ['incident open', null, 3]);
      const third = await post(hook, { Content: 'incident resolved', Key: 'inc-1' });
      assert.equal(third.json.MessageId, second.json.MessageId);
      assert.equal(tomb.content, (await getMessage(first.json.MessageId, roomId)).content, 'the tombstone stays one');
      assert.equal(await count(roomId), 2);
    });

    test('a regenerated URL is the same webhook (its keys still update); a deleted webhook\'s keys die with it; a rename shows on the next update', async () => {
      const { roomId, hook } = await setup('lifecycle');
      const first = await post(hook, { Content: 'v1', Key: 'k' });
      const regenerated = await regenerateWebhook(s, admin, roomId, hook.id);
      assertError(await post(hook, { Content: 'v2', Key: 'k' }), 404, 'WebhookNotFound');
      const viaNew = await post(regenerated, { Content: 'v2', Key: 'k' });
      assert.equal(viaNew.json.MessageId, first.json.MessageId);

      const renamed = await call(s.baseUrl, 'PATCH', `/api/v1/rooms/${roomId}/webhooks/${hook.id}`, { token: admin.token, body: { name: 'Renamed monitor' } });
      assert.equal(renamed.status, 200, renamed.text);
      assert.equal((await post(regenerated, { Content: 'v3', Key: 'k' })).json.MessageId, first.json.MessageId);
      assert.equal((await getMessage(first.json.MessageId, roomId)).sender.name, 'Renamed monitor');

      await deleteWebhook(s, admin, roomId, hook.id);
      const successor = await createWebhook(s, admin, roomId, 'Renamed monitor');
      const next = await post(successor, { Content: 'v4', Key: 'k' });
      assertAnswer(next, roomId);
      assert.notEqual(next.json.MessageId, first.json.MessageId, 'another webhook: its own message');
      assert.equal((await getMessage(first.json.MessageId, roomId)).content, 'v3');
    });

    test('posts without a Key are unchanged: every post is a new message, stored as sent; a keyed first post stores exactly the same', async () => {
      const { roomId, hook } = await setup('unkeyed');
      const a = await post(hook, { Content: 'same text' });
      const b = await post(hook, { Content: 'same text' });
      assertAnswer(a, roomId);
      assertAnswer(b, roomId);
      assert.notEqual(a.json.MessageId, b.json.MessageId);
      for (const id of [a.json.MessageId, b.json.MessageId]) assert.equal((await getMessage(id, roomId)).editedAt, null);

      // Every unicode vector, posted without a key and as the first post of a new key: the same
      // answer shape and byte-identical content, HTML and mentions.
      const fields = (m: Message) => [m.content, m.html, m.mentions, m.sender, m.editedAt, m.deletedAt, m.reactions];
      let i = 0;
      for (const v of loadVectors('webhook-bodies-unicode.jsonl')) {
        const plain = await post(hook, v.body);
        const parsed = JSON.parse(v.body) as Record<string, unknown>;
        const keyed = await post(hook, { ...parsed, Key: `vector-${i++}` });
        assert.equal(keyed.status, plain.status, `${v.name}: ${keyed.text}`);
        if (plain.status !== 200) {
          assert.equal(keyed.json.Code, plain.json.Code, v.name);
          continue;
        }
        assertAnswer(plain, roomId);
        assertAnswer(keyed, roomId);
        assert.deepEqual(fields(await getMessage(keyed.json.MessageId, roomId)), fields(await getMessage(plain.json.MessageId, roomId)), v.name);
      }
    });

    test('keyed posts spend the rate limit: a second post in the same second → 429, the message unchanged', async () => {
      const { roomId, hook } = await setup('rate');
      const first = await post(hook, { Content: 'v1', Key: 'r' });
      const res = await refused(roomId, 429, 'Throttled', () => rawRequest(port, { path: hook.path, body: JSON.stringify({ Content: 'v2', Key: 'r' }) }));
      assert.equal(res.headers['retry-after'], '1');
      await refused(roomId, 429, 'Throttled', () => rawRequest(port, { path: hook.path, body: '{"Content": "v2"}', headers: { 'X-Carillon-Key': 'r' } }));
      const later = await post(hook, { Content: 'v2', Key: 'r' });
      assert.equal(later.json.MessageId, first.json.MessageId);
      assert.equal((await getMessage(first.json.MessageId, roomId)).content, 'v2');
      // An unchanged keyed post spends a token too.
      assert.equal((await post(hook, { Content: 'v2', Key: 'r' })).status, 200);
      await refused(roomId, 429, 'Throttled', () => rawRequest(port, { path: hook.path, body: JSON.stringify({ Content: 'v3', Key: 'r' }) }));
    });

    test('keyed updates obey the size and content rules in the SPEC 2.3 order; a refused update leaves the message as it was', async () => {
      const { roomId, hook } = await setup('limits');
      const first = await post(hook, { Content: 'ok', Key: 'lim' });
      await refused(roomId, 413, 'PayloadTooLarge', () => post(hook, { Content: 'a'.repeat(LIMITS.contentMaxCodePoints + 1), Key: 'lim' }), /4096/);
      await refused(roomId, 413, 'PayloadTooLarge', () => post(hook, { Content: 'a'.repeat(70_000), Key: 'lim' }), /64 KiB/);
      await refused(roomId, 413, 'PayloadTooLarge', () => post(hook, { Content: 'a'.repeat(5000) }, { 'X-Carillon-Key': 'lim' }));
      // Size before the other content rules: 5000 characters with a NUL is 413.
      await refused(roomId, 413, 'PayloadTooLarge', () => post(hook, { Content: `${'x'.repeat(5000)}\u0000`, Key: 'lim' }));
      await refused(roomId, 400, 'InvalidPayload', () => post(hook, { Content: 'a\u0000b', Key: 'lim' }), /NUL/);
      await refused(roomId, 400, 'InvalidPayload', () => post(hook, { Content: ' \n ', Key: 'lim' }), /empty or only white space/);
      await refused(roomId, 400, 'InvalidPayload', () => post(hook, { Key: 'lim' }), /no 'Content' key/);
      await refused(roomId, 400, 'InvalidPayload', () => post(hook, { Content: 7, Key: 'lim' }), /'Content' must be a string/);
      const max = await post(hook, { Content: '😀'.repeat(LIMITS.contentMaxCodePoints), Key: 'lim' });
      assert.equal(max.json.MessageId, first.json.MessageId);
      assert.equal(await count(roomId), 1);
    });

    test('@All / @Present added by a keyed update in a room of more than 50 members → 400 TooManyMembers, the message unchanged', async () => {
      const { roomId, hook } = await setup('R51');
      for (let i = 0; i < 50; i++) {
        const id = randomUUID();
        await s.backend.store.createUser({ id, email: `${id}@example.com`, alias: `k${id.slice(0, 8)}`, displayName: `K ${i}`, passwordHash: 'x', isSystemAdmin: false, createdAt: 1 });
        await s.backend.store.addMember(roomId, id, 'member', 1);
      }
      assert.equal(await s.backend.store.countMembers(roomId), 51);
      const first = await post(hook, { Content: 'quiet', Key: 'big' });
      for (const content of ['@All look', 'now @present']) {
        await refused(roomId, 400, 'TooManyMembers', () => post(hook, { Content: content, Key: 'big' }), /at most 50 members/);
      }
      // Size before mentions.
      await refused(roomId, 413, 'PayloadTooLarge', () => post(hook, { Content: `@All ${'x'.repeat(5000)}`, Key: 'big' }));
      assert.equal((await post(hook, { Content: `louder @${admin.alias}`, Key: 'big' })).json.MessageId, first.json.MessageId);
    });

    test('the stream: an update is message.updated with the next seq; newAlert only for the mention it adds; an unchanged post sends nothing; unread counts stay', async () => {
      const alice = await createUser(s.baseUrl, admin, `alice${++n}`, 'Alice');
      const bob = await createUser(s.baseUrl, admin, `bob${++n}`, 'Bob');
      const { roomId, hook } = await setup('stream');
      await addMember(s.baseUrl, admin, roomId, alice);
      await addMember(s.baseUrl, admin, roomId, bob);
      const a = await live(s, alice);
      const b = await live(s, bob);
      clients.push(a, b);

      const r1 = await post(hook, { Content: 'disk 90% on web-1', Key: 'disk/web-1' }); // seq 1
      await post(hook, { Content: `disk 95% on web-1 @${bob.alias}`, Key: 'disk/web-1' }); // 2: adds @bob
      await post(hook, { Content: `disk 97% on web-1 @${bob.alias}`, Key: 'disk/web-1' }); // 3: same mentions
      await post(hook, { Content: `disk 97% on web-1 @${bob.alias}`, Key: 'disk/web-1' }); // unchanged: no seq, no frame
      await post(hook, { Content: `disk 99% on web-1 @${bob.alias} @${alice.alias}`, Key: 'disk/web-1' }); // 4: adds @alice
      assert.equal(await lastSeq(roomId), 4);
      for (const c of [a, b]) {
        await waitForRoomSeq(c, roomId, 4);
        assert.deepEqual(roomFrames(c, roomId).map(frameSeq), [1, 2, 3, 4]);
        assert.deepEqual(roomFrames(c, roomId).map((f) => [f.type, f.message.id]), [
          ['message.created', r1.json.MessageId],
          ['message.updated', r1.json.MessageId],
          ['message.updated', r1.json.MessageId],
          ['message.updated', r1.json.MessageId],
        ]);
      }
      const alerts = (c: StreamClient) => roomFrames(c, roomId).map((f) => [f.message.alert, f.type === 'message.updated' ? f.newAlert : null]);
      assert.deepEqual(alerts(b), [[false, null], [true, true], [true, false], [true, false]]);
      assert.deepEqual(alerts(a), [[false, null], [false, false], [false, false], [true, true]]);
      const last = roomFrames(b, roomId)[3] as MessageUpdatedFrame;
      assert.equal(last.change, 'edited');
      assert.deepEqual([last.message.seq, last.message.sender.type, last.message.editedAt], [1, 'webhook', clock.now()]);
      assert.deepEqual(applyFrames(roomFrames(a, roomId)), (await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages`, { token: alice.token })).body.messages);

      // One message to read, however often it was updated.
      for (const u of [alice, bob]) {
        const r = (await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}`, { token: u.token })).body.room;
        assert.deepEqual([r.unreadCount, r.mentionCount, r.lastSeq], [1, 1, 4]);
      }

      // Through resume from 0: the message once, as it is now, then its three changes; the update
      // that added bob's mention still says newAlert to him.
      const replay = await StreamClient.ready(s.baseUrl, { token: bob.token });
      clients.push(replay);
      replay.send({ type: 'resume', rooms: { [roomId]: 0 } });
      await replay.waitFor((f) => f.type === 'resumed' && f.roomId === roomId, 'resumed');
      await replay.barrier();
      assert.deepEqual(roomFrames(replay, roomId).map(frameSeq), [1, 2, 3, 4]);
      const created = roomFrames(replay, roomId)[0] as MessageCreatedFrame;
      assert.equal(created.type, 'message.created');
      assert.equal(created.message.content, `disk 99% on web-1 @${bob.alias} @${alice.alias}`);
      assert.deepEqual(alerts(replay), [[true, null], [true, true], [true, false], [true, false]]);
    });
  });

  describe(`concurrent keyed posts (${backend})`, { timeout: 120_000 }, () => {
    let s: TestServer;
    let admin: TestUser;
    before(async () => {
      s = await startTestServer({ backend, stream: { heartbeatIntervalMs: 0 }, env: { WEBHOOK_RATE_PER_SECOND: '1000', WEBHOOK_BURST: '1000' } });
      admin = await setupAdmin(s.baseUrl);
    });
    after(() => s.close());

    const fire = (hook: TestWebhook, bodies: unknown[]) =>
      Promise.all(bodies.map((b) => rawRequest(portOf(s), { path: hook.path, body: JSON.stringify(b) })));
    const lastSeq = async (roomId: string): Promise<number> => (await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}`, { token: admin.token })).body.room.lastSeq;

    test('10 posts in parallel with the same new key and content → exactly one message, every answer names it, one seq', async () => {
      const roomId = await createRoom(s.baseUrl, admin, 'same');
      const hook = await createWebhook(s, admin, roomId, 'Parallel');
      const answers = await fire(hook, Array.from({ length: 10 }, () => ({ Content: 'pager: db down', Key: 'db-down' })));
      for (const r of answers) assertAnswer(r, roomId);
      assert.equal(new Set(answers.map((r) => r.json.MessageId)).size, 1);
      const stored = await storedMessages(s.backend.store, roomId);
      assert.deepEqual(stored.map((m) => [m.id, m.content, m.editedAt]), [[answers[0]!.json.MessageId, 'pager: db down', null]]);
      assert.equal(await lastSeq(roomId), 1);
    });

    test('10 posts in parallel with the same new key and different contents → one message, all answers name it; one seq per version, gap-free on the stream', async () => {
      const roomId = await createRoom(s.baseUrl, admin, 'different');
      const hook = await createWebhook(s, admin, roomId, 'Parallel');
      const observer = await live(s, admin);
      try {
        const contents = range(1, 10).map((i) => `pager: db down (${i})`);
        const answers = await fire(hook, contents.map((c) => ({ Content: c, Key: 'db-down' })));
        for (const r of answers) assertAnswer(r, roomId);
        assert.equal(new Set(answers.map((r) => r.json.MessageId)).size, 1);
        const stored = await storedMessages(s.backend.store, roomId);
        assert.equal(stored.length, 1);
        assert.ok(contents.includes(stored[0]!.content));
        assert.equal(await lastSeq(roomId), 10, 'one creation and nine updates');
        const edits = (await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages/${stored[0]!.id}/edits`, { token: admin.token })).body.edits;
        assert.equal(edits.length, 9);
        assert.deepEqual(new Set([...edits.map((e: { content: string }) => e.content), stored[0]!.content]), new Set(contents));
        await waitForRoomSeq(observer, roomId, 10);
        assert.deepEqual(roomFrames(observer, roomId).map(frameSeq), range(1, 10));
        assert.deepEqual(applyFrames(roomFrames(observer, roomId)), (await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages`, { token: admin.token })).body.messages);
      } finally {
        await observer.close();
      }
    });

    test('many keys, two webhooks and unkeyed posts racing in one room → one message per webhook and key, seqs gap-free', async () => {
      const roomId = await createRoom(s.baseUrl, admin, 'mixed');
      const h1 = await createWebhook(s, admin, roomId, 'One');
      const h2 = await createWebhook(s, admin, roomId, 'Two');
      const observer = await live(s, admin);
      try {
        const keys = ['a', 'b', 'c', 'd', 'e'];
        const jobs: Promise<RawResponse[]>[] = [];
        for (const hook of [h1, h2]) {
          jobs.push(fire(hook, keys.flatMap((k) => range(1, 4).map((i) => ({ Content: `${hook.name} ${k} v${i}`, Key: k })))));
          jobs.push(fire(hook, range(1, 10).map((i) => ({ Content: `${hook.name} plain ${i}` }))));
        }
        const answers = (await Promise.all(jobs)).flat();
        for (const r of answers) assertAnswer(r, roomId);
        const stored = await storedMessages(s.backend.store, roomId);
        assert.equal(stored.length, 2 * keys.length + 2 * 10);
        for (const hook of [h1, h2]) {
          for (const k of keys) {
            const mine = stored.filter((m) => m.sender.id === hook.id && m.content.startsWith(`${hook.name} ${k} `));
            assert.equal(mine.length, 1, `${hook.name} ${k}`);
          }
        }
        const total = await lastSeq(roomId);
        assert.equal(total, 2 * keys.length * 4 + 2 * 10, 'every keyed post after the first of its key was a change');
        await waitForRoomSeq(observer, roomId, total);
        assert.deepEqual(roomFrames(observer, roomId).map(frameSeq), range(1, total));
        assert.deepEqual(applyFrames(roomFrames(observer, roomId)), (await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages?limit=100`, { token: admin.token })).body.messages);
      } finally {
        await observer.close();
      }
    });
  });
}
