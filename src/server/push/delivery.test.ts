/**
 * Web Push delivery end to end (issue 13), on every backend: real HTTP posts to a real server, whose
 * dispatcher sends real encrypted pushes to a loopback push service (src/test-support/
 * push-endpoint.ts), which checks the VAPID signature and decrypts each one as a browser would.
 * Who gets a push (mentions, presence, the author, the 'all', 'none' and muted settings), what it
 * says, retries (429 with Retry-After, 503), a gone subscription (410), and the outbox surviving a
 * restart. The clock is injected: backoffs pass by moving it, not by sleeping.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type AppNode, type AppNodeOptions, startAppNode } from '../../test-support/app-node.js';
import { availableBackends, createPgDatabase, tempDir } from '../../test-support/backends.js';
import { waitUntil } from '../../test-support/cluster/wait.js';
import { type BrowserSubscription, PushEndpoint } from '../../test-support/push-endpoint.js';
import { TEST_SECRET, type TestUser, addMember, call, createRoom, createUser, setupAdmin } from '../../test-support/server.js';
import { StreamClient } from '../../test-support/stream-client.js';
import { FakeClock } from '../../test-support/webhooks.js';
import type { PushDispatcherOptions } from './dispatcher.js';
import { deriveVapidKeys } from './vapid.js';

/** Fast loops for tests; backoff delays are clock time, which the tests move. */
const FAST: Partial<PushDispatcherOptions> = { pollIntervalMs: 20, scanIntervalMs: 200, fanOutDelayMs: 5, random: () => 0.5, shutdownGraceMs: 2000, sendTimeoutMs: 1000 };

