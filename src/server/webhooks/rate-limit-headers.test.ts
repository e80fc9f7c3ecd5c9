/**
 * X-RateLimit-Limit / -Remaining / -Reset (issue 15) over real HTTP, on every storage backend and
 * with both rate limiters (in-process; Redis when CARILLON_TEST_REDIS_URL is set): every answer to
 * an authenticated post carries them (200, 429 with Retry-After, and errors after the URL check),
 * unauthenticated answers carry none, and they follow the webhook's own settings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { availableBackends } from '../../test-support/backends.js';
import { testRedisUrl } from '../../test-support/redis.js';
import { type TestServer, type TestUser, call, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import { FakeClock, type RawResponse, type TestWebhook, createWebhook, portOf, rawRequest, regenerateWebhook, storedMessages } from '../../test-support/webhooks.js';
import { createRedis } from '../distributed/redis-client.js';
import { RedisRateLimiter } from '../rate-limit/redis.js';

type LimiterKind = 'memory' | 'redis';

if (!testRedisUrl) {
  process.stderr.write('\n*** SKIPPED: X-RateLimit-* with the Redis limiter — CARILLON_TEST_REDIS_URL is not set. Run: eval "$(scripts/test-services.sh start)" ***\n\n');
}
const limiters: LimiterKind[] = testRedisUrl ? ['memory', 'redis'] : ['memory'];

/** [limit, remaining, reset] of an answer; undefined values when the headers are absent. */
const rateHeaders = (r: RawResponse) => [r.headers['x-ratelimit-limit'], r.headers['x-ratelimit-remaining'], r.headers['x-ratelimit-reset']];

for (const backend of availableBackends()) {
  for (const kind of limiters) {
    describe(`X-RateLimit-* headers (${backend}, ${kind} rate limiter)`, () => {
      let s: TestServer;
      let clock: FakeClock;
      let admin: TestUser;
      let roomId: string;
      let redis: Redis | undefined;
      let n = 0;

      before(async () => {
        clock = new FakeClock();
        const env = { WEBHOOK_RATE_PER_SECOND: '1', WEBHOOK_BURST: '3' };
        if (kind === 'redis') {
          redis = createRedis(testRedisUrl!, { warn: () => {}, info: () => {} }, 'rate-headers');
          for (let i = 0; i < 200 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 25));
          const rateLimiter = new RedisRateLimiter({ redis, clock, ratePerSecond: 1, burst: 3, nodeCount: () => 1 });
          s = await startTestServer({ backend, clock, env, rateLimiter });
        } else {
          s = await startTestServer({ backend, clock, env });
        }
        admin = await setupAdmin(s.baseUrl);
        roomId = await createRoom(s.baseUrl, admin, 'Rate headers');
      });
      after(async () => {
        await s.close();
        redis?.disconnect();
      });

      /** A fresh webhook: its own bucket, full. */
      const fresh = () => createWebhook(s, admin, roomId, `Hook ${++n}`);
      const post = (w: Pick<TestWebhook, 'path'>, body: string, headers: Record<string, string> = {}) => rawRequest(portOf(s), { path: w.path, body, headers });
      const postText = (w: Pick<TestWebhook, 'path'>, text: string) => post(w, JSON.stringify({ Content: text }));

      test('across a burst: Limit is the burst, Remaining counts down to 0, Reset counts the seconds to full; the 429 has them with Retry-After', async () => {
        const w = await fresh();
        const answers: RawResponse[] = [];
        for (let i = 0; i < 4; i++) answers.push(await postText(w, `burst ${i}`));
        assert.deepEqual(answers.map((r) => r.status), [200, 200, 200, 429], answers.map((r) => r.text).join('\n'));
        assert.deepEqual(answers.map(rateHeaders), [
          ['3', '2', '1'],
          ['3', '1', '2'],
          ['3', '0', '3'],
          ['3', '0', '3'],
        ]);
        assert.equal(answers[3]!.headers['retry-after'], '1');
        assert.equal(answers[3]!.json.Code, 'Throttled');
        // Every header is a whole number of seconds or tokens.
        for (const r of answers) for (const h of rateHeaders(r)) assert.match(String(h), /^\d+$/);
      });

      test('errors after the URL check carry them too: 400 InvalidPayload, 413 PayloadTooLarge (Content, then body size), 429', async () => {
        const w = await fresh();
        const notJson = await post(w, 'this is not JSON');
        assert.equal(notJson.status, 400);
        assert.deepEqual(rateHeaders(notJson), ['3', '2', '1']);
        const tooLong = await postText(w, 'x'.repeat(5000));
        assert.equal(tooLong.status, 413);
        assert.deepEqual(rateHeaders(tooLong), ['3', '1', '2']);
        const hugeBody = await rawRequest(portOf(s), { path: w.path, body: 'y'.repeat(70_000) });
        assert.equal(hugeBody.status, 413);
        assert.deepEqual(rateHeaders(hugeBody), ['3', '0', '3']);
        const badKey = await post(w, JSON.stringify({ Content: 'x' }), { 'Idempotency-Key': 'a\tb' });
        assert.equal(badKey.status, 429, 'the rate check comes first');
        assert.deepEqual(rateHeaders(badKey), ['3', '0', '3']);
      });

      test('unauthenticated answers carry none: 403 for a wrong URL, 404 for a regenerated one', async () => {
        const w = await fresh();
        const wrong = await rawRequest(portOf(s), { path: w.path.replace(/token=./, (m) => (m.endsWith('A') ? 'token=B' : 'token=A')), body: JSON.stringify({ Content: 'x' }) });
        assert.equal(wrong.status, 403);
        assert.deepEqual(rateHeaders(wrong), [undefined, undefined, undefined]);
        await regenerateWebhook(s, admin, roomId, w.id);
        const old = await postText(w, 'old URL');
        assert.equal(old.status, 404);
        assert.deepEqual(rateHeaders(old), [undefined, undefined, undefined]);
      });

      test('they follow the webhook\'s own settings, at once', async () => {
        const w = await fresh();
        assert.deepEqual(rateHeaders(await postText(w, 'with the defaults')), ['3', '2', '1']);
        const patched = await call(s.baseUrl, 'PATCH', `/api/v1/rooms/${roomId}/webhooks/${w.id}`, { token: admin.token, body: { settings: { ratePerSecond: 2, burst: 6 } } });
        assert.equal(patched.status, 200, patched.text);
        // The bucket keeps its 2 tokens; its capacity is now 6, refilled at 2 per second.
        assert.deepEqual(rateHeaders(await postText(w, 'with its own settings')), ['6', '1', '3']);
        const messages = await storedMessages(s.backend.store, roomId);
        assert.ok(messages.some((m) => m.content === 'with its own settings'));
      });
    });
  }
}
