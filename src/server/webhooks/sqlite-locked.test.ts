/**
 * RELIABILITY F15: another process holds SQLite's write lock (an operator's `sqlite3` shell in a
 * transaction, a backup tool). Writes wait for it on timers, never in SQLite's busy handler on the
 * event loop, so the server keeps answering meanwhile (reads do not need the lock); a write that
 * gets it within busy_timeout lands; a webhook post that does not answers 503 with Retry-After and
 * stores nothing; once the lock is released posts are stored again, and the delivery log has every
 * attempt. On the server's SQLite (messages committed by the writer thread) and without that
 * thread (sqlite-inline: messages committed on the main connection).
 *
 * The lock is held by a connection in this process's main thread, as an outside process would hold
 * it: SQLite locks the file the same way for both.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { BackendName } from '../../test-support/backends.js';
import { type ApiResponse, type TestServer, type TestUser, call, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import { FakeClock, type TestWebhook, createWebhook, portOf, rawRequest, storedMessages } from '../../test-support/webhooks.js';

for (const backend of ['sqlite', 'sqlite-inline'] satisfies BackendName[]) describe(`SQLite write lock held by another process (RELIABILITY F15; ${backend})`, { timeout: 60_000 }, () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 5, 9, 0, 0));
  let s: TestServer;
  let admin: TestUser;
  let roomId: string;
  let hook: TestWebhook;

  before(async () => {
    s = await startTestServer({ backend, clock });
    admin = await setupAdmin(s.baseUrl);
    roomId = await createRoom(s.baseUrl, admin, 'Locked');
    hook = await createWebhook(s, admin, roomId, 'Nightly');
  });
  after(() => s.close());

  const post = (content: string) => {
    // One post a second is the webhook's rate: the clock moves on between posts.
    clock.advance(1500);
    return rawRequest(portOf(s), { path: hook.path, body: JSON.stringify({ Content: content }) });
  };

  const lockFile = () => {
    const other = new BetterSqlite3(join(s.backend.dataDir, 'carillon.db'));
    other.exec('begin exclusive');
    return other;
  };

  test('held for a moment: a webhook post and an API write wait for it on timers while reads are answered, then both land', async () => {
    const other = lockFile();
    const settled: string[] = [];
    let posted: ReturnType<typeof post>;
    let created: Promise<ApiResponse>;
    try {
      posted = post('waited for the lock').finally(() => settled.push('post'));
      created = call(s.baseUrl, 'POST', '/api/v1/rooms', { token: admin.token, body: { name: 'Made while locked' } }).finally(() => settled.push('room'));
      // Were the wait in SQLite's busy handler, it would hold the event loop (these reads with it)
      // until the writes gave up.
      for (let i = 0; i < 3; i++) {
        const history = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages`, { token: admin.token });
        assert.equal(history.status, 200, history.text);
        assert.equal((await call(s.baseUrl, 'GET', '/readyz')).status, 200);
      }
      assert.deepEqual(settled, [], 'the writes wait for the lock');
    } finally {
      other.exec('rollback');
      other.close();
    }
    const [p, r] = await Promise.all([posted, created]);
    assert.equal(p.status, 200, p.text);
    assert.equal(r.status, 201, r.text);
    assert.ok((await storedMessages(s.backend.store, roomId)).some((m) => m.content === 'waited for the lock'));
  });

  test('held past busy_timeout: a post and an API change answer 503 with Retry-After and store nothing; reads are answered meanwhile; after the release posts are stored and every attempt is in the delivery log', async () => {
    const first = await post('before the lock');
    assert.equal(first.status, 200, first.text);
    const before = (await storedMessages(s.backend.store, roomId)).map((m) => m.content);
    // The log rows so far are written now (reading the log flushes it), not while the lock is held.
    assert.equal((await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/webhooks/${hook.id}/deliveries`, { token: admin.token })).status, 200);

    const other = lockFile();
    let locked: Awaited<ReturnType<typeof post>>;
    let roomWhileLocked: Promise<ApiResponse>;
    let refused: ApiResponse;
    try {
      let settled = false;
      const waiting = post('while locked').finally(() => (settled = true));
      roomWhileLocked = call(s.baseUrl, 'POST', '/api/v1/rooms', { token: admin.token, body: { name: 'Never made' } });
      // The event loop is free while the post waits for the lock: history, the room list and
      // readiness are answered before the post is.
      const history = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages`, { token: admin.token });
      assert.equal(history.status, 200, history.text);
      assert.deepEqual(history.body.messages.map((m: { content: string }) => m.content), before);
      assert.equal((await call(s.baseUrl, 'GET', '/api/v1/rooms', { token: admin.token })).status, 200);
      assert.equal(settled, false, 'the post is still waiting for the lock');
      // Both wait up to busy_timeout from when they began; the lock is held until both have given up.
      [locked, refused] = await Promise.all([waiting, roomWhileLocked]);
    } finally {
      other.exec('rollback');
      other.close();
    }
    assert.equal(locked.status, 503, locked.text);
    assert.equal(locked.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(JSON.parse(locked.text).Code, 'ServiceUnavailable');
    assert.match(JSON.parse(locked.text).Message, /\w+ \w+/);
    assert.ok(Number(locked.headers['retry-after']) >= 1, `Retry-After: ${locked.headers['retry-after']}`);

    // An API change waited as long, and was refused the same way.
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.body.Code, 'ServiceUnavailable', refused.text);
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    const rooms = await call(s.baseUrl, 'GET', '/api/v1/rooms', { token: admin.token });
    assert.equal(JSON.stringify(rooms.body).includes('Never made'), false, 'nothing of it was stored');

    const again = await post('after the release');
    assert.equal(again.status, 200, again.text);
    const stored = await storedMessages(s.backend.store, roomId);
    assert.deepEqual(stored.map((m) => m.content), [...before, 'after the release'], 'nothing of the 503 was stored');
    assert.deepEqual(stored.map((m) => m.seq), stored.map((_, i) => i + 1), 'no seq was taken by it');
    // The log's writes waited on timers while the lock was held; none was dropped.
    const log = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/webhooks/${hook.id}/deliveries`, { token: admin.token });
    assert.equal(log.status, 200, log.text);
    assert.deepEqual(log.body.deliveries.map((d: { status: number }) => d.status), [200, 503, 200, 200]);
    assert.equal(s.logs.filter((l) => l.includes('rows could not be written')).length, 0);
  });
});
