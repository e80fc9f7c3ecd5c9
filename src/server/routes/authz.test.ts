/**
 * Authorization for every API route × every role (SPEC 6): anonymous → 401, outsider → 404
 * (rooms are not enumerable), member without the role → 403, with the role → 2xx. The system
 * administrator manages users but has no rights in rooms they are not a member of.
 */
import assert from 'node:assert/strict';
import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type TestServer, type TestUser, addMember, call, createRoom, createUser, setupAdmin, startTestServer } from '../../test-support/server.js';

type Role = 'anonymous' | 'outsider' | 'member' | 'roomAdmin' | 'systemAdmin';
const ROLES: Role[] = ['anonymous', 'outsider', 'member', 'roomAdmin', 'systemAdmin'];

interface Ctx {
  s: TestServer;
  users: Record<Exclude<Role, 'anonymous'>, TestUser>;
  roomId: string;
  fresh: () => Promise<TestUser>;
}

interface RouteCase {
  name: string;
  /** Builds the request for one role; may prepare fresh targets so each call is independent. */
  request: (c: Ctx, role: Role) => Promise<{ method: string; path: string; body?: unknown }>;
  expect: Record<Role, [number, string?]>;
}

const roomRule = (ok: number): Record<Role, [number, string?]> => ({
  anonymous: [401, 'Unauthorized'],
  outsider: [404, 'NotFound'],
  systemAdmin: [404, 'NotFound'],
  member: [ok],
  roomAdmin: [ok],
});
const roomAdminRule = (ok: number): Record<Role, [number, string?]> => ({ ...roomRule(ok), member: [403, 'Forbidden'] });
const anyUser = (ok: number): Record<Role, [number, string?]> => ({ anonymous: [401, 'Unauthorized'], outsider: [ok], member: [ok], roomAdmin: [ok], systemAdmin: [ok] });
const sysAdminOnly = (ok: number): Record<Role, [number, string?]> => ({
  anonymous: [401, 'Unauthorized'],
  outsider: [403, 'Forbidden'],
  member: [403, 'Forbidden'],
  roomAdmin: [403, 'Forbidden'],
  systemAdmin: [ok],
});

/** A browser's push subscription to FCM (a known push service), with real keys. */
const pushSubscription = () => ({
  endpoint: `https://fcm.googleapis.com/fcm/send/${randomBytes(12).toString('base64url')}`,
  expirationTime: null,
  keys: { p256dh: createECDH('prime256v1').generateKeys().toString('base64url'), auth: randomBytes(16).toString('base64url') },
});

/** A fresh message in the room (issue 14 routes): the caller's own when they are a member, else someone else's (the other member's). */
const freshMessage = async (c: Ctx, role: Role, own = true): Promise<string> => {
  const author = role === 'roomAdmin' ? (own ? c.users.roomAdmin : c.users.member) : role === 'member' && !own ? c.users.roomAdmin : c.users.member;
  const r = await call(c.s.baseUrl, 'POST', `/api/v1/rooms/${c.roomId}/messages`, { token: author.token, body: { content: 'target' } });
  if (r.status !== 201) throw new Error(`post failed: ${r.status} ${r.text}`);
  return `/api/v1/rooms/${c.roomId}/messages/${r.body.message.id}`;
};

/** One webhook of the room (issue 15 routes), made once by the room administrator and reused (a room has at most 10). */
let sharedWebhook: string | undefined;
const webhookPath = async (c: Ctx): Promise<string> => {
  if (!sharedWebhook) {
    const r = await call(c.s.baseUrl, 'POST', `/api/v1/rooms/${c.roomId}/webhooks`, { token: c.users.roomAdmin.token, body: { name: 'Authz settings' } });
    if (r.status !== 201) throw new Error(`create webhook failed: ${r.status} ${r.text}`);
    sharedWebhook = r.body.id;
  }
  return `/api/v1/rooms/${c.roomId}/webhooks/${sharedWebhook}`;
};

