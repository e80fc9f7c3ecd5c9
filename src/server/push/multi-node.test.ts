/**
 * Web Push with two nodes on one PostgreSQL database (issue 13, SPEC 9): both are woken by every
 * message (through the Redis bus when CARILLON_TEST_REDIS_URL is set), both plan and send, and each
 * push still reaches each device exactly once: cursors and deliveries are claimed with
 * FOR UPDATE SKIP LOCKED. Presence on one node stops pushes planned by the other.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type AppNode, startAppNode } from '../../test-support/app-node.js';
import { availableBackends, createPgDatabase, tempDir } from '../../test-support/backends.js';
import { waitUntil } from '../../test-support/cluster/wait.js';
import { type BrowserSubscription, PushEndpoint } from '../../test-support/push-endpoint.js';
import { testRedisUrl } from '../../test-support/redis.js';
import { type TestUser, addMember, call, createRoom, createUser, setupAdmin } from '../../test-support/server.js';
import { StreamClient } from '../../test-support/stream-client.js';
import { FakeClock } from '../../test-support/webhooks.js';

const hasPostgres = availableBackends().includes('postgres');

describe(`web push on two nodes, one PostgreSQL${testRedisUrl ? ' and Redis' : ' (no Redis: nodes find each other\'s work by the scan)'}`, { skip: !hasPostgres, timeout: 120_000 }, () => {
  const clock = new FakeClock();
  let endpoint: PushEndpoint;
  let db: { url: string; drop: () => Promise<void> };
  const dirs: string[] = [];
  let nodes: AppNode[] = [];
  let admin: TestUser;
  let users: TestUser[];
  let roomId: string;
  let hookPath: string;
  const devices = new Map<string, BrowserSubscription[]>();

  before(async () => {
    endpoint = await PushEndpoint.start();
    db = await createPgDatabase();
    for (let i = 0; i < 2; i++) {
      const dataDir = tempDir('carillon-push-node-');
      dirs.push(dataDir);
      nodes.push(
        await startAppNode({
          dataDir,
          databaseUrl: db.url,
          redisUrl: testRedisUrl,
          clock,
          env: { PUSH_ENDPOINT_HOSTS: endpoint.origin, WEBHOOK_RATE_PER_SECOND: '1000', WEBHOOK_BURST: '1000' },
          // The lease is in clock time and the tests below move the clock 5 s every 50 ms to get past
          // the 503 back-offs: with the real 60 s lease, a send still in flight after 0.6 s (a busy
          // machine) would lose its lease and the other node would send it again, as it should for
          // a node that died mid-send. Claims and leases themselves: push-store.test.ts.
          push: { pollIntervalMs: 20, scanIntervalMs: 300, fanOutDelayMs: 2, concurrency: 4, random: () => 0.5, leaseMs: 24 * 3600_000 },
        }),
      );
    }
    const [a, b] = nodes as [AppNode, AppNode];
    admin = await setupAdmin(a.baseUrl);
    users = [await createUser(b.baseUrl, admin, 'mary'), await createUser(a.baseUrl, admin, 'john'), await createUser(b.baseUrl, admin, 'ann')];
    roomId = await createRoom(a.baseUrl, admin, 'Ops');
    for (const u of users) await addMember(b.baseUrl, admin, roomId, u);
    const hook = await call(a.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token, body: { name: 'Pager' } });
    assert.equal(hook.status, 201, hook.text);
    const u = new URL(hook.body.url);
    hookPath = `${u.pathname}${u.search}`;
    endpoint.expectedVapidKey = (await call(b.baseUrl, 'GET', '/api/v1/push/public-key', { token: admin.token })).body.publicKey;
    // Two devices each, subscribed through either node.
    for (const [i, user] of users.entries()) {
      const subs = [endpoint.subscribe(), endpoint.subscribe()];
      for (const [j, sub] of subs.entries()) {
        const r = await call(nodes[(i + j) % 2]!.baseUrl, 'POST', '/api/v1/push-subscriptions', { token: user.token, body: sub.json });
        assert.equal(r.status, 201, r.text);
      }
      devices.set(user.id, subs);
    }
  });

  after(async () => {
    for (const n of nodes) await n.close();
    nodes = [];
    await endpoint?.stop();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const quiet = (what: string) =>
    waitUntil(async () => (await nodes[0]!.store.push.roomsBehind(10)).length === 0 && (await nodes[0]!.store.push.countDeliveries()) === 0, what, 30_000, 25);

  test('the same VAPID key on both nodes (derived from the shared secret)', async () => {
    const keys = await Promise.all(nodes.map(async (n) => (await call(n.baseUrl, 'GET', '/api/v1/push/public-key', { token: admin.token })).body.publicKey));
    assert.equal(keys[0], keys[1]);
  });

  test('posts to both nodes, some pushes answered 503 and retried: every device gets every message exactly once', async (t) => {
    const posts = 30;
    endpoint.answerNext(...Array.from({ length: 12 }, () => ({ status: 503 })));
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: posts }, async (_, i) => {
        const res = await fetch(nodes[i % 2]!.baseUrl + hookPath, { method: 'POST', body: JSON.stringify({ Content: `@mary @john @ann page ${i}` }) });
        assert.equal(res.status, 200);
        ids.push(((await res.json()) as { MessageId: string }).MessageId);
      }),
    );
    // The 503s back off (3.75 s of clock time, then 7.5 s …): move the clock on until all is sent.
    await waitUntil(async () => {
      clock.advance(5_000);
      return endpoint.delivered().length >= posts * 6;
    }, 'every push delivered', 30_000, 50);
    await quiet('the outbox to empty');
    assert.deepEqual(endpoint.problems, []);
    const delivered = endpoint.delivered();
    assert.equal(delivered.length, posts * 6, 'no duplicates');
    for (const subs of devices.values()) {
      for (const sub of subs) {
        const got = endpoint.delivered(sub).map((p) => p.payload.messageId as string).sort();
        assert.deepEqual(got, [...ids].sort(), `device ${sub.id} got each message once`);
      }
    }
    assert.equal(endpoint.requests, posts * 6 + 12, 'each 503 retried once, nothing else sent twice');
    const perNode = await Promise.all(
      nodes.map(async (n) => Number(/carillon_push_sends_total\{outcome="delivered"\} (\d+)/.exec(await (await fetch(`${n.baseUrl}/metrics`)).text())?.[1])),
    );
    assert.equal(perNode[0]! + perNode[1]!, posts * 6);
    t.diagnostic(`delivered per node: ${perNode.join(' / ')}`);
  });

  test('a member present through one node gets no push for a mention posted through the other', { skip: !testRedisUrl && 'presence across nodes needs Redis' }, async () => {
    const [mary, john] = users as [TestUser, TestUser];
    const stream = await StreamClient.ready(nodes[1]!.baseUrl, { token: john.token });
    try {
      stream.send({ type: 'open', roomId });
      await stream.barrier();
      await waitUntil(async () => {
        const roster = await call(nodes[0]!.baseUrl, 'GET', `/api/v1/rooms/${roomId}/roster`, { token: admin.token });
        return roster.body.members.some((m: { userId: string; present: boolean }) => m.userId === john.id && m.present);
      }, 'john present as seen from node A');
      const before = endpoint.delivered().length;
      const res = await fetch(nodes[0]!.baseUrl + hookPath, { method: 'POST', body: JSON.stringify({ Content: '@mary @john present check' }) });
      const { MessageId } = (await res.json()) as { MessageId: string };
      await waitUntil(() => devices.get(mary.id)!.every((d) => endpoint.delivered(d).some((p) => p.payload.messageId === MessageId)), "mary's pushes");
      await quiet('the presence check');
      assert.equal(endpoint.delivered().length, before + 2, 'only mary\'s two devices');
      assert.ok(!devices.get(john.id)!.some((d) => endpoint.delivered(d).some((p) => p.payload.messageId === MessageId)));
    } finally {
      await stream.close();
    }
  });
});
