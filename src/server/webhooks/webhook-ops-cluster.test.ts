/**
 * Failure notices with two nodes on one PostgreSQL database and Redis (issue 15, OPS-2): each node
 * sees only half of a webhook's failures, yet their sum in the database makes the notice; both
 * nodes write and check at the same moment, yet exactly one notice is made (the conditional upsert
 * on webhook_notices), and it reaches the administrators' sockets on both nodes (Redis bus), once,
 * and members' on neither. An hour later (injected clock) the next streak notifies again.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { type AppNode, startAppNode } from '../../test-support/app-node.js';
import { availableBackends, createPgDatabase, tempDir } from '../../test-support/backends.js';
import { sleep } from '../../test-support/cluster/wait.js';
import { redisAvailable, testRedisUrl } from '../../test-support/redis.js';
import { type TestUser, addMember, call, createRoom, createUser, setupAdmin } from '../../test-support/server.js';
import { StreamClient } from '../../test-support/stream-client.js';
import { FakeClock, type TestWebhook, toTestWebhook } from '../../test-support/webhooks.js';
import { FAILURE_THRESHOLD } from './delivery-log.js';

const runnable = availableBackends().includes('postgres') && redisAvailable();

describe('failure notices on two nodes (one PostgreSQL, Redis)', { skip: !runnable, timeout: 120_000 }, () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 5, 9, 0, 0));
  let db: { url: string; drop: () => Promise<void> };
  const dirs: string[] = [];
  let nodes: AppNode[] = [];
  let admin: TestUser;
  let coAdmin: TestUser;
  let member: TestUser;
  let roomId: string;
  let sockets: { node: number; who: 'admin' | 'coAdmin' | 'member'; client: StreamClient }[] = [];

  before(async () => {
    db = await createPgDatabase();
    for (let i = 0; i < 2; i++) {
      const dataDir = tempDir('carillon-ops-node-');
      dirs.push(dataDir);
      nodes.push(
        await startAppNode({
          dataDir,
          databaseUrl: db.url,
          redisUrl: testRedisUrl,
          clock,
          env: { WEBHOOK_RATE_PER_SECOND: '1000', WEBHOOK_BURST: '1000', WEBHOOK_MAX_RATE_PER_SECOND: '1000', WEBHOOK_MAX_BURST: '1000' },
          push: { enabled: false },
        }),
      );
    }
    const [a, b] = nodes as [AppNode, AppNode];
    admin = await setupAdmin(a.baseUrl);
    coAdmin = await createUser(b.baseUrl, admin, 'coadmin', 'Co Admin');
    member = await createUser(a.baseUrl, admin, 'member', 'Mem Ber');
    roomId = await createRoom(a.baseUrl, admin, 'Ops');
    await addMember(b.baseUrl, admin, roomId, coAdmin, 'administrator');
    await addMember(a.baseUrl, admin, roomId, member);
    // Every user on both nodes.
    for (const [node, n] of nodes.entries()) {
      for (const [who, user] of [['admin', admin], ['coAdmin', coAdmin], ['member', member]] as const) {
        sockets.push({ node, who, client: await StreamClient.ready(n.baseUrl, { token: user.token }) });
      }
    }
  });

  after(async () => {
    for (const s of sockets) await s.client.close();
    sockets = [];
    for (const n of nodes) await n.close();
    nodes = [];
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** `n` failures (400) per webhook, alternating between the nodes, then both nodes write their logs at the same moment. */
  const failOnBoth = async (hooks: TestWebhook[], n: number) => {
    for (let i = 0; i < n; i++) {
      clock.advance(500);
      await Promise.all(
        hooks.map(async (h) => {
          const res = await fetch(nodes[i % 2]!.baseUrl + h.path, { method: 'POST', body: '{"Content": ' });
          assert.equal(res.status, 400);
          await res.text();
        }),
      );
    }
    // Each node's deliveries read writes its queue first (and checks for notices): both at once.
    await Promise.all(
      nodes.map(async (node) => {
        const r = await call(node.baseUrl, 'GET', `/api/v1/rooms/${roomId}/webhooks/${hooks[0]!.id}/deliveries`, { token: admin.token });
        assert.equal(r.status, 200, r.text);
      }),
    );
    // Both nodes wrote their rows (a refused write drops them, and a notice could then not be counted).
    for (const node of nodes) assert.deepEqual(node.logs.filter((l) => l.includes('webhook delivery log') || l.includes('webhook failure notice')), []);
  };

  /** Whatever was going to arrive has arrived: each socket's barrier, after Redis had time to carry events between the nodes. */
  const settle = async () => {
    // Proving an absence (no second notice): there is no event to wait for, so give pub/sub a moment.
    await sleep(300);
    for (const s of sockets) await s.client.barrier();
  };

  const noticesOf = (hook: TestWebhook) =>
    sockets.map((s) => ({ node: s.node, who: s.who, n: s.client.ofType('webhook.failing').filter((f) => f.webhookId === hook.id).length }));

  const expected = (perAdminSocket: number) =>
    sockets.map((s) => ({ node: s.node, who: s.who, n: s.who === 'member' ? 0 : perAdminSocket }));

  test(`${FAILURE_THRESHOLD} failures split over two nodes, written at once: exactly one notice per webhook, on every administrator socket of both nodes`, async () => {
    const hooks: TestWebhook[] = [];
    for (const [i, name] of ['Flaky A', 'Flaky B', 'Flaky C'].entries()) {
      const r = await call(nodes[i % 2]!.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token, body: { name } });
      assert.equal(r.status, 201, r.text);
      hooks.push(toTestWebhook(r.body));
    }
    await failOnBoth(hooks, FAILURE_THRESHOLD);
    for (const h of hooks) {
      for (const s of sockets.filter((x) => x.who !== 'member')) {
        await s.client.waitFor((f) => f.type === 'webhook.failing' && f.webhookId === h.id, `the notice for ${h.name} on node ${s.node}`);
      }
    }
    await settle();
    for (const h of hooks) assert.deepEqual(noticesOf(h), expected(1), h.name);
    const frame = sockets[0]!.client.ofType('webhook.failing').find((f) => f.webhookId === hooks[0]!.id)!;
    assert.deepEqual({ ...frame, at: 0 }, {
      type: 'webhook.failing',
      roomId,
      webhookId: hooks[0]!.id,
      webhookName: 'Flaky A',
      failures: FAILURE_THRESHOLD,
      windowMinutes: 10,
      lastStatus: 400,
      lastCode: 'InvalidPayload',
      at: 0,
    });

    // More failures on both nodes within the hour: no second notice anywhere.
    await failOnBoth(hooks, FAILURE_THRESHOLD * 2);
    clock.advance(45 * 60_000);
    await failOnBoth(hooks, FAILURE_THRESHOLD);
    await settle();
    for (const h of hooks) assert.deepEqual(noticesOf(h), expected(1), `${h.name}: once within the hour`);
    // Both nodes present it as failing.
    for (const node of nodes) {
      const list = await call(node.baseUrl, 'GET', `/api/v1/rooms/${roomId}/webhooks`, { token: coAdmin.token });
      for (const h of hooks) assert.equal(list.body.webhooks.find((w: { id: string }) => w.id === h.id).failing.lastCode, 'InvalidPayload');
    }

    // Over an hour after the notice: one more, again exactly once.
    clock.advance(16 * 60_000);
    await failOnBoth(hooks, FAILURE_THRESHOLD);
    for (const h of hooks) {
      for (const s of sockets.filter((x) => x.who !== 'member')) {
        await s.client.waitFor((f) => f.type === 'webhook.failing' && f.webhookId === h.id && f.at === clock.now(), `the second notice for ${h.name} on node ${s.node}`);
      }
    }
    await settle();
    for (const h of hooks) assert.deepEqual(noticesOf(h), expected(2), `${h.name}: once more after the hour`);
    const made = await Promise.all(
      nodes.map(async (n) => Number(/carillon_webhook_failure_notices_total (\d+)/.exec(await (await fetch(`${n.baseUrl}/metrics`)).text())?.[1] ?? 'NaN')),
    );
    assert.equal(made[0]! + made[1]!, hooks.length * 2, `notices made per node: ${made.join(' / ')}`);
  });
});