const CASES: RouteCase[] = [
  { name: 'GET /api/v1/me', request: async () => ({ method: 'GET', path: '/api/v1/me' }), expect: anyUser(200) },
  {
    name: 'POST /api/v1/users',
    request: async () => ({ method: 'POST', path: '/api/v1/users', body: { email: `${randomUUID()}@example.com`, alias: `u${randomUUID().slice(0, 8)}`, displayName: 'New', password: 'long enough password' } }),
    expect: sysAdminOnly(201),
  },
  { name: 'GET /api/v1/users', request: async () => ({ method: 'GET', path: '/api/v1/users' }), expect: sysAdminOnly(200) },
  { name: 'POST /api/v1/rooms', request: async () => ({ method: 'POST', path: '/api/v1/rooms', body: { name: 'Another room' } }), expect: anyUser(201) },
  { name: 'GET /api/v1/rooms', request: async () => ({ method: 'GET', path: '/api/v1/rooms' }), expect: anyUser(200) },
  { name: 'GET /api/v1/rooms/:roomId', request: async (c) => ({ method: 'GET', path: `/api/v1/rooms/${c.roomId}` }), expect: roomRule(200) },
  {
    name: 'POST /api/v1/rooms/:roomId/members',
    request: async (c) => ({ method: 'POST', path: `/api/v1/rooms/${c.roomId}/members`, body: { userId: (await c.fresh()).id } }),
    expect: roomAdminRule(201),
  },
  {
    name: 'PATCH /api/v1/rooms/:roomId/members/:userId',
    request: async (c) => {
      const u = await c.fresh();
      await addMember(c.s.baseUrl, c.users.roomAdmin, c.roomId, u);
      return { method: 'PATCH', path: `/api/v1/rooms/${c.roomId}/members/${u.id}`, body: { role: 'administrator' } };
    },
    expect: roomAdminRule(200),
  },
  {
    name: 'DELETE /api/v1/rooms/:roomId/members/:userId',
    request: async (c) => {
      const u = await c.fresh();
      await addMember(c.s.baseUrl, c.users.roomAdmin, c.roomId, u);
      return { method: 'DELETE', path: `/api/v1/rooms/${c.roomId}/members/${u.id}` };
    },
    expect: roomAdminRule(204),
  },
  { name: 'GET /api/v1/rooms/:roomId/roster', request: async (c) => ({ method: 'GET', path: `/api/v1/rooms/${c.roomId}/roster` }), expect: roomRule(200) },
  { name: 'GET /api/v1/rooms/:roomId/messages', request: async (c) => ({ method: 'GET', path: `/api/v1/rooms/${c.roomId}/messages` }), expect: roomRule(200) },
  { name: 'POST /api/v1/rooms/:roomId/messages', request: async (c) => ({ method: 'POST', path: `/api/v1/rooms/${c.roomId}/messages`, body: { content: 'hello' } }), expect: roomRule(201) },
  { name: 'GET /api/v1/rooms/:roomId/messages/:messageId', request: async (c, role) => ({ method: 'GET', path: await freshMessage(c, role, false) }), expect: roomRule(200) },
  { name: 'PATCH /api/v1/rooms/:roomId/messages/:messageId (one\'s own)', request: async (c, role) => ({ method: 'PATCH', path: await freshMessage(c, role), body: { content: 'edited' } }), expect: roomRule(200) },
  {
    name: 'PATCH /api/v1/rooms/:roomId/messages/:messageId (someone else\'s)',
    request: async (c, role) => ({ method: 'PATCH', path: await freshMessage(c, role, false), body: { content: 'edited' } }),
    expect: { ...roomRule(200), member: [403, 'Forbidden'], roomAdmin: [403, 'Forbidden'] },
  },
  { name: 'DELETE /api/v1/rooms/:roomId/messages/:messageId (one\'s own)', request: async (c, role) => ({ method: 'DELETE', path: await freshMessage(c, role) }), expect: roomRule(204) },
  { name: 'DELETE /api/v1/rooms/:roomId/messages/:messageId (someone else\'s)', request: async (c, role) => ({ method: 'DELETE', path: await freshMessage(c, role, false) }), expect: roomAdminRule(204) },
  { name: 'GET /api/v1/rooms/:roomId/messages/:messageId/edits (one\'s own)', request: async (c, role) => ({ method: 'GET', path: `${await freshMessage(c, role)}/edits` }), expect: roomRule(200) },
  { name: 'GET /api/v1/rooms/:roomId/messages/:messageId/edits (someone else\'s)', request: async (c, role) => ({ method: 'GET', path: `${await freshMessage(c, role, false)}/edits` }), expect: roomAdminRule(200) },
  { name: 'PUT /api/v1/rooms/:roomId/messages/:messageId/reactions/:emoji', request: async (c, role) => ({ method: 'PUT', path: `${await freshMessage(c, role, false)}/reactions/%E2%9C%85` }), expect: roomRule(200) },
  {
    name: 'DELETE /api/v1/rooms/:roomId/messages/:messageId/reactions/:emoji',
    request: async (c, role) => {
      const path = `${await freshMessage(c, role, false)}/reactions/white_check_mark`;
      if (role === 'member' || role === 'roomAdmin') await call(c.s.baseUrl, 'PUT', path, { token: c.users[role].token });
      return { method: 'DELETE', path };
    },
    expect: roomRule(200),
  },
  {
    name: 'PATCH /api/v1/rooms/:roomId/webhooks/:webhookId (settings)',
    request: async (c) => ({ method: 'PATCH', path: await webhookPath(c), body: { settings: { ratePerSecond: 2, burst: 3, allowBroadcastMentions: false } } }),
    expect: roomAdminRule(200),
  },
  {
    name: 'POST /api/v1/rooms/:roomId/webhooks/:webhookId/regenerate (keepOldUrlForHours)',
    request: async (c) => ({ method: 'POST', path: `${await webhookPath(c)}/regenerate`, body: { keepOldUrlForHours: 1 } }),
    expect: roomAdminRule(200),
  },
  { name: 'GET /api/v1/rooms/:roomId/webhooks/:webhookId/deliveries', request: async (c) => ({ method: 'GET', path: `${await webhookPath(c)}/deliveries` }), expect: roomAdminRule(200) },
  { name: 'POST /api/v1/rooms/:roomId/webhooks/:webhookId/test', request: async (c) => ({ method: 'POST', path: `${await webhookPath(c)}/test` }), expect: roomAdminRule(200) },
  { name: 'GET /api/v1/rooms/:roomId/audit', request: async (c) => ({ method: 'GET', path: `/api/v1/rooms/${c.roomId}/audit` }), expect: roomAdminRule(200) },
  { name: 'PUT /api/v1/rooms/:roomId/read', request: async (c) => ({ method: 'PUT', path: `/api/v1/rooms/${c.roomId}/read`, body: { seq: 1 } }), expect: roomRule(200) },
  { name: 'PATCH /api/v1/rooms/:roomId/settings', request: async (c) => ({ method: 'PATCH', path: `/api/v1/rooms/${c.roomId}/settings`, body: { notify: 'all' } }), expect: roomRule(200) },
  { name: 'GET /api/v1/push/public-key', request: async () => ({ method: 'GET', path: '/api/v1/push/public-key' }), expect: anyUser(200) },
  { name: 'POST /api/v1/push-subscriptions', request: async () => ({ method: 'POST', path: '/api/v1/push-subscriptions', body: pushSubscription() }), expect: anyUser(201) },
  {
    name: 'DELETE /api/v1/push-subscriptions (one\'s own)',
    request: async (c, role) => {
      const sub = pushSubscription();
      if (role !== 'anonymous') await call(c.s.baseUrl, 'POST', '/api/v1/push-subscriptions', { token: c.users[role].token, body: sub });
      return { method: 'DELETE', path: '/api/v1/push-subscriptions', body: { endpoint: sub.endpoint } };
    },
    expect: anyUser(204),
  },
  {
    name: 'POST /api/v1/setup (already set up)',
    request: async () => ({ method: 'POST', path: '/api/v1/setup', body: { email: 'late@example.com', alias: 'late', displayName: 'Late', password: 'long enough password' } }),
    expect: { anonymous: [409, 'SetupAlreadyDone'], outsider: [409, 'SetupAlreadyDone'], member: [409, 'SetupAlreadyDone'], roomAdmin: [409, 'SetupAlreadyDone'], systemAdmin: [409, 'SetupAlreadyDone'] },
  },
];

