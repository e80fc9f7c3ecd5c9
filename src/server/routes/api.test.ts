/**
 * The HTTP API over real HTTP: setup and sessions, CSRF, bad input on every route (400 naming the
 * field, nothing half-stored), paging, content limits, concurrency, OpenAPI and ops endpoints.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { LIMITS } from '../../shared/limits.js';
import { availableBackends } from '../../test-support/backends.js';
import { type TestServer, type TestUser, addMember, call, createRoom, createUser, setupAdmin, startTestServer } from '../../test-support/server.js';

describe('setup, sign-in and sessions', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('setup is open until the first user exists; it returns a token, the user and a session cookie', async () => {
    assert.deepEqual((await call(s.baseUrl, 'GET', '/api/v1/setup')).body, { needsSetup: true });
    const r = await call(s.baseUrl, 'POST', '/api/v1/setup', {
      body: { email: 'Mary@Example.com', alias: 'mary', displayName: 'Mary Major', password: 'correct horse battery' },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(typeof r.body.token, 'string');
    assert.ok(r.body.token.length >= 40);
    assert.deepEqual(Object.keys(r.body.user).sort(), ['alias', 'createdAt', 'displayName', 'email', 'id', 'isSystemAdmin']);
    assert.equal(r.body.user.email, 'mary@example.com');
    assert.equal(r.body.user.isSystemAdmin, true);
    const cookie = r.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^carillon_session=/);
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.match(cookie, /Path=\//);
    assert.deepEqual((await call(s.baseUrl, 'GET', '/api/v1/setup')).body, { needsSetup: false });
    // The password is stored as a memory-hard hash, never as given.
    const stored = await s.backend.store.getUserByEmail('mary@example.com');
    assert.match(stored!.passwordHash, /^scrypt\$32768\$8\$1\$/);
    assert.ok(!stored!.passwordHash.includes('correct horse'));
  });

  test('login: right password → 200 token; wrong password and unknown email → the same 401', async () => {
    const ok = await call(s.baseUrl, 'POST', '/api/v1/auth/login', { body: { email: 'MARY@example.com', password: 'correct horse battery' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.user.alias, 'mary');
    const wrong = await call(s.baseUrl, 'POST', '/api/v1/auth/login', { body: { email: 'mary@example.com', password: 'nope nope nope' } });
    const unknown = await call(s.baseUrl, 'POST', '/api/v1/auth/login', { body: { email: 'who@example.com', password: 'nope nope nope' } });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, unknown.body);
    assert.equal(wrong.body.Code, 'Unauthorized');
  });

  test('the session cookie authenticates reads; cookie writes need a same-origin Origin (CSRF)', async () => {
    const login = await call(s.baseUrl, 'POST', '/api/v1/auth/login', { body: { email: 'mary@example.com', password: 'correct horse battery' } });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const me = await call(s.baseUrl, 'GET', '/api/v1/me', { headers: { cookie } });
    assert.equal(me.status, 200);
    assert.equal(me.body.user.alias, 'mary');
    const noOrigin = await call(s.baseUrl, 'POST', '/api/v1/rooms', { headers: { cookie }, body: { name: 'x' } });
    assert.equal(noOrigin.status, 403);
    assert.equal(noOrigin.body.Code, 'Forbidden');
    const evil = await call(s.baseUrl, 'POST', '/api/v1/rooms', { headers: { cookie, origin: 'https://evil.example' }, body: { name: 'x' } });
    assert.equal(evil.status, 403);
    const same = await call(s.baseUrl, 'POST', '/api/v1/rooms', { headers: { cookie, origin: s.baseUrl }, body: { name: 'Cookie room' } });
    assert.equal(same.status, 201, same.text);
    // A cross-site form can send text/plain without a preflight: refused, whatever it holds.
    const form = await call(s.baseUrl, 'POST', '/api/v1/rooms', { headers: { cookie, origin: s.baseUrl, 'content-type': 'text/plain' }, rawBody: '{"name":"x"}' });
    assert.equal(form.status, 415);
    assert.equal(form.body.Code, 'UnsupportedMediaType');
    const rooms = await call(s.baseUrl, 'GET', '/api/v1/rooms', { headers: { cookie } });
    assert.deepEqual(rooms.body.rooms.map((r: { name: string }) => r.name), ['Cookie room']);
  });

  test('logout clears the cookie and revokes the session', async () => {
    const login = await call(s.baseUrl, 'POST', '/api/v1/auth/login', { body: { email: 'mary@example.com', password: 'correct horse battery' } });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const out = await call(s.baseUrl, 'POST', '/api/v1/auth/logout', { headers: { cookie, origin: s.baseUrl } });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /carillon_session=;/);
    assert.equal((await call(s.baseUrl, 'GET', '/api/v1/me', { headers: { cookie } })).status, 401);
  });
});

describe('bad input on every route → 400 naming the field; nothing half-stored', () => {
  let s: TestServer;
  let admin: TestUser;
  let roomId: string;
  let member: TestUser;
  before(async () => {
    s = await startTestServer();
    admin = await setupAdmin(s.baseUrl);
    member = await createUser(s.baseUrl, admin, 'member');
    roomId = await createRoom(s.baseUrl, admin, 'Ops');
  });
  after(() => s.close());

  const user = (over: Record<string, unknown>) => ({ email: 'new@example.com', alias: 'new', displayName: 'New', password: 'long enough pw', ...over });

  const cases: { name: string; method: string; path: () => string; body?: unknown; raw?: string; field: RegExp; code?: string }[] = [
    { name: 'users: malformed JSON', method: 'POST', path: () => '/api/v1/users', raw: '{"email": ', field: /not valid JSON/ },
    { name: 'users: empty body', method: 'POST', path: () => '/api/v1/users', raw: '', field: /empty/ },
    { name: 'users: body is an array', method: 'POST', path: () => '/api/v1/users', body: [1], field: /type object/ },
    { name: 'users: invalid email', method: 'POST', path: () => '/api/v1/users', body: user({ email: 'not-an-email' }), field: /'email' must be a valid email/ },
    { name: 'users: alias with capitals', method: 'POST', path: () => '/api/v1/users', body: user({ alias: 'Mary' }), field: /'alias' may contain only lower-case/ },
    { name: 'users: alias with spaces', method: 'POST', path: () => '/api/v1/users', body: user({ alias: 'a b' }), field: /'alias'/ },
    { name: 'users: reserved alias all', method: 'POST', path: () => '/api/v1/users', body: user({ alias: 'all' }), field: /alias "all" is reserved/ },
    { name: 'users: reserved alias present', method: 'POST', path: () => '/api/v1/users', body: user({ alias: 'present' }), field: /alias "present" is reserved/ },
    { name: 'users: over-long alias', method: 'POST', path: () => '/api/v1/users', body: user({ alias: 'a'.repeat(33) }), field: /'alias' must be at most 32/ },
    { name: 'users: over-long display name', method: 'POST', path: () => '/api/v1/users', body: user({ displayName: 'x'.repeat(101) }), field: /'displayName' must be at most 100/ },
    { name: 'users: blank display name', method: 'POST', path: () => '/api/v1/users', body: user({ displayName: '   ' }), field: /displayName must not be blank/ },
    { name: 'users: short password', method: 'POST', path: () => '/api/v1/users', body: user({ password: 'short' }), field: /'password' must be at least 8/ },
    { name: 'users: password of wrong type', method: 'POST', path: () => '/api/v1/users', body: user({ password: 12345678 }), field: /'password' must be of type string/ },
    { name: 'users: unknown field', method: 'POST', path: () => '/api/v1/users', body: user({ role: 'god' }), field: /unknown field 'role'/ },
    { name: 'users: missing field', method: 'POST', path: () => '/api/v1/users', body: { email: 'a@example.com' }, field: /missing the required field '(alias|displayName|password)'/ },
    { name: 'users: isSystemAdmin as string', method: 'POST', path: () => '/api/v1/users', body: user({ isSystemAdmin: 'true' }), field: /'isSystemAdmin' must be of type boolean/ },
    { name: 'rooms: over-long name', method: 'POST', path: () => '/api/v1/rooms', body: { name: 'r'.repeat(101) }, field: /'name' must be at most 100/ },
    { name: 'rooms: empty name', method: 'POST', path: () => '/api/v1/rooms', body: { name: '' }, field: /'name' must be at least 1/ },
    { name: 'rooms: blank name', method: 'POST', path: () => '/api/v1/rooms', body: { name: '   ' }, field: /name must not be blank/ },
    { name: 'rooms: name of wrong type', method: 'POST', path: () => '/api/v1/rooms', body: { name: 42 }, field: /'name' must be of type string/ },
    { name: 'rooms: unknown field', method: 'POST', path: () => '/api/v1/rooms', body: { name: 'x', id: 'mine' }, field: /unknown field 'id'/ },
    { name: 'room: malformed room id', method: 'GET', path: () => '/api/v1/rooms/not-a-uuid', field: /'roomId' must be a valid uuid/ },
    { name: 'members: neither userId nor email', method: 'POST', path: () => `/api/v1/rooms/${roomId}/members`, body: { role: 'member' }, field: /needs either userId or email/ },
    { name: 'members: invalid email', method: 'POST', path: () => `/api/v1/rooms/${roomId}/members`, body: { email: 'nope' }, field: /'email' must be a valid email/ },
    { name: 'members: bad role', method: 'POST', path: () => `/api/v1/rooms/${roomId}/members`, body: { email: 'member@example.com', role: 'owner' }, field: /'role'/ },
    { name: 'members: unknown field', method: 'POST', path: () => `/api/v1/rooms/${roomId}/members`, body: { email: 'member@example.com', admin: true }, field: /unknown field 'admin'/ },
    { name: 'member role: bad role', method: 'PATCH', path: () => `/api/v1/rooms/${roomId}/members/${member.id}`, body: { role: 'king' }, field: /'role'/ },
    { name: 'member role: malformed user id', method: 'PATCH', path: () => `/api/v1/rooms/${roomId}/members/xyz`, body: { role: 'member' }, field: /'userId' must be a valid uuid/ },
    { name: 'messages: content of wrong type', method: 'POST', path: () => `/api/v1/rooms/${roomId}/messages`, body: { content: 5 }, field: /'content' must be of type string/ },
    { name: 'messages: content array', method: 'POST', path: () => `/api/v1/rooms/${roomId}/messages`, body: { content: ['a'] }, field: /'content' must be of type string/ },
    { name: 'messages: unknown field', method: 'POST', path: () => `/api/v1/rooms/${roomId}/messages`, body: { content: 'a', sender: 'x' }, field: /unknown field 'sender'/ },
    { name: 'messages: blank content', method: 'POST', path: () => `/api/v1/rooms/${roomId}/messages`, body: { content: ' \n\t\u200b ' }, field: /empty or only white space/, code: 'InvalidPayload' },
    { name: 'messages: NUL in content', method: 'POST', path: () => `/api/v1/rooms/${roomId}/messages`, body: { content: 'a\u0000b' }, field: /NUL/, code: 'InvalidPayload' },
    { name: 'messages: lone surrogate', method: 'POST', path: () => `/api/v1/rooms/${roomId}/messages`, raw: '{"content":"a\\ud800b"}', field: /unpaired UTF-16 surrogate/, code: 'InvalidPayload' },
    { name: 'messages: limit 0', method: 'GET', path: () => `/api/v1/rooms/${roomId}/messages?limit=0`, field: /'limit' must be at least 1/ },
    { name: 'messages: limit 101', method: 'GET', path: () => `/api/v1/rooms/${roomId}/messages?limit=101`, field: /'limit' must be at most 100/ },
    { name: 'messages: after not a number', method: 'GET', path: () => `/api/v1/rooms/${roomId}/messages?after=abc`, field: /'after' must be of type integer/ },
    { name: 'messages: unknown query parameter', method: 'GET', path: () => `/api/v1/rooms/${roomId}/messages?since=3`, field: /unknown field 'since'/ },
    { name: 'messages: after and before together', method: 'GET', path: () => `/api/v1/rooms/${roomId}/messages?after=1&before=5`, field: /either after or before/ },
    { name: 'login: missing password', method: 'POST', path: () => '/api/v1/auth/login', body: { email: 'a@example.com' }, field: /missing the required field 'password'/ },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      const usersBefore = (await s.backend.store.listUsers()).length;
      const roomsBefore = (await s.backend.store.listRoomsForUser(admin.id)).length;
      const headers = c.raw !== undefined ? { 'content-type': 'application/json' } : undefined;
      const r = await call(s.baseUrl, c.method, c.path(), { token: admin.token, ...(c.raw !== undefined ? { rawBody: c.raw } : { body: c.body }), ...(headers ? { headers } : {}) });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.Code, c.code ?? 'InvalidRequest');
      assert.match(r.body.Message, c.field);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal((await s.backend.store.listUsers()).length, usersBefore);
      assert.equal((await s.backend.store.listRoomsForUser(admin.id)).length, roomsBefore);
      assert.equal((await s.backend.store.getRoom(roomId))!.lastSeq, 0);
    });
  }

  test('duplicate email or alias → 409 Conflict naming it', async () => {
    const r1 = await call(s.baseUrl, 'POST', '/api/v1/users', { token: admin.token, body: user({ email: 'MEMBER@example.com', alias: 'fresh' }) });
    assert.equal(r1.status, 409);
    assert.match(r1.body.Message, /email is already used/);
    const r2 = await call(s.baseUrl, 'POST', '/api/v1/users', { token: admin.token, body: user({ email: 'fresh@example.com', alias: 'member' }) });
    assert.equal(r2.status, 409);
    assert.match(r2.body.Message, /alias is already taken/);
  });

  test('adding an unknown user or an existing member', async () => {
    const unknown = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/members`, { token: admin.token, body: { email: 'ghost@example.com' } });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.Message, /No user has that email/);
    await addMember(s.baseUrl, admin, roomId, member);
    const again = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/members`, { token: admin.token, body: { email: 'member@example.com' } });
    assert.equal(again.status, 409);
    assert.match(again.body.Message, /already a member/);
  });

  test('unknown routes answer a JSON 404', async () => {
    const r = await call(s.baseUrl, 'GET', '/api/v1/nothing');
    assert.equal(r.status, 404);
    assert.equal(r.body.Code, 'NotFound');
  });
});

describe('messages: formatting, limits and paging', () => {
  let s: TestServer;
  let admin: TestUser;
  let roomId: string;
  before(async () => {
    s = await startTestServer();
    admin = await setupAdmin(s.baseUrl);
    roomId = await createRoom(s.baseUrl, admin, 'Ops');
  });
  after(() => s.close());

  test('a member post returns the whole message and is stored exactly as sent', async () => {
    const r = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: admin.token, body: { content: '/md **Deployed** :tada:' } });
    assert.equal(r.status, 201, r.text);
    const m = r.body.message;
    assert.deepEqual(Object.keys(m).sort(), ['content', 'createdAt', 'deletedAt', 'editedAt', 'html', 'id', 'mentions', 'reactions', 'roomId', 'sender', 'seq']);
    assert.equal(m.editedAt, null);
    assert.equal(m.deletedAt, null);
    assert.deepEqual(m.reactions, []);
    assert.equal(m.content, '/md **Deployed** :tada:');
    assert.equal(m.seq, 1);
    assert.deepEqual(m.sender, { type: 'user', id: admin.id, name: 'Admin' });
    assert.match(m.html, /<strong>Deployed<\/strong>/);
    assert.match(m.html, /🎉/);
  });

  test('4096 code points are accepted (4-byte emoji too); 4097 → 413 PayloadTooLarge, nothing stored', async () => {
    const at = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: admin.token, body: { content: '😀'.repeat(4096) } });
    assert.equal(at.status, 201, at.text.slice(0, 200));
    const before = (await s.backend.store.getRoom(roomId))!.lastSeq;
    const over = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: admin.token, body: { content: 'a'.repeat(4097) } });
    assert.equal(over.status, 413);
    assert.equal(over.body.Code, 'PayloadTooLarge');
    assert.match(over.body.Message, /4097 characters long; the limit is 4096/);
    assert.equal((await s.backend.store.getRoom(roomId))!.lastSeq, before);
  });

  test('paging: latest N, after=, before=, in seq order', async () => {
    const roomId2 = await createRoom(s.baseUrl, admin, 'Paging');
    for (let i = 1; i <= 7; i++) await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId2}/messages`, { token: admin.token, body: { content: `m${i}` } });
    const seqs = async (q: string) => (await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId2}/messages${q}`, { token: admin.token })).body.messages.map((m: { seq: number }) => m.seq);
    assert.deepEqual(await seqs(''), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(await seqs('?limit=3'), [5, 6, 7]);
    assert.deepEqual(await seqs('?after=2&limit=3'), [3, 4, 5]);
    assert.deepEqual(await seqs('?before=3'), [1, 2]);
    assert.deepEqual(await seqs('?after=7'), []);
  });
});

for (const backend of availableBackends()) {
  describe(`concurrency on ${backend}`, () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ backend });
    });
    after(() => s.close());

    test('200 parallel member posts into one room → seqs 1..200, no gap, no duplicate', async () => {
      const admin = await setupAdmin(s.baseUrl);
      const other = await createUser(s.baseUrl, admin, 'other');
      const roomId = await createRoom(s.baseUrl, admin, 'Busy');
      await addMember(s.baseUrl, admin, roomId, other);
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: i % 2 ? admin.token : other.token, body: { content: `parallel ${i}` } }),
        ),
      );
      assert.ok(results.every((r) => r.status === 201), results.find((r) => r.status !== 201)?.text);
      assert.deepEqual(results.map((r) => r.body.message.seq).sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i + 1));
      const stored: number[] = [];
      for (let after = 0; ; ) {
        const page = (await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages?after=${after}&limit=100`, { token: admin.token })).body.messages;
        if (page.length === 0) break;
        stored.push(...page.map((m: { seq: number }) => m.seq));
        after = page[page.length - 1].seq;
      }
      assert.deepEqual(stored, Array.from({ length: 200 }, (_, i) => i + 1));
      assert.equal(new Set(results.map((r) => r.body.message.id)).size, 200);
    });

    test('rendered HTML and content are byte-identical after the round trip through the store', async () => {
      const admin = (await s.backend.store.listUsers())[0]!;
      void admin;
      const token = (await call(s.baseUrl, 'POST', '/api/v1/auth/login', { body: { email: 'admin@example.com', password: 'correct horse battery' } })).body.token;
      const roomId = await createRoom(s.baseUrl, { id: '', email: '', alias: '', token }, 'Round trip');
      const content = '/md # Title\n| a | b |\n|---|---|\n| **x** | ~~y~~ |\n\n```js\nconst x = "<b>";\n```\nDéploiement ✅ 日本語 🎉 :+1: http://example.com\u2028end';
      const posted = (await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token, body: { content } })).body.message;
      const [read] = (await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages`, { token })).body.messages;
      assert.equal(read.content, content);
      assert.equal(read.html, posted.html);
      assert.deepEqual(read, posted);
    });
  });
}

for (const backend of availableBackends()) {
  describe(`read state and notification settings on ${backend}`, () => {
    let s: TestServer;
    let alice: TestUser;
    let bob: TestUser;
    let roomId: string;
    const roomOf = async (u: TestUser, id = roomId) => {
      const list = await call(s.baseUrl, 'GET', '/api/v1/rooms', { token: u.token });
      assert.equal(list.status, 200, list.text);
      const one = await call(s.baseUrl, 'GET', `/api/v1/rooms/${id}`, { token: u.token });
      assert.equal(one.status, 200, one.text);
      const listed = list.body.rooms.find((r: { id: string }) => r.id === id);
      assert.deepEqual(listed, one.body.room, 'the list and the room agree');
      return one.body.room;
    };
    const post = async (u: TestUser, content: string) => {
      const r = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: u.token, body: { content } });
      assert.equal(r.status, 201, r.text);
      return r.body.message.seq as number;
    };
    const read = (u: TestUser, body: unknown, id = roomId) => call(s.baseUrl, 'PUT', `/api/v1/rooms/${id}/read`, { token: u.token, body });
    const settings = (u: TestUser, body: unknown, id = roomId) => call(s.baseUrl, 'PATCH', `/api/v1/rooms/${id}/settings`, { token: u.token, body });

    before(async () => {
      s = await startTestServer({ backend });
      alice = await setupAdmin(s.baseUrl, 'alice');
      bob = await createUser(s.baseUrl, alice, 'bob');
      roomId = await createRoom(s.baseUrl, alice, 'Reading');
      await addMember(s.baseUrl, alice, roomId, bob);
    });
    after(() => s.close());

    test('a room carries the caller\'s read state and settings; defaults: nothing unread, notify mentions, not muted', async () => {
      const room = await roomOf(bob);
      assert.deepEqual(
        { lastSeq: room.lastSeq, lastReadSeq: room.lastReadSeq, unreadCount: room.unreadCount, mentionCount: room.mentionCount, notify: room.notify, muted: room.muted },
        { lastSeq: 0, lastReadSeq: 0, unreadCount: 0, mentionCount: 0, notify: 'mentions', muted: false },
      );
      const created = await call(s.baseUrl, 'POST', '/api/v1/rooms', { token: bob.token, body: { name: 'Fresh' } });
      assert.deepEqual(
        [created.body.room.lastReadSeq, created.body.room.unreadCount, created.body.room.mentionCount, created.body.room.notify, created.body.room.muted],
        [0, 0, 0, 'mentions', false],
      );
    });

    test('counts: unread = others\' messages after lastReadSeq; mentions = those alerting me; posting marks read for its author', async () => {
      await post(alice, 'one');
      await post(alice, 'two @bob');
      await post(alice, 'three');
      await post(alice, '@All four');
      const b = await roomOf(bob);
      assert.deepEqual([b.lastSeq, b.lastReadSeq, b.unreadCount, b.mentionCount], [4, 0, 4, 2]);
      const a = await roomOf(alice);
      assert.deepEqual([a.lastReadSeq, a.unreadCount, a.mentionCount], [4, 0, 0], 'her own posts are read');
      // Bob posts: everything up to his post is read for him; alice has one unread.
      const seq = await post(bob, 'reply');
      assert.deepEqual([(await roomOf(bob)).lastReadSeq, (await roomOf(bob)).unreadCount, (await roomOf(bob)).mentionCount], [seq, 0, 0]);
      assert.deepEqual([(await roomOf(alice)).unreadCount, (await roomOf(alice)).mentionCount], [1, 0]);
    });

    test('PUT read: 200 with the state; lower is a no-op (never backwards); past the end is clamped', async () => {
      const start = (await roomOf(alice)).lastSeq as number;
      assert.equal((await read(alice, { seq: start })).status, 200);
      await post(bob, 'b1 @alice');
      await post(bob, 'b2');
      await post(bob, 'b3 @alice');
      assert.deepEqual([(await roomOf(alice)).unreadCount, (await roomOf(alice)).mentionCount], [3, 2]);
      const r = await read(alice, { seq: start + 1 });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { roomId, lastReadSeq: start + 1, unreadCount: 2, mentionCount: 1, lastSeq: start + 3 });
      const stale = await read(alice, { seq: start - 2 });
      assert.equal(stale.status, 200);
      assert.deepEqual(stale.body, r.body, 'a stale device cannot un-read');
      const past = await read(alice, { seq: 1_000_000 });
      assert.deepEqual(past.body, { roomId, lastReadSeq: start + 3, unreadCount: 0, mentionCount: 0, lastSeq: start + 3 });
      const room = await roomOf(alice);
      assert.deepEqual([room.lastReadSeq, room.unreadCount, room.mentionCount], [start + 3, 0, 0]);
    });

    test('PUT read and PATCH settings: bad input → 400 with a Message naming what to fix', async () => {
      const bad: [string, () => Promise<{ status: number; body: any }>, RegExp][] = [
        ['negative seq', () => read(bob, { seq: -1 }), /'seq' must be at least 0/],
        ['seq as a string', () => read(bob, { seq: '3' }), /'seq' must be of type integer/],
        ['fractional seq', () => read(bob, { seq: 1.5 }), /'seq' must be of type integer/],
        ['missing seq', () => read(bob, {}), /missing the required field 'seq'/],
        ['unknown field', () => read(bob, { seq: 1, userId: alice.id }), /unknown field 'userId'/],
        ['unknown notify', () => settings(bob, { notify: 'loud' }), /'notify' must be one of: all, mentions, none/],
        ['muted as a string', () => settings(bob, { muted: 'yes' }), /'muted' must be of type boolean/],
        ['empty settings', () => settings(bob, {}), /Give notify \(all, mentions or none\), muted \(true or false\), or both/],
        ['another user\'s settings', () => settings(bob, { userId: alice.id, muted: true }), /unknown field 'userId'/],
      ];
      for (const [name, send, message] of bad) {
        const r = await send();
        assert.equal(r.status, 400, `${name}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.Code, 'InvalidRequest', name);
        assert.match(r.body.Message, message, name);
      }
      const room = await roomOf(alice);
      assert.deepEqual([room.notify, room.muted], ['mentions', false], 'nothing changed');
    });

    test('PATCH settings: notify and muted are the caller\'s own, kept, and returned with the room', async () => {
      const all = await settings(bob, { notify: 'all' });
      assert.equal(all.status, 200, all.text);
      assert.deepEqual([all.body.room.id, all.body.room.notify, all.body.room.muted], [roomId, 'all', false]);
      const muted = await settings(bob, { muted: true });
      assert.deepEqual([muted.body.room.notify, muted.body.room.muted], ['all', true], 'a partial change keeps the rest');
      assert.deepEqual([(await roomOf(bob)).notify, (await roomOf(bob)).muted], ['all', true]);
      assert.deepEqual([(await roomOf(alice)).notify, (await roomOf(alice)).muted], ['mentions', false], 'not another member\'s');
      // Muted rooms still count their mentions (so they can be found).
      await post(alice, '@bob while muted');
      assert.ok((await roomOf(bob)).mentionCount >= 1);
      const both = await settings(bob, { notify: 'none', muted: false });
      assert.deepEqual([both.body.room.notify, both.body.room.muted], ['none', false]);
    });

    test(`counting is capped at ${LIMITS.unreadCountCap}: a long-unread room shows the cap, not more`, async () => {
      const busy = await createRoom(s.baseUrl, alice, 'Busy reading');
      await addMember(s.baseUrl, alice, busy, bob);
      const base = { roomId: busy, sender: { type: 'webhook' as const, id: randomUUID(), name: 'Bot' }, content: 'x', html: '<p>x</p>', createdAt: 1 };
      const none = { all: false, present: false, userIds: [] as string[] };
      await Promise.all(
        Array.from({ length: LIMITS.unreadCountCap + 20 }, (_, i) =>
          s.backend.store.appendMessage({ ...base, id: randomUUID(), mentions: i % 100 === 0 ? { ...none, userIds: [bob.id] } : none }),
        ),
      );
      const room = await roomOf(bob, busy);
      assert.equal(room.lastSeq, LIMITS.unreadCountCap + 20);
      assert.equal(room.unreadCount, LIMITS.unreadCountCap);
      // Mentions among the newest cap messages only (seq 21..1020): ids 101, 201, …, 1001 → 10.
      assert.equal(room.mentionCount, 10);
      const r = await read(bob, { seq: LIMITS.unreadCountCap + 10 }, busy);
      assert.deepEqual([r.body.unreadCount, r.body.mentionCount], [10, 0]);
    });
  });
}

describe('OpenAPI, health, readiness and metrics', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('openapi.json documents every route of SPEC 6', async () => {
    const r = await call(s.baseUrl, 'GET', '/api/v1/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.body.openapi, '3.0.3');
    const paths = r.body.paths as Record<string, Record<string, unknown>>;
    const expected: [string, string][] = [
      ['/api/v1/setup', 'post'],
      ['/api/v1/auth/login', 'post'],
      ['/api/v1/auth/logout', 'post'],
      ['/api/v1/me', 'get'],
      ['/api/v1/users', 'post'],
      ['/api/v1/users', 'get'],
      ['/api/v1/rooms', 'post'],
      ['/api/v1/rooms', 'get'],
      ['/api/v1/rooms/{roomId}', 'get'],
      ['/api/v1/rooms/{roomId}/members', 'post'],
      ['/api/v1/rooms/{roomId}/members/{userId}', 'patch'],
      ['/api/v1/rooms/{roomId}/members/{userId}', 'delete'],
      ['/api/v1/rooms/{roomId}/roster', 'get'],
      ['/api/v1/rooms/{roomId}/messages', 'get'],
      ['/api/v1/rooms/{roomId}/messages', 'post'],
      ['/api/v1/rooms/{roomId}/read', 'put'],
      ['/api/v1/rooms/{roomId}/settings', 'patch'],
      ['/api/v1/stream', 'get'],
      ['/healthz', 'get'],
      ['/readyz', 'get'],
    ];
    for (const [p, m] of expected) assert.ok(paths[p]?.[m], `missing ${m.toUpperCase()} ${p}`);
    assert.ok(r.body.components.schemas.Error, 'the {Code, Message} error schema is documented');
  });

  test('a plain GET of the stream (no WebSocket upgrade) → 426 with Upgrade: websocket and what to do', async () => {
    for (const token of [undefined, 'not-a-session']) {
      const r = await call(s.baseUrl, 'GET', '/api/v1/stream', { token });
      assert.equal(r.status, 426, r.text);
      assert.equal(r.headers.get('upgrade'), 'websocket');
      assert.equal(r.body.Code, 'UpgradeRequired');
      assert.match(r.body.Message, /WebSocket/);
    }
  });

  test('healthz and readyz answer 200; metrics are Prometheus text with request counts by route pattern', async () => {
    assert.deepEqual((await call(s.baseUrl, 'GET', '/healthz')).body, { status: 'ok' });
    assert.deepEqual((await call(s.baseUrl, 'GET', '/readyz')).body, { status: 'ready' });
    await call(s.baseUrl, 'GET', `/api/v1/rooms/${randomUUID()}`);
    const m = await fetch(`${s.baseUrl}/metrics`);
    assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
    const text = await m.text();
    assert.match(text, /carillon_http_requests_total\{method="GET",route="\/api\/v1\/rooms\/:roomId",status="401"\} 1/);
    assert.match(text, /carillon_http_request_duration_seconds_bucket/);
    assert.match(text, /process_resident_memory_bytes/);
  });

  test('readyz answers 503 with Retry-After while draining', async () => {
    s.app.carillon.state.draining = true;
    try {
      const r = await call(s.baseUrl, 'GET', '/readyz');
      assert.equal(r.status, 503);
      assert.equal(r.body.Code, 'ServiceUnavailable');
      assert.equal(r.headers.get('retry-after'), '1');
    } finally {
      s.app.carillon.state.draining = false;
    }
  });

  test('security headers on API responses', async () => {
    const r = await call(s.baseUrl, 'GET', '/api/v1/setup');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(r.headers.get('cache-control'), 'no-store');
  });
});
