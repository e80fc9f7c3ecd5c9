/**
 * RELIABILITY F15: another process holds SQLite's write lock (an operator's `sqlite3` shell in a
 * transaction, a backup tool). On the server's SQLite (messages committed by the writer thread):
 * a webhook post waits for the lock as long as busy_timeout, then answers 503 with Retry-After and
 * stores nothing; the server keeps answering meanwhile (reads do not need the lock, and nothing
 * waits for it on the event loop); once the lock is released, posts are stored again and the
 * delivery log, whose writes waited on timers meanwhile, has every attempt.
 *
 * The lock is held by a connection in this process's main thread, as an outside process would hold
 * it: SQLite locks the file the same way for both.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { type TestServer, type TestUser, call, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import { FakeClock, type TestWebhook, createWebhook, portOf, rawRequest, storedMessages } from '../../test-support/webhooks.js';

describe('SQLite write lock held by another process (RELIABILITY F15)', { timeout: 60_000 }, () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 5, 9, 0, 0));
  let s: TestServer;
  let admin: TestUser;
  let roomId: string;
  let hook: TestWebhook;

  before(async () => {
    s = await startTestServer({ backend: 'sqlite', clock });
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

  test('a post waits for the lock, then answers 503 with Retry-After and stores nothing; the server answers meanwhile; after the release posts are stored and every attempt is in the delivery log', async () => {
    const first = await post('before the lock');
    assert.equal(first.status, 200, first.text);

    const other = new BetterSqlite3(join(s.backend.dataDir, 'carillon.db'));
    let locked: Awaited<ReturnType<typeof post>>;
    try {
      other.exec('begin exclusive');
      let settled = false;
      const waiting = post('while locked').finally(() => (settled = true));
      // The event loop is free while the post waits for the lock: history, the room list and
      // readiness are answered before the post is.
      const history = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages`, { token: admin.token });
      assert.equal(history.status, 200, history.text);
      assert.deepEqual(history.body.messages.map((m: { content: string }) => m.content), ['before the lock']);
      assert.equal((await call(s.baseUrl, 'GET', '/api/v1/rooms', { token: admin.token })).status, 200);
      assert.equal(settled, false, 'the post is still waiting for the lock');
      locked = await waiting;
    } finally {
      other.exec('rollback');
      other.close();
    }
    assert.equal(locked.status, 503, locked.text);
    assert.equal(locked.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(JSON.parse(locked.text).Code, 'ServiceUnavailable');
    assert.match(JSON.parse(locked.text).Message, /\w+ \w+/);
    assert.ok(Number(locked.headers['retry-after']) >= 1, `Retry-After: ${locked.headers['retry-after']}`);

    const again = await post('after the release');
    assert.equal(again.status, 200, again.text);
    assert.deepEqual((await storedMessages(s.backend.store, roomId)).map((m) => [m.seq, m.content]), [
      [1, 'before the lock'],
      [2, 'after the release'],
    ]);
    // The log's writes waited on timers while the lock was held; none was dropped.
    const log = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/webhooks/${hook.id}/deliveries`, { token: admin.token });
    assert.equal(log.status, 200, log.text);
    assert.deepEqual(log.body.deliveries.map((d: { status: number }) => d.status), [200, 503, 200]);
    assert.equal(s.logs.filter((l) => l.includes('rows could not be written')).length, 0);
  });
});