/** carillon_push_sends_total for one outcome, from the node's /metrics. */
async function sends(node: AppNode, outcome: string): Promise<number> {
  const text = await (await fetch(`${node.baseUrl}/metrics`)).text();
  return Number(new RegExp(`carillon_push_sends_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? NaN);
}

for (const backend of availableBackends()) {
  describe(`web push delivery (${backend})`, { timeout: 120_000 }, () => {
    const clock = new FakeClock();
    let endpoint: PushEndpoint;
    let dataDir: string;
    let databaseUrl: string | undefined;
    let dropDb: (() => Promise<void>) | undefined;
    let node: AppNode;
    let admin: TestUser;
    let mary: TestUser;
    let john: TestUser;
    let ann: TestUser;
    let roomId: string;
    let hookPath: string;
    let maryPhone: BrowserSubscription;
    let maryLaptop: BrowserSubscription;
    let johnPhone: BrowserSubscription;
    let annPhone: BrowserSubscription;
    let adminPhone: BrowserSubscription;
    const streams: StreamClient[] = [];

    const start = (push: AppNodeOptions['push'] = {}) =>
      startAppNode({
        dataDir,
        databaseUrl,
        clock,
        env: { PUSH_ENDPOINT_HOSTS: endpoint.origin, WEBHOOK_RATE_PER_SECOND: '1000', WEBHOOK_BURST: '1000' },
        push: { ...FAST, ...push },
      });

    async function subscribe(user: TestUser): Promise<BrowserSubscription> {
      const sub = endpoint.subscribe();
      const r = await call(node.baseUrl, 'POST', '/api/v1/push-subscriptions', { token: user.token, body: sub.json });
      assert.equal(r.status, 201, r.text);
      return sub;
    }

    async function postHook(content: string): Promise<{ messageId: string; seq: number }> {
      const res = await fetch(node.baseUrl + hookPath, { method: 'POST', body: JSON.stringify({ Content: content }) });
      const body = (await res.json()) as { MessageId: string };
      assert.equal(res.status, 200, JSON.stringify(body));
      const stored = await node.store.getMessage(body.MessageId);
      return { messageId: body.MessageId, seq: stored!.seq };
    }

    /** Every message planned and the outbox empty: nothing more will be sent. */
    async function quiet(what: string): Promise<void> {
      await waitUntil(async () => (await node.store.push.roomsBehind(10)).length === 0 && (await node.store.push.countDeliveries()) === 0, `pushes to settle (${what})`, 15_000, 20);
    }

    async function settings(user: TestUser, body: { notify?: string; muted?: boolean }): Promise<void> {
      const r = await call(node.baseUrl, 'PATCH', `/api/v1/rooms/${roomId}/settings`, { token: user.token, body });
      assert.equal(r.status, 200, r.text);
    }

    const count = (sub: BrowserSubscription) => endpoint.delivered(sub).length;

    before(async () => {
      endpoint = await PushEndpoint.start();
      dataDir = tempDir('carillon-push-');
      if (backend === 'postgres') {
        const db = await createPgDatabase();
        databaseUrl = db.url;
        dropDb = db.drop;
      }
      node = await start();
      admin = await setupAdmin(node.baseUrl);
      mary = await createUser(node.baseUrl, admin, 'mary', 'Mary Major');
      john = await createUser(node.baseUrl, admin, 'john', 'John Doe');
      ann = await createUser(node.baseUrl, admin, 'ann', 'Ann Other');
      roomId = await createRoom(node.baseUrl, admin, 'Deployments');
      for (const u of [mary, john, ann]) await addMember(node.baseUrl, admin, roomId, u);
      const hook = await call(node.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token, body: { name: 'Deploy bot' } });
      assert.equal(hook.status, 201, hook.text);
      const u = new URL(hook.body.url);
      hookPath = `${u.pathname}${u.search}`;
      endpoint.expectedVapidKey = (await call(node.baseUrl, 'GET', '/api/v1/push/public-key', { token: mary.token })).body.publicKey;
      maryPhone = await subscribe(mary);
      maryLaptop = await subscribe(mary);
      johnPhone = await subscribe(john);
      annPhone = await subscribe(ann);
      adminPhone = await subscribe(admin);
    });

    after(async () => {
      for (const s of streams) s.ws.terminate();
      await node?.close();
      await endpoint?.stop();
      await dropDb?.();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    beforeEach(() => {
      assert.deepEqual(endpoint.problems, [], 'every push so far had a valid VAPID signature and decrypted');
    });

    test("a webhook's @mention reaches each device of the mentioned member who is not present, decrypted, with the room, sender and text", async () => {
      // John has the room open: present, so the mention reaches him live, not by push.
      const stream = await StreamClient.ready(node.baseUrl, { token: john.token });
      streams.push(stream);
      stream.send({ type: 'open', roomId });
      await stream.barrier();
      const posted = await postHook('/md ## Deploy :rocket: @mary @john\n\nBuild **1234** is [live](https://ci.example.com/1234)');
      await waitUntil(() => count(maryPhone) === 1 && count(maryLaptop) === 1, "the push on both of mary's devices");
      await quiet('the mention');
      assert.deepEqual(endpoint.problems, []);
      for (const sub of [maryPhone, maryLaptop]) {
        const [push] = endpoint.delivered(sub);
        assert.deepEqual(push!.payload, {
          type: 'message',
          roomId,
          roomName: 'Deployments',
          messageId: posted.messageId,
          seq: posted.seq,
          sender: 'Deploy bot (Webhook)',
          body: 'Deploy 🚀 @mary @john Build 1234 is live',
          alert: true,
          createdAt: (await node.store.getMessage(posted.messageId))!.createdAt,
          url: `/rooms/${roomId}?seq=${posted.seq}`,
        });
        assert.equal(push!.urgency, 'high');
        assert.ok(push!.ttl > 23 * 3600 && push!.ttl <= 24 * 3600, `TTL ${push!.ttl}`);
        assert.equal(push!.claims.aud, endpoint.origin);
        assert.equal(push!.claims.sub, 'mailto:postmaster@localhost');
      }
      assert.equal(count(johnPhone), 0, 'john is present: no push');
      assert.equal(count(annPhone), 0, 'ann is not mentioned');
      assert.equal(count(adminPhone), 0, 'the admin is not mentioned');
      await stream.close();
      streams.splice(streams.indexOf(stream), 1);
    });

    test("a member's own message never pushes to them; who they mention gets their display name as sender", async () => {
      await settings(mary, { notify: 'all' });
      const r = await call(node.baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: mary.token, body: { content: 'Rolling back, @john :warning:' } });
      assert.equal(r.status, 201, r.text);
      await waitUntil(() => count(johnPhone) === 1, "john's push");
      await quiet("mary's message");
      const push = endpoint.delivered(johnPhone)[0]!;
      assert.equal(push.payload.sender, 'Mary Major');
      assert.equal(push.payload.body, 'Rolling back, @john ⚠️');
      assert.equal(push.payload.alert, true);
      assert.equal(count(maryPhone), 1, "mary's 'all' does not include her own message");
      await settings(mary, { notify: 'mentions' });
    });

    test("'all': every message pushes (not alerting, normal urgency); the default 'mentions' does not", async () => {
      await settings(ann, { notify: 'all' });
      const posted = await postHook('Nightly backup finished :white_check_mark:');
      await waitUntil(() => count(annPhone) === 1, "ann's push");
      await quiet("the 'all' message");
      const push = endpoint.delivered(annPhone)[0]!;
      assert.equal(push.payload.messageId, posted.messageId);
      assert.equal(push.payload.alert, false);
      assert.equal(push.payload.body, 'Nightly backup finished ✅');
      assert.equal(push.urgency, 'normal');
      assert.equal(count(maryPhone), 1, 'mary (mentions) got nothing new');
      assert.equal(count(johnPhone), 1);
      await settings(ann, { notify: 'mentions' });
    });

    test("'none' and muted: no push, even for a mention or @All", async () => {
      await settings(mary, { notify: 'none' });
      await settings(john, { muted: true });
      await postHook('@mary @john @All look at this');
      // Ann and the admin are alerted by @All: their pushes show the message was planned.
      await waitUntil(() => count(annPhone) === 2 && count(adminPhone) === 1, 'the @All pushes to ann and the admin');
      await quiet('the muted mention');
      assert.equal(count(maryPhone), 1);
      assert.equal(count(maryLaptop), 1);
      assert.equal(count(johnPhone), 1);
      await settings(mary, { notify: 'mentions' });
      await settings(john, { muted: false });
    });

    test('a webhook update by key pushes only to whom it newly alerts (issue 14); an update that adds no mention pushes nobody', async () => {
      const post = async (content: string) => {
        const res = await fetch(node.baseUrl + hookPath, { method: 'POST', body: JSON.stringify({ Content: content, Key: 'disk-db-1' }) });
        const body = (await res.json()) as { MessageId: string };
        assert.equal(res.status, 200, JSON.stringify(body));
        return body.MessageId;
      };
      const before = { mary: count(maryPhone), john: count(johnPhone), ann: count(annPhone) };
      const id = await post(':x: disk full on db-1 @mary');
      await waitUntil(() => count(maryPhone) === before.mary + 1, "mary's push for the first version");
      await quiet('the first version');
      // Escalation: the same message now also names john; mary was alerted already.
      assert.equal(await post(':x: disk full on db-1 @mary @john'), id, 'the update names the same message');
      await waitUntil(() => count(johnPhone) === before.john + 1, "john's push for the escalation");
      await quiet('the escalation');
      const push = endpoint.delivered(johnPhone).at(-1)!;
      assert.equal(push.payload.messageId, id);
      assert.equal(push.payload.body, '❌ disk full on db-1 @mary @john');
      assert.equal(push.payload.alert, true);
      const stored = (await node.store.getMessage(id))!;
      assert.equal(push.payload.url, `/rooms/${roomId}?seq=${stored.seq}`, 'the push opens the message at its own place');
      // Resolved: fewer mentions, nothing added: silent.
      assert.equal(await post(':white_check_mark: disk ok on db-1'), id);
      await waitUntil(async () => (await node.store.getMessage(id))!.content.startsWith(':white_check_mark:'), 'the update stored');
      await quiet('the resolution');
      assert.equal(count(maryPhone), before.mary + 1, 'mary: one push in all');
      assert.equal(count(johnPhone), before.john + 1, 'john: one push in all');
      assert.equal(count(annPhone), before.ann, 'ann was never named');
    });

    test('429 is retried when its Retry-After says, 503 with backoff; the webhook answer never waits; each device gets it once', async () => {
      endpoint.answerNext({ status: 429, headers: { 'retry-after': '120' } });
      const requestsBefore = endpoint.requests;
      const retries = await sends(node, 'retry');
      // The clock moves only once each answer is recorded (and the retry scheduled from it).
      const recorded = (n: number, what: string) => waitUntil(async () => (await sends(node, 'retry')) === retries + n, what);
      const posted = await postHook('@ann rate limited');
      await waitUntil(() => endpoint.requests === requestsBefore + 1, 'the first (429) attempt');
      await recorded(1, 'the 429 recorded');
      // Well past the poll interval, but no clock time has passed: no second attempt yet.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(endpoint.requests, requestsBefore + 1, 'not retried before Retry-After');
      clock.advance(119_000);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(endpoint.requests, requestsBefore + 1, 'not retried a second early');
      clock.advance(1_000);
      await waitUntil(() => endpoint.delivered(annPhone).some((p) => p.payload.messageId === posted.messageId), 'the retry after Retry-After');
      assert.equal(endpoint.pushesFor(annPhone).filter((p) => p.payload.messageId === posted.messageId).length, 2);

      // 503 twice (no Retry-After): retried after the backoff (5 s × 2^(n-1), three quarters with random() = 0.5).
      endpoint.answerNext({ status: 503 }, { status: 503 });
      const second = await postHook('@ann flaky push service');
      await waitUntil(() => endpoint.pushesFor(annPhone).filter((p) => p.payload.messageId === second.messageId).length === 1, 'the first 503');
      await recorded(2, 'the first 503 recorded');
      clock.advance(3_750);
      await waitUntil(() => endpoint.pushesFor(annPhone).filter((p) => p.payload.messageId === second.messageId).length === 2, 'the second 503');
      await recorded(3, 'the second 503 recorded');
      clock.advance(7_500);
      await waitUntil(() => endpoint.delivered(annPhone).some((p) => p.payload.messageId === second.messageId), 'delivery after two 503s');
      await quiet('the retries');
      for (const id of [posted.messageId, second.messageId]) {
        assert.equal(endpoint.delivered(annPhone).filter((p) => p.payload.messageId === id).length, 1, 'delivered exactly once');
      }
      const metrics = await (await fetch(`${node.baseUrl}/metrics`)).text();
      assert.match(metrics, /carillon_push_sends_total\{outcome="retry"\} [3-9]/);
      assert.match(metrics, /carillon_push_sends_total\{outcome="delivered"\} \d+/);
      assert.match(metrics, /carillon_push_outbox_deliveries 0/);
    });

    test('a push service that does not answer is given up on after the send timeout, and the push retried', async () => {
      endpoint.answerNext({ status: 0, hang: true });
      const retries = await sends(node, 'retry');
      const posted = await postHook('@john is anyone there');
      await waitUntil(async () => (await sends(node, 'retry')) === retries + 1, 'the timed-out attempt to be rescheduled', 5000);
      clock.advance(10_000);
      await waitUntil(() => endpoint.delivered(johnPhone).some((p) => p.payload.messageId === posted.messageId), 'the retry');
      await quiet('after the timeout');
      assert.equal(endpoint.pushesFor(johnPhone).filter((p) => p.payload.messageId === posted.messageId).length, 2, 'the hung attempt and the retry');
    });

    test('410 Gone removes the subscription (and nothing more is sent to it); the other device still gets pushes', async () => {
      endpoint.answerNext({ status: 410 });
      const first = await postHook('@ann are you there?');
      await waitUntil(() => endpoint.pushesFor(annPhone).some((p) => p.payload.messageId === first.messageId), 'the 410 attempt');
      await quiet('the 410');
      assert.deepEqual((await node.store.push.listSubscriptions(ann.id)).map((s) => s.endpoint), []);
      const annLaptop = await subscribe(ann);
      const second = await postHook('@ann again');
      await waitUntil(() => count(annLaptop) === 1, 'the push to the new device');
      await quiet('after the 410');
      assert.ok(!endpoint.pushesFor(annPhone).some((p) => p.payload.messageId === second.messageId), 'the gone device gets nothing');
    });

    test('the outbox survives a restart: a push that could not be sent (push service down), then the server restarted, is delivered exactly once', async () => {
      await endpoint.stop();
      const retriesBefore = await sends(node, 'retry');
      const posted = await postHook('@john deploy failed');
      // Planned and tried (connection refused), then scheduled for a retry.
      await waitUntil(async () => (await sends(node, 'retry')) === retriesBefore + 1, 'the failed attempt');
      assert.equal(await node.store.push.countDeliveries(), 1);
      await node.close();
      await endpoint.listen();
      node = await start();
      clock.advance(60_000);
      await waitUntil(() => endpoint.delivered(johnPhone).some((p) => p.payload.messageId === posted.messageId), 'the delivery after the restart');
      await quiet('after the restart');
      assert.equal(endpoint.delivered(johnPhone).filter((p) => p.payload.messageId === posted.messageId).length, 1);
    });

    test('a message stored while no node was sending (stopped before fan-out) is pushed once after the restart', async () => {
      await node.close();
      node = await start({ enabled: false });
      const posted = await postHook('@mary stored, not yet pushed');
      assert.equal(await node.store.push.countDeliveries(), 0);
      await node.close();
      node = await start();
      await waitUntil(() => endpoint.delivered(maryPhone).some((p) => p.payload.messageId === posted.messageId), 'the push after the restart');
      await quiet('the catch-up');
      assert.equal(endpoint.delivered(maryPhone).filter((p) => p.payload.messageId === posted.messageId).length, 1);
      assert.equal(endpoint.delivered(maryLaptop).filter((p) => p.payload.messageId === posted.messageId).length, 1);
    });

    test('webhook answers do not wait for pushes, and no log line holds an endpoint or the private key', async () => {
      // The push service takes every push and never answers; the sender would wait ten minutes.
      await node.close();
      node = await start({ sendTimeoutMs: 600_000 });
      const okBefore = await sends(node, 'ok');
      endpoint.answerNext(...Array.from({ length: 20 }, () => ({ status: 0, hang: true })));
      const first = await postHook('@mary @john @ann burst 0');
      await waitUntil(() => endpoint.received.some((p) => p.payload.messageId === first.messageId), 'a push of the first post to be in flight');
      // Every later post is answered 200 (postHook checks) while pushes are in flight, unanswered.
      for (let i = 1; i < 5; i++) await postHook(`@mary @john @ann burst ${i}`);
      assert.equal(await sends(node, 'ok'), okBefore, 'no push had been answered when the webhooks were');
      assert.ok(endpoint.received.filter((p) => p.payload.messageId === first.messageId).every((p) => p.status === 0), 'the first post\'s pushes hang');
      // Cut the hung connections (the sender retries), then answer 503 a few times before 201.
      await endpoint.stop();
      endpoint.clearScript();
      await endpoint.listen();
      endpoint.answerNext(...Array.from({ length: 5 }, () => ({ status: 503 })));
      // The 503s back off in clock time: move it on until the outbox is empty.
      await waitUntil(async () => {
        clock.advance(5_000);
        return (await node.store.push.countDeliveries()) === 0;
      }, 'the burst to be delivered', 15_000, 50);
      await quiet('the burst');
      const logs = node.logs.join('\n');
      assert.match(logs, /push: send failed; will retry/, 'the retries were logged…');
      assert.ok(!logs.includes('/push/'), '…without an endpoint URL');
      assert.ok(!logs.includes(deriveVapidKeys(Buffer.from(TEST_SECRET, 'utf8')).privateKey), 'never the VAPID private key');
      assert.deepEqual(endpoint.problems, []);
    });
  });
}
