/**
 * The webhook fast path (fast-path.ts, issue 16) answers exactly as the Fastify routes do: the same
 * requests, sent over HTTP (taken by the fast path) and through app.inject (which never reaches a
 * server's request listener, so Fastify's routes answer), give the same statuses, codes, headers,
 * stored messages, delivery-log rows and metrics. Every other test in this directory runs against
 * the fast path too, as they post over HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { availableBackends } from '../../test-support/backends.js';
import { type TestServer, type TestUser, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import { FakeClock, type TestWebhook, createWebhook, portOf, rawRequest, sleep } from '../../test-support/webhooks.js';

interface Answer {
  status: number;
  headers: Record<string, string>;
  json: any;
}

/** Headers Node's HTTP server adds by itself (app.inject has none of them), and those that differ per answer. */
const TRANSPORT = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

const comparable = (headers: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(headers)
      .filter(([k]) => !TRANSPORT.has(k.toLowerCase()))
      .map(([k, v]) => [k.toLowerCase(), String(v)])
      .sort((x, y) => (x[0]! < y[0]! ? -1 : 1)),
  );

for (const backend of availableBackends()) {
  describe(`webhook fast path = Fastify routes (${backend})`, () => {
    let s: TestServer;
    let clock: FakeClock;
    let admin: TestUser;
    let roomId: string;
    let made = 0;

    before(async () => {
      clock = new FakeClock();
      s = await startTestServer({ backend, clock });
      admin = await setupAdmin(s.baseUrl);
      roomId = await createRoom(s.baseUrl, admin, 'Parity');
    });
    after(() => s.close());

    const overHttp = async (path: string, body: string, headers: Record<string, string>): Promise<Answer> => {
      const r = await rawRequest(portOf(s), { path, body, headers });
      return { status: r.status, headers: comparable(r.headers), json: r.json };
    };
    const throughFastify = async (path: string, body: string, headers: Record<string, string>): Promise<Answer> => {
      const r = await s.app.inject({ method: 'POST', url: path, headers, payload: body });
      return { status: r.statusCode, headers: comparable(r.headers), json: r.json() };
    };

    /** The same requests on two fresh webhooks, one over each path: the answers, with ids made comparable. */
    async function both(requests: { path?: (w: TestWebhook) => string; body: string; headers?: Record<string, string>; advanceMs?: number }[]) {
      const results: Answer[][] = [];
      for (const send of [overHttp, throughFastify]) {
        const w = await createWebhook(s, admin, roomId, `parity ${made++}`);
        const answers: Answer[] = [];
        const ids = new Map<string, string>();
        for (const r of requests) {
          clock.advance(r.advanceMs ?? 1000);
          const a = await send(r.path ? r.path(w) : w.path, r.body, { 'content-type': 'application/json', ...r.headers });
          // The n-th distinct MessageId of this run, so that "the same message again" compares across runs.
          if (a.json?.MessageId) a.json.MessageId = ids.get(a.json.MessageId) ?? ids.set(a.json.MessageId, `message ${ids.size}`).get(a.json.MessageId)!;
          if (typeof a.json?.Message === 'string') a.json.Message = a.json.Message.replace(w.id, '{id}');
          answers.push(a);
        }
        // The delivery log is written after the answers, in batches: wait for this webhook's rows (403s name no webhook).
        const expected = answers.filter((a) => a.status !== 403).length;
        let log = await s.backend.store.webhookOps.listDeliveries(w.id, 100);
        for (let i = 0; i < 200 && log.length < expected; i++) {
          await sleep(50);
          log = await s.backend.store.webhookOps.listDeliveries(w.id, 100);
        }
        results.push(answers);
        answers.push({ status: 0, headers: {}, json: log.map((d) => [d.status, d.code, d.format, d.messageId === null]).reverse() });
      }
      const [fast, routed] = results;
      assert.deepEqual(fast, routed);
      return fast!;
    }

    test('200, then the same Idempotency-Key (replayed), then a keyed update', async () => {
      const answers = await both([
        { body: '{"Content": "Deploy finished"}' },
        { body: '{"Content": "once"}', headers: { 'idempotency-key': 'k-1' } },
        { body: '{"Content": "once"}', headers: { 'idempotency-key': 'k-1' } },
        { body: '{"Content": "build 1 failing", "Key": "build-1"}' },
        { body: '{"Content": "build 1 fixed"}', headers: { 'x-carillon-key': 'build-1' } },
        { path: (w) => w.path.replace('?', '/?'), body: '{"Content": "trailing slash"}' },
      ]);
      assert.deepEqual(answers.slice(0, 6).map((a) => a.status), [200, 200, 200, 200, 200, 200]);
      assert.equal(answers[2]!.headers['idempotent-replayed'], 'true');
      assert.equal(answers[4]!.json.MessageId, answers[3]!.json.MessageId, 'the keyed update answers the same message');
      assert.equal(answers[0]!.headers['x-ratelimit-limit'] !== undefined, true);
    });

    test('every error of the table that a plain Chime post can get', async () => {
      const answers = await both([
        { body: '{"Content": ' },
        { body: JSON.stringify({ Content: 'x'.repeat(4097) }) },
        { body: '{"Text": "no content"}' },
        { body: '{"Content": "a", "Key": "k"}', headers: { 'x-carillon-key': 'other' } },
        { body: '{"Content": "bad key"}', headers: { 'idempotency-key': '' } },
        { path: (w) => w.path.replace(/token=./, (m) => (m.endsWith('A') ? 'token=B' : 'token=A')), body: '{"Content": "wrong token"}' },
        { path: (w) => `${w.path}&token=again`, body: '{"Content": "token twice"}' },
        { path: (w) => w.path.split('?')[0]!, body: '{"Content": "no token"}' },
      ]);
      assert.deepEqual(
        answers.slice(0, 8).map((a) => [a.status, a.json.Code]),
        [
          [400, 'InvalidPayload'],
          [413, 'PayloadTooLarge'],
          [400, 'InvalidPayload'],
          [400, 'InvalidPayload'],
          [400, 'InvalidPayload'],
          [403, 'InvalidWebhook'],
          [403, 'InvalidWebhook'],
          [403, 'InvalidWebhook'],
        ],
      );
    });

    test('429 Throttled with Retry-After once the burst is spent', async () => {
      const burst = s.config.webhookBurst;
      const answers = await both(Array.from({ length: burst + 1 }, (_, i) => ({ body: `{"Content": "burst ${i}"}`, advanceMs: 0 })));
      const last = answers[burst]!;
      assert.equal(last.status, 429);
      assert.equal(last.json.Code, 'Throttled');
      assert.ok(last.headers['retry-after']);
    });

    test('both paths count the same route in carillon_http_requests_total', async () => {
      const text = await (await fetch(`${s.baseUrl}/metrics`)).text();
      assert.match(text, /carillon_http_requests_total\{method="POST",route="\/incomingwebhooks\/:webhookId",status="200"\} \d+/);
      assert.match(text, /carillon_webhook_posts_total\{code="Throttled"\} 2/);
    });
  });
}
