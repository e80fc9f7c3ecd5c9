/**
 * The webhook endpoint against SPEC 2.3, one test (or more) per row of its table, on every storage
 * backend (and SQLite without its writer thread, the other append path): exact status, Code, JSON
 * content type, headers, and nothing stored on any non-200.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { availableBackends } from '../../test-support/backends.js';
import { type TestServer, type TestUser, call, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import {
  FakeClock,
  type RawResponse,
  type TestWebhook,
  createWebhook,
  deleteWebhook,
  portOf,
  rawRequest,
  rawSocket,
  regenerateWebhook,
  storedMessages,
} from '../../test-support/webhooks.js';
import { StoreUnavailableError } from '../store/types.js';

const JSON_TYPE = /^application\/json(;|$)/;

function assertError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status} ${res.text}`);
  assert.match(String(res.headers['content-type']), JSON_TYPE);
  assert.deepEqual(Object.keys(res.json ?? {}).sort(), ['Code', 'Message'], res.text);
  assert.equal(res.json.Code, code);
  assert.equal(typeof res.json.Message, 'string');
  assert.ok(res.json.Message.length > 20, 'the Message says what to fix');
  assert.equal(res.headers['access-control-allow-origin'], undefined, 'no CORS on webhook URLs');
}

for (const backend of availableBackends({ sqliteInline: true })) {
  describe(`webhook endpoint, SPEC 2.3 (${backend})`, () => {
    let s: TestServer;
    let port: number;
    let clock: FakeClock;
    let admin: TestUser;
    let roomId: string;
    let hook: TestWebhook;

    before(async () => {
      clock = new FakeClock();
      s = await startTestServer({ backend, clock });
      port = portOf(s);
      admin = await setupAdmin(s.baseUrl);
      roomId = await createRoom(s.baseUrl, admin, 'Deployments');
      hook = await createWebhook(s, admin, roomId, 'Deploy bot');
    });
    after(() => s.close());

    /** One post a full second after the last, so the rate limit never interferes unless a test wants it. */
    const post = (path: string, body: string | Buffer, headers: Record<string, string> = { 'Content-Type': 'application/json' }) => {
      clock.advance(1000);
      return rawRequest(port, { path, body, headers });
    };
    const count = async (room = roomId) => (await storedMessages(s.backend.store, room)).length;

    /** Runs `fn`, which must be answered `status` `code`, and checks that nothing was stored. */
    async function refused(status: number, code: string, fn: () => Promise<RawResponse>, room = roomId): Promise<RawResponse> {
      const before = await count(room);
      const res = await fn();
      assertError(res, status, code);
      assert.equal(await count(room), before, 'nothing is stored on a non-200 answer');
      return res;
    }

    describe('200: stored, then {MessageId, RoomId}', () => {
      test('a post answers exactly 200 with exactly MessageId and RoomId, after the message is stored', async () => {
        const res = await post(hook.path, '{"Content": "Deploy finished"}');
        assert.equal(res.status, 200, res.text);
        assert.match(String(res.headers['content-type']), JSON_TYPE);
        assert.deepEqual(Object.keys(res.json).sort(), ['MessageId', 'RoomId']);
        assert.equal(res.json.RoomId, roomId);
        // A UUID (SPEC 2.3), version 7: time-ordered, so message rows append to their indexes (ids.ts).
        assert.match(res.json.MessageId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        const stored = await s.backend.store.getMessage(res.json.MessageId);
        assert.ok(stored, 'a 200 means the message is already stored');
        assert.equal(stored.content, 'Deploy finished');
        assert.deepEqual(stored.sender, { type: 'webhook', id: hook.id, name: 'Deploy bot' });
        const listed = await call(s.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages`, { token: admin.token });
        assert.equal(listed.body.messages.at(-1).id, res.json.MessageId);
        assert.equal(res.headers['access-control-allow-origin'], undefined);
      });

      test('Content-Type is ignored and the content is stored exactly as sent, /md prefix included', async () => {
        for (const ct of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'application/JSON']) {
          const content = `/md **build** via ${ct ?? 'no content type'}\n\n| a | b |\n|---|---|\n| 1 | 2 |`;
          const res = await post(hook.path, JSON.stringify({ Content: content }), ct ? { 'Content-Type': ct } : {});
          assert.equal(res.status, 200, res.text);
          assert.equal((await s.backend.store.getMessage(res.json.MessageId))?.content, content);
        }
      });

      test('a trailing slash after the id and extra query parameters are accepted', async () => {
        const [path, query] = hook.path.split('?') as [string, string];
        for (const p of [`${path}/?${query}`, `${hook.path}&format=application/json`, `${path}?format=application/json&${query}`]) {
          const res = await post(p, '{"Content": "tolerated"}');
          assert.equal(res.status, 200, `${p}: ${res.text}`);
        }
      });

      test('a chunked body works', async () => {
        const res = await (clock.advance(1000), rawRequest(port, { path: hook.path, body: '{"Content": "chunked"}', chunked: true, headers: { 'Content-Type': 'application/json' } }));
        assert.equal(res.status, 200, res.text);
        assert.equal((await s.backend.store.getMessage(res.json.MessageId))?.content, 'chunked');
      });

      test('a post is counted in carillon_webhook_posts_total', async () => {
        await post(hook.path, '{"Content": "counted"}');
        await post(hook.path, '{"text": "not counted as OK"}');
        const metrics = await (await fetch(`${s.baseUrl}/metrics`)).text();
        assert.match(metrics, /carillon_webhook_posts_total\{code="OK"\} [1-9]/);
        assert.match(metrics, /carillon_webhook_posts_total\{code="InvalidPayload"\} [1-9]/);
      });
    });

    describe('403 InvalidWebhook: the URL does not authenticate', () => {
      test('malformed ids: not a UUID, upper case, a path below the id, no id', async () => {
        const query = hook.path.split('?')[1]!;
        for (const p of [
          `/incomingwebhooks/not-a-uuid?${query}`,
          `/incomingwebhooks/${hook.id.toUpperCase()}?${query}`,
          `/incomingwebhooks/${hook.id}/extra?${query}`,
          `/incomingwebhooks?${query}`,
          `/incomingwebhooks/%zz?${query}`,
        ]) {
          await refused(403, 'InvalidWebhook', () => post(p, '{"Content": "x"}'));
        }
      });

      test('missing, empty, repeated or malformed token', async () => {
        const base = `/incomingwebhooks/${hook.id}`;
        for (const q of ['', '?token=', `?token=${hook.token}&token=${hook.token}`, `?token=${hook.token.slice(1)}`, `?token=${hook.token}x`, `?token=${hook.token.slice(0, 71)}-`]) {
          await refused(403, 'InvalidWebhook', () => post(`${base}${q}`, '{"Content": "x"}'));
        }
      });

      test('a wrong token and an unknown id get the same answer, which echoes no token', async () => {
        const wrongToken = 'A'.repeat(72);
        const a = await refused(403, 'InvalidWebhook', () => post(`/incomingwebhooks/${hook.id}?token=${wrongToken}`, '{"Content": "x"}'));
        const b = await refused(403, 'InvalidWebhook', () => post(`/incomingwebhooks/${randomUUID()}?token=${hook.token}`, '{"Content": "x"}'));
        assert.equal(a.text, b.text);
        assert.ok(!a.text.includes(wrongToken) && !b.text.includes(hook.token));
      });

      test('a token is bound to its webhook: another webhook\'s id with my token is refused', async () => {
        const otherRoom = await createRoom(s.baseUrl, admin, 'Other');
        const other = await createWebhook(s, admin, otherRoom, 'Other bot');
        await refused(403, 'InvalidWebhook', () => post(`/incomingwebhooks/${other.id}?token=${hook.token}`, '{"Content": "x"}'), otherRoom);
      });
    });

    describe('404 WebhookNotFound: valid once', () => {
      test('the URL from before a regeneration answers 404; the new one posts', async () => {
        const w = await createWebhook(s, admin, roomId, 'Regenerated');
        const second = await regenerateWebhook(s, admin, roomId, w.id);
        const third = await regenerateWebhook(s, admin, roomId, w.id);
        assert.equal(third.id, w.id);
        assert.notEqual(third.token, w.token);
        for (const old of [w, second]) await refused(404, 'WebhookNotFound', () => post(old.path, '{"Content": "old"}'));
        assert.equal((await post(third.path, '{"Content": "new"}')).status, 200);
        await deleteWebhook(s, admin, roomId, w.id);
      });

      test('a URL that has just posted (so its webhook is cached) answers 404 at once after a regeneration or a deletion', async () => {
        const w = await createWebhook(s, admin, roomId, 'Busy then regenerated');
        assert.equal((await post(w.path, '{"Content": "warm"}')).status, 200);
        const next = await regenerateWebhook(s, admin, roomId, w.id);
        await refused(404, 'WebhookNotFound', () => post(w.path, '{"Content": "old, right after"}'));
        assert.equal((await post(next.path, '{"Content": "new, right after"}')).status, 200);
        await deleteWebhook(s, admin, roomId, w.id);
        await refused(404, 'WebhookNotFound', () => post(next.path, '{"Content": "deleted, right after"}'));
      });

      test('every once-valid URL of a deleted webhook answers 404', async () => {
        const w = await createWebhook(s, admin, roomId, 'Deleted');
        const regenerated = await regenerateWebhook(s, admin, roomId, w.id);
        await deleteWebhook(s, admin, roomId, w.id);
        for (const old of [w, regenerated]) await refused(404, 'WebhookNotFound', () => post(old.path, '{"Content": "gone"}'));
        // A token that was never valid for it is still a 403.
        await refused(403, 'InvalidWebhook', () => post(`/incomingwebhooks/${w.id}?token=${'B'.repeat(72)}`, '{"Content": "x"}'));
      });
    });

    describe('405 MethodNotAllowed', () => {
      test('every other method, on any URL below /incomingwebhooks, with Allow: POST and no CORS', async () => {
        for (const path of [hook.path, '/incomingwebhooks/whatever', '/incomingwebhooks']) {
          for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
            const before = await count();
            const res = await rawRequest(port, { method, path, headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } });
            assert.equal(res.status, 405, `${method} ${path}`);
            assert.equal(res.headers.allow, 'POST');
            assert.match(String(res.headers['content-type']), JSON_TYPE);
            if (method !== 'HEAD') assertError(res, 405, 'MethodNotAllowed');
            assert.equal(Object.keys(res.headers).filter((h) => h.startsWith('access-control-')).length, 0);
            assert.equal(await count(), before);
          }
        }
        // DELETE did not delete the webhook.
        assert.equal((await post(hook.path, '{"Content": "still here"}')).status, 200);
      });

      test('the method is checked before the body is read: a PUT of 10 MiB is 405, not 413', async () => {
        const r = await rawSocket(port, (sock) => sock.write(`PUT ${hook.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n{"Content": "`));
        assert.deepEqual(r.statuses, [405]);
        assert.equal(r.json?.Code, 'MethodNotAllowed');
        assert.ok(r.closedByServer, 'the unread body is not taken for a next request');
      });
    });

    describe('429 Throttled after repeated failed authentication (RELIABILITY D-5, S4)', () => {
      const wrong = (id: string) => `/incomingwebhooks/${id}?token=${'W'.repeat(72)}`;
      const from = (address: string, path: string, headers: Record<string, string> = {}) =>
        rawRequest(port, { path, body: '{"Content": "guess"}', headers }, { localAddress: address });
      const securityEvents = () => s.logs.join('').split('\n').filter((l) => l.includes('"securityEvent":"webhook_auth_failures"'));

      test('one address: 30 wrong URLs get 403, then 429 with Retry-After; X-Forwarded-For does not reset it; its valid URL still posts', async () => {
        const target = await createWebhook(s, admin, roomId, 'Attacked from one address');
        const eventsBefore = securityEvents().length;
        for (let i = 0; i < 30; i++) await refused(403, 'InvalidWebhook', () => from('127.0.0.2', wrong(randomUUID())));
        const res = await refused(429, 'Throttled', () => from('127.0.0.2', wrong(randomUUID())));
        assert.ok(Number(res.headers['retry-after']) >= 1);
        assert.match(res.json.Message, /wrong or expired webhook URL from this address.*InvalidWebhook/);
        // Rotating a forwarded address changes nothing: the socket's address is the one counted.
        for (const xff of ['10.0.0.1', '203.0.113.7']) await refused(429, 'Throttled', () => from('127.0.0.2', wrong(randomUUID()), { 'X-Forwarded-For': xff }));
        // A valid URL is never counted nor refused by this limiter, from the same address too.
        clock.advance(1000);
        assert.equal((await from('127.0.0.2', target.path)).status, 200);
        // Other addresses are not affected.
        await refused(403, 'InvalidWebhook', () => from('127.0.0.3', wrong(randomUUID())));
        // One security event for the address, without any token, however many refusals followed.
        const events = securityEvents().slice(eventsBefore);
        assert.equal(events.length, 1, events.join('\n'));
        assert.match(events[0]!, /"scope":"address"/);
        assert.match(events[0]!, /"address":"127\.0\.0\.2"/);
        assert.ok(!events[0]!.includes('W'.repeat(72)) && !events[0]!.includes(target.token));
        // The budget refills: a minute later the address gets its 403 again.
        clock.advance(60_000);
        await refused(403, 'InvalidWebhook', () => from('127.0.0.2', wrong(randomUUID())));
      });

      test('one webhook id from many addresses: 429 once its budget is spent, while its real URL keeps posting', async () => {
        const target = await createWebhook(s, admin, roomId, 'Attacked from many addresses');
        for (let i = 0; i < 30; i++) {
          await refused(403, 'InvalidWebhook', () => from(`127.0.1.${i + 1}`, wrong(target.id)));
          // (The clock stands still, so the budget does not refill; the webhook's first post needs no wait.)
          if (i === 15) assert.equal((await from('127.0.0.1', target.path)).status, 200, 'the legitimate sender posts meanwhile');
        }
        const res = await refused(429, 'Throttled', () => from('127.0.2.1', wrong(target.id)));
        assert.match(res.json.Message, /for this webhook/);
        clock.advance(1000);
        assert.equal((await from('127.0.2.1', target.path)).status, 200, 'the real URL still posts, even from that address');
        assert.ok(securityEvents().some((l) => l.includes('"scope":"webhook"') && l.includes(target.id)));
      });

      test('an expired URL keeps its 404 and message while under the budget', async () => {
        const w = await createWebhook(s, admin, roomId, 'Expired');
        await deleteWebhook(s, admin, roomId, w.id);
        const res = await refused(404, 'WebhookNotFound', () => from('127.0.3.1', w.path));
        assert.match(res.json.Message, /deleted or its URL was regenerated/);
      });
    });

    describe('429 Throttled: 1 request per second per webhook', () => {
      test('a second post in the same second is throttled with Retry-After: 1; a second later it posts', async () => {
        assert.equal((await post(hook.path, '{"Content": "first"}')).status, 200);
        const res = await refused(429, 'Throttled', () => rawRequest(port, { path: hook.path, body: '{"Content": "second"}' }));
        assert.equal(res.headers['retry-after'], '1');
        clock.advance(1000);
        assert.equal((await rawRequest(port, { path: hook.path, body: '{"Content": "third"}' })).status, 200);
      });

      test('webhooks have separate buckets', async () => {
        const other = await createWebhook(s, admin, roomId, 'Separate bucket');
        assert.equal((await post(hook.path, '{"Content": "a"}')).status, 200);
        assert.equal((await rawRequest(port, { path: other.path, body: '{"Content": "b"}' })).status, 200);
        assertError(await rawRequest(port, { path: hook.path, body: '{"Content": "c"}' }), 429, 'Throttled');
      });

      test('requests that fail authentication do not spend the bucket; every authenticated one does', async () => {
        clock.advance(1000);
        for (let i = 0; i < 3; i++) assertError(await rawRequest(port, { path: `/incomingwebhooks/${hook.id}?token=${'C'.repeat(72)}`, body: '{"Content": "x"}' }), 403, 'InvalidWebhook');
        assert.equal((await rawRequest(port, { path: hook.path, body: '{"Content": "after failed auth"}' })).status, 200);
        clock.advance(1000);
        // An authenticated request with a bad body spends its token too (SPEC 2.3: rate before payload).
        assertError(await rawRequest(port, { path: hook.path, body: 'not json' }), 400, 'InvalidPayload');
        assertError(await rawRequest(port, { path: hook.path, body: '{"Content": "x"}' }), 429, 'Throttled');
      });

      test('X-Forwarded-For does not matter: the bucket is the webhook\'s', async () => {
        clock.advance(1000);
        assert.equal((await rawRequest(port, { path: hook.path, body: '{"Content": "1"}', headers: { 'X-Forwarded-For': '10.0.0.1' } })).status, 200);
        assertError(await rawRequest(port, { path: hook.path, body: '{"Content": "2"}', headers: { 'X-Forwarded-For': '10.0.0.2' } }), 429, 'Throttled');
      });
    });

    describe('413 PayloadTooLarge', () => {
      test('Content over 4096 code points; exactly 4096 posts (astral characters count once)', async () => {
        await refused(413, 'PayloadTooLarge', () => post(hook.path, JSON.stringify({ Content: 'a'.repeat(4097) })));
        await refused(413, 'PayloadTooLarge', () => post(hook.path, JSON.stringify({ Content: '😀'.repeat(4097) })));
        assert.equal((await post(hook.path, JSON.stringify({ Content: 'a'.repeat(4096) }))).status, 200);
        assert.equal((await post(hook.path, JSON.stringify({ Content: '😀'.repeat(4096) }))).status, 200);
      });

      test('a body over 64 KiB by Content-Length: refused at once, connection closed', async () => {
        const res = await refused(413, 'PayloadTooLarge', () => post(hook.path, `{"Content": "${'a'.repeat(70_000)}"}`));
        assert.equal(res.headers.connection, 'close');
      });

      test('a huge announced body is refused before it is read, with no "100 Continue"', async () => {
        const before = await count();
        clock.advance(1000);
        const r = await rawSocket(port, (sock) => {
          sock.write(`POST ${hook.path} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10485760\r\n\r\n`);
        });
        assert.deepEqual(r.statuses, [413]);
        assert.equal(r.json?.Code, 'PayloadTooLarge');
        assert.ok(r.closedByServer, 'the connection is closed');
        assert.equal(await count(), before);
      });

      test('a 10 MiB body that starts arriving is cut off and the connection closed', async () => {
        const before = await count();
        clock.advance(1000);
        let sent = 0;
        const r = await rawSocket(port, async (sock) => {
          sock.write(`POST ${hook.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n{"Content": "`);
          // Keep sending until the server answers and closes; it never waits for all 10 MiB.
          while (!sock.destroyed && sock.writable && sent < 10 * 1024 * 1024) {
            const ok = sock.write('a'.repeat(64 * 1024));
            sent += 64 * 1024;
            if (!ok) await new Promise((r2) => setTimeout(r2, 5));
          }
        });
        assert.deepEqual(r.statuses, [413]);
        assert.equal(r.json?.Code, 'PayloadTooLarge');
        assert.ok(r.closedByServer);
        assert.equal(await count(), before);
      });

      test('a chunked body is counted while it streams and cut at 64 KiB', async () => {
        const before = await count();
        clock.advance(1000);
        const r = await rawSocket(port, async (sock) => {
          sock.write(`POST ${hook.path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
          const chunk = 'a'.repeat(16 * 1024);
          for (let i = 0; i < 64 && !sock.destroyed; i++) {
            sock.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
            await new Promise((r2) => setTimeout(r2, 2));
          }
        });
        assert.deepEqual(r.statuses, [413]);
        assert.equal(r.json?.Code, 'PayloadTooLarge');
        assert.ok(r.closedByServer);
        assert.equal(await count(), before);
      });
    });

    describe('400 InvalidPayload', () => {
      const cases: [string, string, RegExp][] = [
        ['not JSON', 'Content=hello', /form data/],
        ['not an object', '["hello"]', /JSON object, not an array/],
        ['Content missing', '{"text": "hello"}', /found key 'text'\); the key is 'Content'/],
        ['Content not a string', '{"Content": 42}', /'Content' must be a string/],
        ['Content empty', '{"Content": ""}', /empty/],
        ['Content blank', '{"Content": " \\n\\t\\u200b "}', /empty or only white space/],
        ['empty body', '', /body is empty/],
        ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x43, 0xc3, 0x28, 0x7d]).toString('latin1'), /UTF-8/],
      ];
      for (const [what, body, message] of cases) {
        test(`${what}: the Message says which`, async () => {
          const bytes = what === 'invalid UTF-8' ? Buffer.from(body, 'latin1') : body;
          const res = await refused(400, 'InvalidPayload', () => post(hook.path, bytes));
          assert.match(res.json.Message, message);
        });
      }

      test('"content" in another letter case is used when "Content" is absent (SPEC 2.2)', async () => {
        const res = await post(hook.path, '{"content": "lower case key"}');
        assert.equal(res.status, 200);
        assert.equal((await s.backend.store.getMessage(res.json.MessageId))?.content, 'lower case key');
      });
    });

    describe('400 TooManyMembers: @All and @Present need 50 members or fewer', () => {
      let bigRoom: string;
      let bigHook: TestWebhook;
      let fiftyRoom: string;
      let fiftyHook: TestWebhook;
      before(async () => {
        // Members go straight into the store: 51 accounts through the API would spend seconds hashing passwords.
        const fill = async (room: string, n: number) => {
          for (let i = 0; i < n; i++) {
            const id = randomUUID();
            await s.backend.store.createUser({ id, email: `${room.slice(0, 8)}-${i}@example.com`, alias: `m${room.slice(0, 8)}${i}`, displayName: `M ${i}`, passwordHash: 'x', isSystemAdmin: false, createdAt: 1 });
            await s.backend.store.addMember(room, id, 'member', 1);
          }
        };
        bigRoom = await createRoom(s.baseUrl, admin, 'R51');
        await fill(bigRoom, 50);
        fiftyRoom = await createRoom(s.baseUrl, admin, 'R50');
        await fill(fiftyRoom, 49);
        bigHook = await createWebhook(s, admin, bigRoom, 'Broadcaster');
        fiftyHook = await createWebhook(s, admin, fiftyRoom, 'Broadcaster');
        assert.equal(await s.backend.store.countMembers(bigRoom), 51);
        assert.equal(await s.backend.store.countMembers(fiftyRoom), 50);
      });

      test('@All or @Present in a room of 51 → 400 TooManyMembers; a plain post and @alias still post', async () => {
        for (const content of ['@All wake up', 'deploy done @present', '/md **@All** now']) {
          await refused(400, 'TooManyMembers', () => post(bigHook.path, JSON.stringify({ Content: content })), bigRoom);
        }
        assert.equal((await post(bigHook.path, '{"Content": "no broadcast here"}')).status, 200);
        assert.equal((await post(bigHook.path, JSON.stringify({ Content: `@${admin.alias} please look` }))).status, 200);
      });

      test('@All in a room of exactly 50 posts', async () => {
        assert.equal((await post(fiftyHook.path, '{"Content": "@All standup"}')).status, 200);
      });

      test('order: size before mentions, payload before mentions', async () => {
        await refused(413, 'PayloadTooLarge', () => post(bigHook.path, JSON.stringify({ Content: `@All ${'x'.repeat(5000)}` })), bigRoom);
        await refused(400, 'InvalidPayload', () => post(bigHook.path, JSON.stringify({ Content: '@All \u0000' })), bigRoom);
      });
    });

    describe('503 ServiceUnavailable', () => {
      test('storage unreachable when storing → 503 with Retry-After, nothing stored', async () => {
        const store = s.backend.store;
        const original = store.appendMessage;
        store.appendMessage = async () => {
          throw new StoreUnavailableError('connection refused');
        };
        try {
          const res = await refused(503, 'ServiceUnavailable', () => post(hook.path, '{"Content": "during the outage"}'));
          assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/);
        } finally {
          store.appendMessage = original;
        }
      });

      test('storage unreachable when checking the URL → 503, not 403', async () => {
        // A webhook that has not posted yet, so its URL is checked in the store.
        const fresh = await createWebhook(s, admin, roomId, 'Never posted');
        const store = s.backend.store;
        const original = store.getWebhook;
        store.getWebhook = async () => {
          throw new StoreUnavailableError('connection refused');
        };
        try {
          const res = await post(fresh.path, '{"Content": "x"}');
          assertError(res, 503, 'ServiceUnavailable');
          assert.ok(res.headers['retry-after']);
        } finally {
          store.getWebhook = original;
        }
      });

      test('while the node drains after SIGTERM → 503 with Retry-After', async () => {
        s.app.carillon.state.draining = true;
        try {
          const res = await refused(503, 'ServiceUnavailable', () => post(hook.path, '{"Content": "while draining"}'));
          assert.ok(res.headers['retry-after']);
        } finally {
          s.app.carillon.state.draining = false;
        }
      });
    });

    describe('the checks run in the SPEC 2.3 order', () => {
      test('URL before rate, size and payload: a bad URL with a huge, broken body is 403', async () => {
        await refused(403, 'InvalidWebhook', () => post(`/incomingwebhooks/${hook.id}?token=${'D'.repeat(72)}`, `{${'x'.repeat(70_000)}`));
      });

      test('rate before size: a throttled request with a huge body is 429', async () => {
        assert.equal((await post(hook.path, '{"Content": "spend"}')).status, 200);
        await refused(429, 'Throttled', () => rawRequest(port, { path: hook.path, body: `{${'x'.repeat(70_000)}` }));
      });

      test('size before payload: a huge body that is not JSON is 413', async () => {
        await refused(413, 'PayloadTooLarge', () => post(hook.path, `<${'x'.repeat(70_000)}>`));
      });

      test('Content size before the other content rules: 5000 characters with a NUL is 413', async () => {
        await refused(413, 'PayloadTooLarge', () => post(hook.path, JSON.stringify({ Content: `${'x'.repeat(5000)}\u0000` })));
      });
    });
  });
}
