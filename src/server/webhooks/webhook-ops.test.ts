/**
 * Webhook operations (issue 15, OPS-2) on a real server over HTTP and WebSocket, on SQLite and
 * PostgreSQL: the delivery log (content, order, the cap of 100, no token or body in it), "Send test
 * message", failure notices (once per hour, by an injected clock; only administrators get the
 * frame) and the audit trail (API and command line). Two nodes on one PostgreSQL database:
 * webhook-ops-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { orderedId } from '../ids.js';
import { webhookCommands } from '../../cli/webhook-commands.js';
import { loadConfig } from '../config.js';
import { availableBackends } from '../../test-support/backends.js';
import { type TestServer, type TestUser, TEST_SECRET, addMember, call, createRoom, createUser, setupAdmin, startTestServer } from '../../test-support/server.js';
import { StreamClient } from '../../test-support/stream-client.js';
import { FakeClock, type TestWebhook, createWebhook, portOf, rawRequest, regenerateWebhook, toTestWebhook } from '../../test-support/webhooks.js';
import { DELIVERY_LOG_SIZE, FAILURE_THRESHOLD } from './delivery-log.js';
import { TEST_MESSAGE } from './webhook-ops.js';
import { SERVER_ACTOR_NAME } from './webhook-service.js';

// 'sqlite-inline' too: without the writer thread, SQLite writes the delivery log on a connection of
// the main thread (webhook-ops-store.ts); with it, in the writer thread (sqlite-append-worker.ts).
for (const backend of availableBackends({ sqliteInline: true })) {
  describe(`webhook operations (${backend})`, { timeout: 120_000 }, () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 5, 9, 0, 0));
    let s: TestServer;
    let port: number;
    let admin: TestUser;
    let coAdmin: TestUser;
    let member: TestUser;
    let roomId: string;

    before(async () => {
      s = await startTestServer({ backend, clock });
      port = portOf(s);
      admin = await setupAdmin(s.baseUrl);
      coAdmin = await createUser(s.baseUrl, admin, 'coadmin', 'Co Admin');
      member = await createUser(s.baseUrl, admin, 'member', 'Mem Ber');
      roomId = await createRoom(s.baseUrl, admin, 'Ops');
      await addMember(s.baseUrl, admin, roomId, coAdmin, 'administrator');
      await addMember(s.baseUrl, admin, roomId, member);
    });
    after(() => s.close());

    const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) => rawRequest(port, { path, body, headers });
    const deliveries = async (hook: { id: string }, who: TestUser = admin) => {
      const r = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/webhooks/${hook.id}/deliveries`, { token: who.token });
      assert.equal(r.status, 200, r.text);
      return r;
    };
    const listed = async (hookId: string) => {
      const r = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token });
      assert.equal(r.status, 200, r.text);
      return r.body.webhooks.find((w: { id: string }) => w.id === hookId);
    };

    test('the log holds every attempt on the URL, newest first: 200, 400, 413 (by Content-Length and by Content), 429, and 404 for the URL before a regenerate; not 403s, never a token or a body', async () => {
      const hook = await createWebhook(s, admin, roomId, 'Logged');
      const marker = 'BODY-OF-A-FAILED-POST-7c1e';
      const sent: { status: number; code: string | null; bytes: number; at: number }[] = [];
      const send = async (body: string | Buffer, expect: number, headers: Record<string, string> = {}, path = hook.path) => {
        const res = await post(path, body, headers);
        assert.equal(res.status, expect, res.text);
        sent.push({ status: expect, code: expect === 200 ? null : res.json.Code, bytes: headers['Content-Length'] ? Number(headers['Content-Length']) : Buffer.byteLength(body), at: clock.now() });
        return res;
      };
      const ok = await send(JSON.stringify({ Content: 'deploy finished' }), 200);
      clock.advance(1000);
      await send(`{"Content": "${marker}"`, 400);
      clock.advance(1000);
      await send(JSON.stringify({ Content: `${marker} ${'x'.repeat(4100)}` }), 413);
      clock.advance(1000);
      // Refused from its Content-Length, before the body is read: the size logged is the declared one.
      await send('', 413, { 'Content-Length': String(70 * 1024) });
      clock.advance(1000);
      await send(JSON.stringify({ Content: 'first' }), 200);
      await send(JSON.stringify({ Content: `${marker} too soon` }), 429);
      // A wrong token names no webhook: not logged.
      const wrong = await post(hook.path.replace(hook.token, 'A'.repeat(72)), JSON.stringify({ Content: marker }));
      assert.equal(wrong.status, 403);
      clock.advance(1000);
      const fresh = await regenerateWebhook(s, admin, roomId, hook.id);
      await send(JSON.stringify({ Content: `${marker} old url` }), 404);

      const r = await deliveries(fresh);
      const got = r.body.deliveries as { id: string; at: number; status: number; code: string | null; bytes: number; latencyMs: number; messageId: string | null; format: string }[];
      assert.deepEqual(
        got.map((d) => [d.status, d.code, d.bytes, d.at, d.format]),
        [...sent].reverse().map((d) => [d.status, d.code, d.bytes, d.at, 'chime']),
      );
      assert.deepEqual(Object.keys(got[0]!).sort(), ['at', 'bytes', 'code', 'format', 'id', 'latencyMs', 'messageId', 'status']);
      assert.equal(got.at(-1)!.messageId, ok.json.MessageId, 'a 200 links its message');
      assert.ok(got.filter((d) => d.status !== 200).every((d) => d.messageId === null));
      assert.ok(got.every((d) => d.latencyMs >= 0 && d.latencyMs < 10_000));
      assert.deepEqual([...got].sort((a, b) => (a.id < b.id ? 1 : -1)).map((d) => d.id), got.map((d) => d.id), 'ids are time-ordered');
      for (const secret of [hook.token, fresh.token, marker, 'deploy finished']) assert.ok(!r.text.includes(secret), `the log must not contain ${secret.slice(0, 12)}…`);
      // …nor does the database.
      const rows = JSON.stringify(await s.backend.store.webhookOps.listDeliveries(hook.id, 1000));
      for (const secret of [hook.token, fresh.token, marker]) assert.ok(!rows.includes(secret));
    });

    test(`each webhook keeps its newest ${DELIVERY_LOG_SIZE} attempts`, async () => {
      const hook = await createWebhook(s, admin, roomId, 'Busy');
      const ids: string[] = [];
      for (let i = 0; i < DELIVERY_LOG_SIZE + 7; i++) {
        clock.advance(1000);
        const res = await post(hook.path, JSON.stringify({ Content: `post ${i}` }));
        assert.equal(res.status, 200, res.text);
        ids.push(res.json.MessageId);
      }
      const got = (await deliveries(hook)).body.deliveries as { messageId: string }[];
      assert.equal(got.length, DELIVERY_LOG_SIZE);
      assert.deepEqual(got.map((d) => d.messageId), ids.slice(7).reverse());
      assert.equal((await s.backend.store.webhookOps.listDeliveries(hook.id, 1000)).length, DELIVERY_LOG_SIZE, 'older rows are deleted, not only hidden');
    });

    // SQLite only: one write lock per file. The writer thread waits for it there; the main thread's
    // log connection (sqlite-inline) retries after timers.
    if (backend !== 'postgres') test('a log write never holds the event loop while SQLite\'s write lock is taken: it waits on a timer, then writes', async () => {
      const hook = await createWebhook(s, admin, roomId, 'Locked out');
      // Another connection (here, in this thread) holds the write lock, as the message writer does through a commit.
      const other = new BetterSqlite3(join(s.backend.dataDir, 'carillon.db'));
      other.exec('begin immediate');
      const row = { id: orderedId(clock.now()), webhookId: hook.id, at: clock.now(), status: 200, code: null, bytes: 20, latencyMs: 1.5, messageId: null, format: 'chime' as const };
      let settled = false;
      let write: Promise<void>;
      try {
        write = s.backend.store.webhookOps.recordDeliveries([row], [], DELIVERY_LOG_SIZE).finally(() => (settled = true));
        // Waiting in SQLite's busy handler would block this thread, and these timers with it, until
        // the write failed: the lock could never be released. They run, and the write waits for them.
        for (let tick = 0; tick < 5; tick++) {
          await new Promise((r) => setTimeout(r, 20));
          assert.equal(settled, false, 'the write waits while the lock is held');
        }
      } finally {
        other.exec('commit');
        other.close();
      }
      await write;
      assert.deepEqual((await s.backend.store.webhookOps.listDeliveries(hook.id, 10)).map((d) => d.id), [row.id]);
    });

    test('answers never wait for the log: with its writes stalled, posts are answered, and the rows are written once the store answers again', async () => {
      const hook = await createWebhook(s, admin, roomId, 'Unhurried');
      const ops = s.backend.store.webhookOps;
      const original = ops.recordDeliveries.bind(ops);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let stalled = 0;
      ops.recordDeliveries = async (...args) => {
        stalled++;
        await gate;
        return original(...args);
      };
      try {
        for (let i = 0; i < 3; i++) {
          clock.advance(1000);
          assert.equal((await post(hook.path, JSON.stringify({ Content: `while stalled ${i}` }))).status, 200);
          // Let the 200 ms flush timer fire: the write starts, and hangs.
          await new Promise((r) => setTimeout(r, 250));
        }
        assert.ok(stalled >= 1, 'a write was under way (and stalled) while the posts were answered');
      } finally {
        ops.recordDeliveries = original;
        release();
      }
      const got = (await deliveries(hook)).body.deliveries as { status: number }[];
      assert.deepEqual(got.map((d) => d.status), [200, 200, 200]);
    });

    test('attempts on the other formats\' URLs are logged with their format (/slack, with and without a trailing slash)', async () => {
      const hook = await createWebhook(s, admin, roomId, 'Slacky');
      const [path, query] = hook.path.split('?');
      const answers: number[] = [];
      for (const suffix of ['/slack', '/slack/']) {
        clock.advance(1000);
        answers.push((await post(`${path}${suffix}?${query}`, JSON.stringify({ text: 'from a Slack tool' }), { 'Content-Type': 'application/json' })).status);
      }
      const got = (await deliveries(hook)).body.deliveries as { status: number; format: string; messageId: string | null }[];
      assert.deepEqual(got.map((d) => [d.format, d.status]), answers.reverse().map((st) => ['slack', st]));
      assert.ok(got.every((d) => (d.status === 200) === (d.messageId !== null)));
    });

    test('Send test message posts through the webhook\'s own pipeline: stored, logged as "test", and it spends a token of its rate limit', async () => {
      const hook = await createWebhook(s, admin, roomId, 'Tested');
      clock.advance(1000);
      const first = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks/${hook.id}/test`, { token: coAdmin.token });
      assert.equal(first.status, 200, first.text);
      assert.equal(typeof first.body.messageId, 'string');
      assert.deepEqual([first.body.delivery.status, first.body.delivery.code, first.body.delivery.format, first.body.delivery.messageId], [200, null, 'test', first.body.messageId]);
      const m = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages/${first.body.messageId}`, { token: member.token });
      assert.equal(m.status, 200);
      assert.equal(m.body.message.content, TEST_MESSAGE);
      assert.deepEqual(m.body.message.sender, { type: 'webhook', id: hook.id, name: 'Tested' });
      // The token is spent: a real post right after is throttled, and so is another test.
      assert.equal((await post(hook.path, JSON.stringify({ Content: 'right after' }))).status, 429);
      const second = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks/${hook.id}/test`, { token: admin.token });
      assert.equal(second.status, 200, second.text);
      assert.equal(second.body.messageId, null);
      assert.deepEqual([second.body.delivery.status, second.body.delivery.code, second.body.delivery.format], [429, 'Throttled', 'test']);
      const log = (await deliveries(hook)).body.deliveries as { id: string; format: string; status: number }[];
      assert.deepEqual(log.map((d) => [d.format, d.status]), [['test', 429], ['chime', 429], ['test', 200]]);
      assert.equal(log[0]!.id, second.body.delivery.id);
      // The header that marks a test cannot be forged from outside: an unknown id is an ordinary post.
      clock.advance(1000);
      assert.equal((await post(hook.path, JSON.stringify({ Content: 'forged' }), { 'X-Carillon-Test-Delivery': second.body.delivery.id })).status, 200);
      assert.equal(((await deliveries(hook)).body.deliveries[0] as { format: string }).format, 'chime');
      // Members cannot, and a webhook of another room is not found.
      assert.equal((await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks/${hook.id}/test`, { token: member.token })).status, 403);
      const other = await createRoom(s.baseUrl, admin, 'Elsewhere');
      assert.equal((await call(s.baseUrl, 'POST', `/api/v1/rooms/${other}/webhooks/${hook.id}/test`, { token: admin.token })).status, 404);
      assert.equal((await call(s.baseUrl, 'GET', `/api/v1/rooms/${other}/webhooks/${hook.id}/deliveries`, { token: admin.token })).status, 404);
    });

    test(`${FAILURE_THRESHOLD} 4xx answers in 10 minutes: one webhook.failing frame to the room's administrators only, at most once an hour`, async () => {
      const hook = await createWebhook(s, admin, roomId, 'Flaky');
      const sockets = {
        admin: await StreamClient.ready(s.baseUrl, { token: admin.token }),
        coAdmin: await StreamClient.ready(s.baseUrl, { token: coAdmin.token }),
        member: await StreamClient.ready(s.baseUrl, { token: member.token }),
      };
      try {
        const fail = async (n: number) => {
          for (let i = 0; i < n; i++) {
            clock.advance(1000);
            assert.equal((await post(hook.path, '{"Content": ')).status, 400);
          }
          await deliveries(hook); // writes this node's queued rows, and checks for a notice
          for (const c of Object.values(sockets)) await c.barrier();
        };
        const notices = (c: StreamClient) => c.ofType('webhook.failing').filter((f) => f.webhookId === hook.id);
        await fail(FAILURE_THRESHOLD - 1);
        assert.equal(notices(sockets.admin).length, 0, 'not yet');
        assert.equal((await listed(hook.id)).failing, null);
        await fail(1);
        const frame = await sockets.admin.waitFor((f) => f.type === 'webhook.failing' && f.webhookId === hook.id, 'the notice');
        assert.deepEqual(frame, {
          type: 'webhook.failing',
          roomId,
          webhookId: hook.id,
          webhookName: 'Flaky',
          failures: FAILURE_THRESHOLD,
          windowMinutes: 10,
          lastStatus: 400,
          lastCode: 'InvalidPayload',
          at: clock.now(),
        });
        await sockets.coAdmin.waitFor((f) => f.type === 'webhook.failing' && f.webhookId === hook.id, 'the notice (second administrator)');
        assert.equal(notices(sockets.member).length, 0, 'members do not get it');
        const failing = (await listed(hook.id)).failing;
        assert.deepEqual(failing, { since: clock.now() - (FAILURE_THRESHOLD - 1) * 1000, failures: FAILURE_THRESHOLD, lastStatus: 400, lastCode: 'InvalidPayload' });

        // More failures within the hour: no second notice (429s count as failures too).
        await fail(15);
        clock.advance(1000);
        for (let i = 0; i < 3; i++) assert.equal((await post(hook.path, '{"Content": "x"}')).status, i === 0 ? 200 : 429);
        await fail(10);
        clock.advance(50 * 60_000);
        await fail(FAILURE_THRESHOLD);
        assert.equal(notices(sockets.admin).length, 1);
        assert.equal(notices(sockets.coAdmin).length, 1);

        // Over an hour after the notice: the next streak notifies again.
        clock.advance(11 * 60_000);
        await fail(FAILURE_THRESHOLD);
        assert.equal(notices(sockets.admin).length, 2);
        assert.equal(notices(sockets.member).length, 0);
        assert.equal((await listed(hook.id)).failing.failures, FAILURE_THRESHOLD);

        // A 200 ends the streak: `failing` clears.
        clock.advance(1000);
        assert.equal((await post(hook.path, '{"Content": "fixed"}')).status, 200);
        await deliveries(hook);
        assert.equal((await listed(hook.id)).failing, null);
      } finally {
        for (const c of Object.values(sockets)) await c.close();
      }
    });

    test('failures spread over more than 10 minutes do not notify; 403s are never counted', async () => {
      const hook = await createWebhook(s, admin, roomId, 'Slow failer');
      const c = await StreamClient.ready(s.baseUrl, { token: admin.token });
      try {
        for (let i = 0; i < FAILURE_THRESHOLD * 2; i++) {
          clock.advance(61_000);
          assert.equal((await post(hook.path, '{')).status, 400);
        }
        for (let i = 0; i < 10; i++) assert.equal((await post(hook.path.replace(hook.token, 'B'.repeat(72)), '{')).status, 403);
        clock.advance(60_000);
        await deliveries(hook);
        await c.barrier();
        assert.equal(c.ofType('webhook.failing').filter((f) => f.webhookId === hook.id).length, 0);
        assert.equal((await listed(hook.id)).failing, null);
      } finally {
        await c.close();
      }
    });

    test('the audit trail: who created, renamed, regenerated, changed and deleted which webhook, newest first, paged; the command line acts as the server', async () => {
      const roomId2 = await createRoom(s.baseUrl, admin, 'Audited');
      await addMember(s.baseUrl, admin, roomId2, coAdmin, 'administrator');
      const start = clock.now();
      const created = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId2}/webhooks`, { token: admin.token, body: { name: 'Deploy bot' } });
      assert.equal(created.status, 201, created.text);
      const id = created.body.id as string;
      assert.equal(created.body.failing, null);
      clock.advance(1000);
      assert.equal((await call(s.baseUrl, 'PATCH', `/api/v1/rooms/${roomId2}/webhooks/${id}`, { token: coAdmin.token, body: { name: 'Release bot' } })).status, 200);
      clock.advance(1000);
      const settings = await call(s.baseUrl, 'PATCH', `/api/v1/rooms/${roomId2}/webhooks/${id}`, { token: admin.token, body: { settings: { allowBroadcastMentions: false } } });
      assert.equal(settings.status, 200, settings.text);
      clock.advance(1000);
      assert.equal((await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId2}/webhooks/${id}/regenerate`, { token: coAdmin.token })).status, 200);
      clock.advance(1000);
      const out: string[] = [];
      const err: string[] = [];
      const env = { DATA_DIR: s.backend.dataDir, SECRET: TEST_SECRET, LOG_LEVEL: 'silent', ...(s.backend.databaseUrl ? { DATABASE_URL: s.backend.databaseUrl } : {}) };
      // `carillon webhook create ROOM NAME`, as the CLI runs it (cli/main.ts would start a server when imported).
      const command = webhookCommands.find((c) => c.words === 'webhook create')!;
      const code = await command.run(loadConfig(env).config, [roomId2, 'CLI bot'], { out: (t) => out.push(t), err: (t) => err.push(t) });
      assert.equal(code, 0, err.join(''));
      const cliHook = toTestWebhook({ id: new URL(out.join('').trim()).pathname.split('/').pop()!, name: 'CLI bot', url: out.join('').trim() });
      clock.advance(1000);
      assert.equal((await call(s.baseUrl, 'DELETE', `/api/v1/rooms/${roomId2}/webhooks/${id}`, { token: admin.token })).status, 204);

      const r = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId2}/audit`, { token: coAdmin.token });
      assert.equal(r.status, 200, r.text);
      const entries = r.body.entries as { id: string; at: number; actor: { type: string; id: string | null; name: string }; action: string; webhookId: string; webhookName: string; details: Record<string, unknown> }[];
      const asAdmin = { type: 'user', id: admin.id, name: 'Admin' };
      const asCoAdmin = { type: 'user', id: coAdmin.id, name: 'Co Admin' };
      assert.deepEqual(
        entries.map((e) => [e.action, e.actor, e.webhookId, e.webhookName, e.details]),
        [
          ['webhook.deleted', asAdmin, id, 'Release bot', {}],
          ['webhook.created', { type: 'server', id: null, name: SERVER_ACTOR_NAME }, cliHook.id, 'CLI bot', {}],
          ['webhook.regenerated', asCoAdmin, id, 'Release bot', { keepOldUrlForHours: 0 }],
          ['webhook.settings', asAdmin, id, 'Release bot', { changes: { allowBroadcastMentions: { from: true, to: false } } }],
          ['webhook.renamed', asCoAdmin, id, 'Release bot', { from: 'Deploy bot', to: 'Release bot' }],
          ['webhook.created', asAdmin, id, 'Deploy bot', {}],
        ],
      );
      const apiTimes = entries.filter((e) => e.actor.type === 'user').map((e) => e.at);
      assert.deepEqual(apiTimes, [start + 5000, start + 3000, start + 2000, start + 1000, start]);
      // Pages: before = the last id of the previous page.
      const p1 = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId2}/audit?limit=4`, { token: admin.token });
      const p2 = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId2}/audit?limit=4&before=${p1.body.entries[3].id}`, { token: admin.token });
      assert.deepEqual([...p1.body.entries, ...p2.body.entries].map((e: { id: string }) => e.id), entries.map((e) => e.id));
      assert.equal(p2.body.entries.length, 2);
      // Only this room's entries; members cannot read it; bad paging is 400.
      assert.ok(entries.every((e) => e.webhookId === id || e.webhookId === cliHook.id));
      const other = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/audit?limit=100`, { token: admin.token });
      assert.ok(!other.body.entries.some((e: { webhookId: string }) => e.webhookId === id));
      assert.equal((await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId2}/audit`, { token: member.token })).status, 404);
      assert.equal((await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/audit`, { token: member.token })).status, 403);
      assert.equal((await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/audit?before=nope`, { token: admin.token })).status, 400);
      assert.equal((await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/audit?limit=101`, { token: admin.token })).status, 400);
    });

    test('the OpenAPI document has the three routes and the webhook object\'s `failing`', async () => {
      const r = await call(s.baseUrl, 'GET', '/api/v1/openapi.json');
      assert.equal(r.status, 200);
      const paths = r.body.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
      for (const [p, m] of [
        ['/api/v1/rooms/{roomId}/webhooks/{webhookId}/deliveries', 'get'],
        ['/api/v1/rooms/{roomId}/webhooks/{webhookId}/test', 'post'],
        ['/api/v1/rooms/{roomId}/audit', 'get'],
      ] as const) {
        assert.ok(paths[p]?.[m], `missing ${m.toUpperCase()} ${p}`);
        for (const status of ['200', '401', '403', '404']) assert.ok(paths[p]![m]!.responses[status], `${p}: ${status}`);
      }
      assert.match(JSON.stringify(paths['/api/v1/rooms/{roomId}/webhooks']), /"failing"/);
      assert.match(JSON.stringify(paths['/api/v1/stream']), /webhook\.failing/);
    });

    test('a deleted webhook\'s log is gone with it (its later 404s are not kept), and its deliveries are 404 to read', async () => {
      const hook: TestWebhook = await createWebhook(s, admin, roomId, 'Short-lived');
      clock.advance(1000);
      assert.equal((await post(hook.path, '{"Content": "hi"}')).status, 200);
      await deliveries(hook);
      assert.equal((await call(s.baseUrl, 'DELETE', `/api/v1/rooms/${roomId}/webhooks/${hook.id}`, { token: admin.token })).status, 204);
      assert.equal((await post(hook.path, '{"Content": "after"}')).status, 404);
      await deliveries(await createWebhook(s, admin, roomId, 'Flusher'));
      assert.equal((await s.backend.store.webhookOps.listDeliveries(hook.id, 10)).length, 0);
      assert.equal((await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/webhooks/${hook.id}/deliveries`, { token: admin.token })).status, 404);
    });
  });
}