describe('authorization: every route × every role', () => {
  let c: Ctx;
  let n = 0;
  before(async () => {
    const s = await startTestServer();
    const systemAdmin = await setupAdmin(s.baseUrl);
    const roomAdmin = await createUser(s.baseUrl, systemAdmin, 'roomadmin');
    const member = await createUser(s.baseUrl, systemAdmin, 'member');
    const outsider = await createUser(s.baseUrl, systemAdmin, 'outsider');
    const roomId = await createRoom(s.baseUrl, roomAdmin, 'Ops');
    await addMember(s.baseUrl, roomAdmin, roomId, member);
    c = { s, users: { systemAdmin, roomAdmin, member, outsider }, roomId, fresh: () => createUser(s.baseUrl, systemAdmin, `fresh${++n}`) };
  });
  after(() => c.s.close());

  for (const rc of CASES) {
    for (const role of ROLES) {
      const [status, code] = rc.expect[role];
      test(`${rc.name} as ${role} → ${status}${code ? ` ${code}` : ''}`, async () => {
        const req = await rc.request(c, role);
        const token = role === 'anonymous' ? undefined : c.users[role].token;
        const r = await call(c.s.baseUrl, req.method, req.path, { token, body: req.body });
        assert.equal(r.status, status, r.text);
        if (code) {
          assert.equal(r.body?.Code, code, r.text);
          assert.equal(typeof r.body?.Message, 'string');
          assert.ok(r.body.Message.length > 10);
          assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
        }
      });
    }
  }

  test('a room id that does not exist answers 404 like a room one is not in (no enumeration)', async () => {
    const r1 = await call(c.s.baseUrl, 'GET', `/api/v1/rooms/${randomUUID()}`, { token: c.users.outsider.token });
    const r2 = await call(c.s.baseUrl, 'GET', `/api/v1/rooms/${c.roomId}`, { token: c.users.outsider.token });
    assert.equal(r1.status, 404);
    assert.deepEqual(r1.body, r2.body);
  });

  test('a removed member loses access at once', async () => {
    const u = await c.fresh();
    await addMember(c.s.baseUrl, c.users.roomAdmin, c.roomId, u);
    assert.equal((await call(c.s.baseUrl, 'GET', `/api/v1/rooms/${c.roomId}/messages`, { token: u.token })).status, 200);
    assert.equal((await call(c.s.baseUrl, 'DELETE', `/api/v1/rooms/${c.roomId}/members/${u.id}`, { token: c.users.roomAdmin.token })).status, 204);
    const r = await call(c.s.baseUrl, 'GET', `/api/v1/rooms/${c.roomId}/messages`, { token: u.token });
    assert.equal(r.status, 404);
    assert.equal(r.body.Code, 'NotFound');
  });

  test('a member may leave (remove themselves) but not others', async () => {
    const u = await c.fresh();
    await addMember(c.s.baseUrl, c.users.roomAdmin, c.roomId, u);
    assert.equal((await call(c.s.baseUrl, 'DELETE', `/api/v1/rooms/${c.roomId}/members/${u.id}`, { token: u.token })).status, 204);
  });

  test('the last administrator cannot be demoted or removed (409)', async () => {
    const roomId = await createRoom(c.s.baseUrl, c.users.member, 'Solo');
    const demote = await call(c.s.baseUrl, 'PATCH', `/api/v1/rooms/${roomId}/members/${c.users.member.id}`, { token: c.users.member.token, body: { role: 'member' } });
    assert.equal(demote.status, 409);
    assert.equal(demote.body.Code, 'Conflict');
    assert.match(demote.body.Message, /at least one administrator/);
    const leave = await call(c.s.baseUrl, 'DELETE', `/api/v1/rooms/${roomId}/members/${c.users.member.id}`, { token: c.users.member.token });
    assert.equal(leave.status, 409);
  });

  test('read state and settings are one\'s own: a non-member gets 404 and changes nothing; a member changes only their own', async () => {
    const [a, b, outsider] = [await c.fresh(), await c.fresh(), await c.fresh()];
    const roomId = await createRoom(c.s.baseUrl, a, 'Private reading');
    await addMember(c.s.baseUrl, a, roomId, b);
    for (let i = 0; i < 3; i++) await call(c.s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: b.token, body: { content: `m${i} @${a.alias}` } });
    const before = (await call(c.s.baseUrl, 'GET', `/api/v1/rooms/${roomId}`, { token: a.token })).body.room;
    assert.deepEqual([before.unreadCount, before.mentionCount, before.notify, before.muted], [3, 3, 'mentions', false]);
    // An outsider (also the system administrator, who is no member): 404 like any room route, nothing changed.
    for (const who of [outsider, c.users.systemAdmin]) {
      for (const [method, path, body] of [['PUT', 'read', { seq: 3 }], ['PATCH', 'settings', { muted: true }]] as const) {
        const r = await call(c.s.baseUrl, method, `/api/v1/rooms/${roomId}/${path}`, { token: who.token, body });
        assert.equal(r.status, 404, r.text);
        assert.equal(r.body.Code, 'NotFound');
        assert.match(r.body.Message, /not a member/);
      }
    }
    // A room that does not exist answers the same.
    const none = await call(c.s.baseUrl, 'PUT', `/api/v1/rooms/${randomUUID()}/read`, { token: a.token, body: { seq: 1 } });
    assert.equal(none.status, 404);
    // b reads and mutes: only b's membership changes.
    assert.equal((await call(c.s.baseUrl, 'PUT', `/api/v1/rooms/${roomId}/read`, { token: b.token, body: { seq: 3 } })).status, 200);
    assert.equal((await call(c.s.baseUrl, 'PATCH', `/api/v1/rooms/${roomId}/settings`, { token: b.token, body: { muted: true, notify: 'none' } })).status, 200);
    const after = (await call(c.s.baseUrl, 'GET', `/api/v1/rooms/${roomId}`, { token: a.token })).body.room;
    assert.deepEqual([after.lastReadSeq, after.unreadCount, after.mentionCount, after.notify, after.muted], [before.lastReadSeq, 3, 3, 'mentions', false]);
    // There is no way to name another user: the body takes no userId.
    const other = await call(c.s.baseUrl, 'PATCH', `/api/v1/rooms/${roomId}/settings`, { token: b.token, body: { userId: a.id, muted: true } });
    assert.equal(other.status, 400);
    assert.match(other.body.Message, /unknown field 'userId'/);
  });

  test('a logged-out token no longer works; logout needs a session', async () => {
    const u = await c.fresh();
    assert.equal((await call(c.s.baseUrl, 'POST', '/api/v1/auth/logout')).status, 401);
    assert.equal((await call(c.s.baseUrl, 'POST', '/api/v1/auth/logout', { token: u.token })).status, 204);
    const me = await call(c.s.baseUrl, 'GET', '/api/v1/me', { token: u.token });
    assert.equal(me.status, 401);
    assert.equal(me.body.Code, 'Unauthorized');
  });

  test('a malformed Authorization header is 401, not anonymous access', async () => {
    const r = await call(c.s.baseUrl, 'GET', '/api/v1/me', { headers: { authorization: 'Basic abc' } });
    assert.equal(r.status, 401);
    assert.match(r.body.Message, /Bearer/);
  });
});
