/**
 * The distributed mode end to end (issue 8, SPEC 9, RELIABILITY D-5..D-9, F2, F4, F7, S6): three
 * real node processes from `dist/cli/main.js serve` on one PostgreSQL database (through a proxy the
 * test can cut) and the suite's own redis-server, with nginx in front configured from
 * deploy/nginx.conf. Every guarantee of the single node must hold across nodes, and each degraded
 * mode must degrade the way the issue says, and recover without restarting a node.
 *
 * Needs `npm run build` first (the nodes run the built server). Skips loudly without PostgreSQL,
 * redis-server or nginx (fails under CARILLON_REQUIRE_SERVICES=1).
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, afterEach, before, describe, test, type TestContext } from 'node:test';
import type { ServerFrame } from '../../shared/stream-protocol.js';
import { Cluster } from '../../test-support/cluster/cluster.js';
import type { NodeProcess } from '../../test-support/cluster/node-process.js';
import { REPO_ROOT, clusterBinaries } from '../../test-support/cluster/paths.js';
import { sleep, waitUntil, within } from '../../test-support/cluster/wait.js';
import { type TestUser, call, createUser, setupAdmin } from '../../test-support/server.js';
import { StreamClient } from '../../test-support/stream-client.js';
import { rawRequest, rawSocket } from '../../test-support/webhooks.js';

const binaries = clusterBinaries();

interface Hook {
  id: string;
  /** Path and query of the webhook URL (to send to any node or to nginx). */
  path: string;
}

interface Answer {
  status: number;
  headers: Headers;
  json: any;
  text: string;
  ms: number;
}

/** A webhook post with a deadline: a hang fails the test instead of stalling it. */
async function postHook(baseUrl: string, hook: Hook, content: string, deadlineMs = 15_000): Promise<Answer> {
  const t0 = Date.now();
  const res = await fetch(baseUrl + hook.path, {
    method: 'POST',
    body: JSON.stringify({ Content: content }),
    signal: AbortSignal.timeout(deadlineMs),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text, ms: Date.now() - t0 };
}

/** Every answer on a webhook URL is JSON (test/fixtures/chime-clients rule 3); errors carry a Message (rule 4). */
function assertJsonError(a: Answer, status: number, code: string): void {
  assert.equal(a.status, status, `expected ${status} ${code}, got ${a.status}: ${a.text}`);
  assert.match(a.headers.get('content-type') ?? '', /^application\/json/, `content-type of the ${status}`);
  assert.equal(a.json?.Code, code, a.text);
  assert.ok(typeof a.json?.Message === 'string' && a.json.Message.length > 0, `a non-empty Message: ${a.text}`);
}

function assertRetryAfter(a: Answer): number {
  const v = a.headers.get('retry-after');
  assert.match(v ?? '', /^\d+$/, `Retry-After in whole seconds, got ${v}`);
  assert.ok(Number(v) >= 1, `Retry-After ≥ 1, got ${v}`);
  return Number(v);
}

function assertStored(a: Answer, roomId: string): string {
  assert.equal(a.status, 200, a.text);
  assert.match(a.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(a.json?.RoomId, roomId);
  assert.match(a.json?.MessageId ?? '', /^[0-9a-f-]{36}$/);
  return a.json.MessageId as string;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('multi-node: 3 nodes on PostgreSQL + Redis behind nginx', { skip: !binaries, timeout: 300_000 }, () => {
  let cluster: Cluster;
  let admin: TestUser;
  let mary: TestUser;
  let john: TestUser;
  let A: NodeProcess;
  let B: NodeProcess;
  let C: NodeProcess;
  const streams: StreamClient[] = [];
  const readers: Reader[] = [];
  let crashesReported = 0;

  before(async () => {
    cluster = await Cluster.start(binaries!, { nodes: 3 });
    [A, B, C] = [cluster.node(0), cluster.node(1), cluster.node(2)];
    admin = await setupAdmin(A.baseUrl);
    // Sessions live in PostgreSQL: signed in on one node, known to all.
    mary = await createUser(B.baseUrl, admin, 'mary', 'Mary Major');
    john = await createUser(C.baseUrl, admin, 'john', 'John Doe');
  });

  after(async () => {
    for (const s of streams) s.ws.terminate();
    await cluster?.stop();
  });

  afterEach(async () => {
    // Readers first, so a failed test leaves none reconnecting.
    for (const r of readers.splice(0)) r.stopped = true;
    for (const s of streams.splice(0)) s.ws.terminate();
    // A node that died on its own (not killed by a test) fails the test that was running.
    const crashes = cluster?.unexpectedExits() ?? [];
    if (crashes.length > crashesReported) {
      const fresh = crashes.slice(crashesReported);
      crashesReported = crashes.length;
      throw new Error(fresh.join('\n'));
    }
  });

  /** A test that, when it fails, says which node died, prints the end of each node's log and keeps the whole logs. */
  function scenario(name: string, fn: (t: TestContext) => Promise<void>, timeout = 60_000): void {
    test(name, { timeout }, async (t) => {
      try {
        await fn(t);
      } catch (e) {
        // The whole logs outlive the cluster's temp dir (test-results/ is kept as a CI artifact).
        const saved = cluster.saveLogs(join(REPO_ROOT, 'test-results', 'multi-node', name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)));
        for (const crash of cluster.unexpectedExits()) t.diagnostic(crash);
        t.diagnostic(`logs kept in ${dirname(saved[0] ?? '')}; the end of each node's log:\n${cluster.logs()}`);
        throw e;
      }
    });
  }

  async function newRoom(name: string, members: TestUser[] = [mary, john]): Promise<string> {
    const r = await call(A.baseUrl, 'POST', '/api/v1/rooms', { token: admin.token, body: { name } });
    assert.equal(r.status, 201, r.text);
    const roomId = r.body.room.id as string;
    for (const m of members) {
      const added = await call(C.baseUrl, 'POST', `/api/v1/rooms/${roomId}/members`, { token: admin.token, body: { userId: m.id } });
      assert.equal(added.status, 201, added.text);
    }
    return roomId;
  }

  async function newHook(node: NodeProcess, roomId: string, name: string): Promise<Hook> {
    const r = await call(node.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token, body: { name } });
    assert.equal(r.status, 201, r.text);
    const url = new URL(r.body.url);
    // PUBLIC_URL is nginx: the URL a room administrator copies points at the load balancer.
    assert.equal(url.origin, cluster.nginx.baseUrl);
    return { id: r.body.id, path: `${url.pathname}${url.search}` };
  }

  /** A member's stream on one node, resumed (first frame) from the given seqs. */
  async function openStream(baseUrl: string, user: TestUser, rooms: Record<string, number>): Promise<StreamClient> {
    const c = await within(StreamClient.connect(baseUrl, { token: user.token }), 10_000, `stream on ${baseUrl}`);
    streams.push(c);
    c.send({ type: 'resume', rooms });
    for (const roomId of Object.keys(rooms)) await within(c.waitFor((f) => f.type === 'resumed' && f.roomId === roomId, 'resumed'), 10_000, `resumed ${roomId}`);
    return c;
  }

  const waitSeq = (c: StreamClient, roomId: string, seq: number, ms = 10_000) => within(c.waitForSeq(roomId, seq), ms, `seq ${seq} on the stream`);

  async function storedMessages(roomId: string): Promise<{ id: string; seq: number; content: string }[]> {
    const rows = await cluster.query<{ id: string; seq: string; content: string }>('SELECT id, seq, content FROM messages WHERE room_id = $1 ORDER BY seq', [roomId]);
    return rows.map((r) => ({ id: r.id, seq: Number(r.seq), content: r.content }));
  }

  async function roster(node: NodeProcess, roomId: string, user: TestUser): Promise<Map<string, boolean>> {
    const r = await call(node.baseUrl, 'GET', `/api/v1/rooms/${roomId}/roster`, { token: user.token });
    assert.equal(r.status, 200, r.text);
    return new Map((r.body.members as { userId: string; present: boolean }[]).map((m) => [m.userId, m.present]));
  }

  // ---- the single node's guarantees, across nodes ----

  scenario('a post on node A reaches a client on node B in order: posts alternating A/C arrive as seqs 1..N, once each', async () => {
    await cluster.ensure();
    const roomId = await newRoom('Ordering');
    const hooks: Hook[] = [];
    for (let i = 0; i < 10; i++) hooks.push(await newHook(C, roomId, `Bot ${i}`));
    const onB = await openStream(B.baseUrl, mary, { [roomId]: 0 });

    // 1–10: webhook posts one after another, alternating A and C (one webhook each: 1 per second per webhook).
    for (let i = 0; i < 10; i++) assertStored(await postHook((i % 2 === 0 ? A : C).baseUrl, hooks[i]!, `webhook post ${i + 1}`), roomId);
    // 11–40: member posts all at once, alternating A and C: commits race, the client still sees seq order.
    const burst = await Promise.all(
      range(30).map((i) => call((i % 2 === 0 ? A : C).baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: admin.token, body: { content: `burst ${i}` } })),
    );
    for (const r of burst) assert.equal(r.status, 201, r.text);

    await waitSeq(onB, roomId, 40);
    await onB.barrier();
    assert.deepEqual(onB.seqs(roomId), range(40), 'seqs 1..40 in order, each once');
    const stored = await storedMessages(roomId);
    assert.deepEqual(stored.map((m) => m.seq), range(40));
    assert.deepEqual(onB.messages(roomId).map((m) => m.id), stored.map((m) => m.id), 'the stream shows what the store holds, in its order');
    assert.deepEqual(onB.messages(roomId).slice(0, 10).map((m) => m.content), range(10).map((i) => `webhook post ${i}`));
  });

  scenario('the 1-per-second limit holds across nodes: simultaneous posts to one webhook on two nodes → one 200, one 429 with Retry-After', async () => {
    await cluster.ensure();
    const roomId = await newRoom('Rate limit');
    const pair = await newHook(A, roomId, 'Pair');
    const trio = await newHook(A, roomId, 'Trio');

    const two = await Promise.all([A, B].map((n) => postHook(n.baseUrl, pair, 'at the same time')));
    assert.deepEqual(two.map((a) => a.status).sort(), [200, 429], two.map((a) => a.text).join(' | '));
    const throttled = two.find((a) => a.status === 429)!;
    assertJsonError(throttled, 429, 'Throttled');
    assertRetryAfter(throttled);

    // On all three nodes at once: still exactly one.
    const three = await Promise.all([A, B, C].map((n) => postHook(n.baseUrl, trio, 'at the same time')));
    assert.deepEqual(three.map((a) => a.status).sort(), [200, 429, 429], three.map((a) => a.text).join(' | '));
    for (const a of three.filter((x) => x.status === 429)) assertRetryAfter(a);

    // Nothing is stored unless the answer is 200.
    assert.equal((await storedMessages(roomId)).length, 2);
  });

  scenario('@Present counts members present on any node: opened on B, alerted by a post via A, present in the roster on C', async () => {
    await cluster.ensure();
    const roomId = await newRoom('Presence');
    const hook = await newHook(A, roomId, 'Pager');
    const maryOnB = await openStream(B.baseUrl, mary, { [roomId]: 0 });
    // John is online on C with the room closed: not present.
    const johnOnC = await openStream(C.baseUrl, john, { [roomId]: 0 });
    maryOnB.send({ type: 'open', roomId });

    await waitUntil(async () => (await roster(C, roomId, john)).get(mary.id) === true, 'Mary present in the roster on node C', 5_000);
    assert.equal((await roster(C, roomId, john)).get(john.id), false, 'John has the room closed');
    assert.equal((await roster(A, roomId, john)).get(mary.id), true, 'and on node A');
    // The presence change crossed nodes as an event too.
    await within(johnOnC.waitFor((f) => f.type === 'presence.changed' && f.userId === mary.id && f.present), 5_000, 'presence.changed on C');

    assertStored(await postHook(A.baseUrl, hook, '@Present the deploy starts now'), roomId);
    const toMary = await waitSeq(maryOnB, roomId, 1);
    const toJohn = await waitSeq(johnOnC, roomId, 1);
    assert.ok(toMary.type === 'message.created' && toMary.message.alert === true, 'Mary (present on B) is alerted');
    assert.ok(toJohn.type === 'message.created' && toJohn.message.alert === false, 'John (room closed) is not');
  });

  scenario('regenerate on A → the old URL answers 404 on B at once; delete on B → 404 on C', async () => {
    await cluster.ensure();
    const roomId = await newRoom('Rotation');
    const first = await newHook(A, roomId, 'Rotating');

    const regen = await call(A.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks/${first.id}/regenerate`, { token: admin.token });
    assert.equal(regen.status, 200, regen.text);
    const second: Hook = { id: first.id, path: `${new URL(regen.body.url).pathname}${new URL(regen.body.url).search}` };
    assert.notEqual(second.path, first.path);
    // At once, on the other nodes: no cache to go stale.
    assertJsonError(await postHook(B.baseUrl, first, 'old URL'), 404, 'WebhookNotFound');
    assertJsonError(await postHook(C.baseUrl, first, 'old URL'), 404, 'WebhookNotFound');
    assertStored(await postHook(B.baseUrl, second, 'new URL'), roomId);
    // Hammering the old URL on B and C never gets it accepted (RELIABILITY S6).
    const hammer = await Promise.all(range(12).map((i) => postHook((i % 2 ? B : C).baseUrl, first, 'old URL again')));
    assert.deepEqual([...new Set(hammer.map((a) => a.status))], [404]);

    const del = await call(B.baseUrl, 'DELETE', `/api/v1/rooms/${roomId}/webhooks/${first.id}`, { token: admin.token });
    assert.equal(del.status, 204, del.text);
    assertJsonError(await postHook(C.baseUrl, second, 'deleted'), 404, 'WebhookNotFound');
    assertJsonError(await postHook(A.baseUrl, second, 'deleted'), 404, 'WebhookNotFound');
    assertJsonError(await postHook(C.baseUrl, first, 'deleted, older URL'), 404, 'WebhookNotFound');
    assert.deepEqual((await storedMessages(roomId)).map((m) => m.content), ['new URL']);
  });

  // ---- nginx in front (deploy/nginx.conf) ----

  scenario('through nginx: a webhook post answers 200 JSON, and a stream connects and receives', async () => {
    await cluster.ensure();
    const roomId = await newRoom('Through nginx');
    const hook = await newHook(B, roomId, 'Via nginx');
    const viaNginx = await openStream(cluster.nginx.baseUrl, mary, { [roomId]: 0 });
    const id = assertStored(await postHook(cluster.nginx.baseUrl, hook, 'through the load balancer'), roomId);
    const got = await waitSeq(viaNginx, roomId, 1);
    assert.ok(got.type === 'message.created' && got.message.id === id && got.message.content === 'through the load balancer');
  });

  scenario('through nginx: a body over client_max_body_size gets nginx\'s 413 as JSON; one over 64 KiB gets Carillon\'s JSON 413', async () => {
    await cluster.ensure();
    const roomId = await newRoom('Big bodies');
    const hook = await newHook(A, roomId, 'Big');
    const send = (body: Buffer, chunked = false) =>
      rawSocket(cluster.nginx.port, (sock) => {
        sock.on('error', () => {});
        const head = [`POST ${hook.path} HTTP/1.1`, `Host: 127.0.0.1:${cluster.nginx.port}`, 'Content-Type: application/json', 'Connection: close'];
        if (chunked) {
          sock.write(`${[...head, 'Transfer-Encoding: chunked'].join('\r\n')}\r\n\r\n`);
          for (let off = 0; off < body.length && !sock.destroyed; off += 65536) {
            const part = body.subarray(off, off + 65536);
            sock.write(`${part.length.toString(16)}\r\n`);
            sock.write(part);
            sock.write('\r\n');
          }
          if (!sock.destroyed) sock.write('0\r\n\r\n');
        } else {
          sock.write(`${[...head, `Content-Length: ${body.length}`].join('\r\n')}\r\n\r\n`);
          sock.write(body);
        }
      }, 10_000);
    const parse = (text: string) => {
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      const headers = new Headers(head.split('\r\n').slice(1).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
      let bodyText = rest.join('\r\n\r\n');
      if (headers.get('transfer-encoding') === 'chunked') bodyText = bodyText.replace(/^[0-9a-f]+\r\n/i, '').replace(/\r\n0\r\n\r\n$/, '');
      let json: any;
      try {
        json = JSON.parse(bodyText);
      } catch {
        json = undefined;
      }
      return { status, headers, json, text: `${head}\n\n${bodyText}`, ms: 0 } satisfies Answer;
    };
    const content = (bytes: number) => Buffer.from(JSON.stringify({ Content: 'x'.repeat(bytes) }));

    // 2 MiB: over nginx's client_max_body_size (1m), answered by nginx itself — as JSON.
    const byNginx = parse((await send(content(2 * 1024 * 1024))).text);
    assertJsonError(byNginx, 413, 'PayloadTooLarge');
    const byNginxChunked = parse((await send(content(2 * 1024 * 1024), true)).text);
    assertJsonError(byNginxChunked, 413, 'PayloadTooLarge');
    // 100 KiB: through nginx, over Carillon's 64 KiB — Carillon's own JSON 413.
    const byCarillon = parse((await send(content(100 * 1024))).text);
    assertJsonError(byCarillon, 413, 'PayloadTooLarge');
    assert.equal((await storedMessages(roomId)).length, 0);
  });

  scenario('through nginx: the stream gets the same Host as the API (a browser signed in by cookie, on a name other than PUBLIC_URL)', async () => {
    await cluster.ensure();
    const roomId = await newRoom('Browser');
    // A browser at http://chat.example.com (nginx's server_name) while PUBLIC_URL names the nginx
    // address: Carillon accepts the cookie when Origin matches the Host the browser addressed,
    // which only works if nginx forwards that Host on every location.
    const browser = { host: 'chat.example.com', origin: 'http://chat.example.com', cookie: `carillon_session=${mary.token}` };
    const post = await within(
      rawRequest(cluster.nginx.port, {
        path: `/api/v1/rooms/${roomId}/messages`,
        headers: [
          ['Host', browser.host],
          ['Origin', browser.origin],
          ['Cookie', browser.cookie],
          ['Content-Type', 'application/json'],
        ],
        body: JSON.stringify({ content: 'from the browser' }),
      }),
      10_000,
      'API post through nginx',
    );
    assert.equal(post.status, 201, `API through nginx: ${post.text}`);
    const ws = await within(StreamClient.connect(cluster.nginx.baseUrl, { cookie: browser.cookie, origin: browser.origin, headers: { host: browser.host } }), 10_000, 'cookie stream via nginx');
    streams.push(ws);
    ws.send({ type: 'resume', rooms: { [roomId]: 0 } });
    await waitSeq(ws, roomId, 1);
  });

  // ---- degraded modes ----

  scenario('Redis killed → posts still accepted at rate/N per node (never unlimited), delivery across nodes by polling the store; Redis back → normal without restarting nodes', async (t) => {
    await cluster.ensure();
    await cluster.redis.waitForNodes(3);
    const roomId = await newRoom('Redis outage');
    const w1 = await newHook(A, roomId, 'One');
    const w2 = await newHook(A, roomId, 'Two');
    const w3 = await newHook(A, roomId, 'Three');
    const w4 = await newHook(A, roomId, 'Four');
    const maryOnB = await openStream(B.baseUrl, mary, { [roomId]: 0 });
    maryOnB.send({ type: 'open', roomId });
    await waitUntil(async () => (await roster(C, roomId, john)).get(mary.id) === true, 'Mary present on C before the outage', 5_000);
    const pidsBefore = cluster.nodes.map((n) => n.pid);

    await cluster.redis.kill();

    // Rate 1/s over 3 nodes: each node grants its own share (1 per 3 s), never unlimited.
    const first = await postHook(A.baseUrl, w1, 'Redis is down: first');
    assertStored(first, roomId);
    const ackedAt = Date.now();
    const second = await postHook(A.baseUrl, w1, 'Redis is down: second, same node');
    assertJsonError(second, 429, 'Throttled');
    assertRetryAfter(second);
    // @Present cannot know who is present on the other nodes: refused (503), nothing stored (D-6).
    const present = await postHook(A.baseUrl, w4, '@Present Redis is down');
    assertJsonError(present, 503, 'ServiceUnavailable');
    assertRetryAfter(present);
    // Cross-node delivery falls back to polling the store (≤ 2 s; generous deadline here).
    await waitSeq(maryOnB, roomId, 1, 5_000);
    t.diagnostic(`post on A reached the client on B ${Date.now() - ackedAt} ms after its 200, with Redis down`);
    // The other nodes have their own share: at most N× the limit overall while Redis is away.
    assertStored(await postHook(C.baseUrl, w1, 'Redis is down: on C'), roomId);
    assertJsonError(await postHook(C.baseUrl, w1, 'Redis is down: on C again'), 429, 'Throttled');
    assertStored(await postHook(C.baseUrl, w2, 'Redis is down: another webhook on C'), roomId);
    await waitSeq(maryOnB, roomId, 3, 5_000);
    await maryOnB.barrier();
    assert.deepEqual(maryOnB.seqs(roomId), [1, 2, 3]);

    // Redis comes back (empty: no persistence). The nodes reconnect on their own.
    await cluster.redis.start();
    await cluster.redis.waitForNodes(3);
    assert.deepEqual(cluster.nodes.map((n) => n.pid), pidsBefore, 'no node restarted');
    // The limit is global again.
    const race = await Promise.all([A, B].map((n) => postHook(n.baseUrl, w3, 'Redis is back: race')));
    assert.deepEqual(race.map((a) => a.status).sort(), [200, 429], race.map((a) => a.text).join(' | '));
    // Presence was written back (Mary still has the room open on B), so @Present via A alerts her.
    await waitUntil(async () => (await roster(C, roomId, john)).get(mary.id) === true, 'Mary present on C after Redis returned', 10_000);
    assertStored(await postHook(A.baseUrl, w2, '@Present Redis is back'), roomId);
    const back = await waitSeq(maryOnB, roomId, 5, 5_000);
    assert.ok(back.type === 'message.created' && back.message.alert === true, 'alerted through presence on another node');
    await maryOnB.barrier();
    assert.deepEqual(maryOnB.seqs(roomId), [1, 2, 3, 4, 5]);
  });

  scenario('PostgreSQL cut → webhook posts answer 503 ServiceUnavailable with Retry-After (never a hang or a 500), /readyz 503; restored → 200 again without restart', async () => {
    await cluster.ensure();
    const roomId = await newRoom('Database outage');
    const hooks = [await newHook(A, roomId, 'DB one'), await newHook(A, roomId, 'DB two'), await newHook(A, roomId, 'DB three')];
    const later = await newHook(A, roomId, 'DB after');
    const maryOnB = await openStream(B.baseUrl, mary, { [roomId]: 0 });
    const pidsBefore = cluster.nodes.map((n) => n.pid);

    // Members keep posting on every node while the database goes away: queries are in flight when
    // their connections break, and every answer must still be 201 or 503 (a node that dies fails here).
    const busy = await newRoom('Database outage, busy');
    const answers: number[] = [];
    let loading = true;
    const load = Promise.all(
      cluster.nodes.map(async (n) => {
        while (loading) {
          const r = await within(call(n.baseUrl, 'POST', `/api/v1/rooms/${busy}/messages`, { token: mary.token, body: { content: 'busy' } }), 15_000, 'a post during the outage');
          answers.push(r.status);
        }
      }),
    );
    await waitUntil(() => answers.length >= 30, 'load before the cut', 10_000, 10);
    cluster.pgProxy.cut();
    await waitUntil(() => answers.filter((s) => s === 503).length >= 30, 'posts refused during the outage', 10_000, 10);
    loading = false;
    await load;
    assert.deepEqual([...new Set(answers)].sort(), [201, 503], 'only 201 (before the cut) and 503 (after)');
    try {
      const answers = await Promise.all(cluster.nodes.map((n, i) => postHook(n.baseUrl, hooks[i]!, 'while the database is away', 15_000)));
      for (const a of answers) {
        assertJsonError(a, 503, 'ServiceUnavailable');
        assertRetryAfter(a);
      }
      // Through nginx: Carillon's own 503 passes through, JSON and Retry-After intact.
      const viaNginx = await postHook(cluster.nginx.baseUrl, hooks[0]!, 'while the database is away', 15_000);
      assertJsonError(viaNginx, 503, 'ServiceUnavailable');
      assertRetryAfter(viaNginx);
      for (const n of cluster.nodes) {
        const ready = await fetch(`${n.baseUrl}/readyz`, { signal: AbortSignal.timeout(15_000) });
        assert.equal(ready.status, 503, `${n.name} /readyz`);
        assert.equal(((await ready.json()) as { Code: string }).Code, 'ServiceUnavailable');
        assert.equal((await fetch(`${n.baseUrl}/healthz`, { signal: AbortSignal.timeout(5_000) })).status, 200, `${n.name} is alive`);
      }
      // The API too: 503, not 500.
      const api = await within(call(C.baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages`, { token: mary.token }), 15_000, 'API during the outage');
      assert.equal(api.status, 503, api.text);
    } finally {
      cluster.pgProxy.restore();
    }

    await waitUntil(async () => {
      const statuses = await Promise.all(cluster.nodes.map((n) => fetch(`${n.baseUrl}/readyz`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, () => 0)));
      return statuses.every((s) => s === 200);
    }, 'every node ready again', 15_000, 200);
    assert.deepEqual(cluster.nodes.map((n) => n.pid), pidsBefore, 'no node restarted');
    const id = assertStored(await postHook(A.baseUrl, later, 'the database is back'), roomId);
    const got = await waitSeq(maryOnB, roomId, 1);
    assert.ok(got.type === 'message.created' && got.message.id === id);
    assert.deepEqual((await storedMessages(roomId)).map((m) => m.content), ['the database is back'], 'nothing answered 503 was stored');
  });

  scenario('PostgreSQL stalled (answers nothing) → 503 with Retry-After within the request timeout, never a hang; restored → 200 again', async (t) => {
    await cluster.ensure();
    const roomId = await newRoom('Database stall');
    const during = await newHook(A, roomId, 'Stall during');
    const later = await newHook(A, roomId, 'Stall after');
    // The node has pooled connections to the database: they are the ones that stall.
    assert.equal((await fetch(`${A.baseUrl}/readyz`)).status, 200);

    cluster.pgProxy.stall();
    try {
      // Within the server's request timeout (30 s): the pool's connect and query timeouts must fire first.
      const [post, ready] = await Promise.all([
        postHook(A.baseUrl, during, 'while the database hangs', 30_000),
        fetch(`${A.baseUrl}/readyz`, { signal: AbortSignal.timeout(30_000) }).then(async (r) => ({ status: r.status, json: (await r.json()) as { Code?: string } })),
      ]);
      t.diagnostic(`a webhook post answered ${post.status} after ${post.ms} ms with the database stalled`);
      assertJsonError(post, 503, 'ServiceUnavailable');
      assertRetryAfter(post);
      assert.equal(ready.status, 503);
      assert.equal(ready.json.Code, 'ServiceUnavailable');
    } finally {
      cluster.pgProxy.restore();
    }
    await waitUntil(async () => (await fetch(`${A.baseUrl}/readyz`, { signal: AbortSignal.timeout(15_000) }).catch(() => undefined))?.status === 200, 'node A ready again', 20_000, 200);
    assertStored(await postHook(A.baseUrl, later, 'the database answers again', 15_000), roomId);
    assert.deepEqual((await storedMessages(roomId)).map((m) => m.content), ['the database answers again']);
  }, 90_000);

  scenario('through nginx: a stopped node costs no webhook post; with every node down, a post gets 503 JSON with Retry-After', async () => {
    await cluster.ensure();
    const roomId = await newRoom('All down');
    const hooks: Hook[] = [];
    for (let i = 0; i < 6; i++) hooks.push(await newHook(A, roomId, `Nobody home ${i}`));
    const onA = await openStream(A.baseUrl, mary, { [roomId]: 0 });

    // One node stopped (a rolling restart): nginx skips it, so no post sent meanwhile is refused
    // (webhook clients never retry: a 503 would be a lost message).
    assert.equal((await B.stop())?.code, 0, 'node B drains and exits cleanly');
    const duringRestart = [];
    for (const hook of hooks) duringRestart.push(await postHook(cluster.nginx.baseUrl, hook, 'while node B is down', 10_000));
    assert.deepEqual(duringRestart.map((a) => a.status), hooks.map(() => 200), duringRestart.map((a) => a.text).join(' | '));

    const exits = await Promise.all([A, C].map((n) => n.stop()));
    assert.deepEqual(exits.map((e) => e?.code), [0, 0], 'each node drains and exits cleanly');
    const closed = await within(onA.closed, 5_000, 'the stream to close');
    assert.equal(closed.code, 1012, 'closed with the reconnect hint');

    for (let i = 0; i < 2; i++) {
      // The first finds every node refusing; the next finds nginx with no live upstream: both JSON.
      const a = await postHook(cluster.nginx.baseUrl, hooks[i]!, 'is anyone there?', 10_000);
      assertJsonError(a, 503, 'ServiceUnavailable');
      assertRetryAfter(a);
    }
    assert.equal((await storedMessages(roomId)).length, hooks.length);
  });

  scenario('kill -9 of one node under load: no acknowledged message lost; its clients resume on another node without gaps', async (t) => {
    // Several posts a second per webhook: the load, not the limit, is under test here.
    await cluster.ensure({ WEBHOOK_RATE_PER_SECOND: '1000', WEBHOOK_BURST: '100' });
    const roomId = await newRoom('Crash');
    const hooks: Hook[] = [];
    for (let i = 0; i < 4; i++) hooks.push(await newHook(A, roomId, `Load ${i}`));

    for (const node of cluster.nodes) {
      for (const user of [mary, john]) readers.push(new Reader(user.token, roomId, node.baseUrl, cluster.nginx.baseUrl, node.name));
    }
    await Promise.all(readers.map((r) => r.start()));

    const outcomes: { status: number; id?: string; error?: string; startedAt: number }[] = [];
    let killedAt = Infinity;
    let killSentAt = Infinity;
    let k = 0;
    const stopAt = Date.now() + 4_000;
    const poster = async () => {
      while (Date.now() < stopAt) {
        const n = k++;
        const startedAt = Date.now();
        try {
          const a = await postHook(cluster.nginx.baseUrl, hooks[n % hooks.length]!, `load ${n}`, 15_000);
          outcomes.push(a.status === 200 ? { status: 200, id: a.json.MessageId, startedAt } : { status: a.status, error: a.text, startedAt });
          if (a.status !== 200) assert.ok(a.json?.Code, `every answer through nginx is JSON: ${a.status} ${a.text}`);
        } catch (e) {
          outcomes.push({ status: 0, error: String(e), startedAt });
        }
        await sleep(10);
      }
    };
    const killer = async () => {
      await sleep(1_500);
      killSentAt = Date.now();
      await B.kill9();
      killedAt = Date.now();
    };
    await Promise.all([...range(6).map(() => poster()), killer()]);

    const acked = outcomes.filter((o) => o.status === 200).map((o) => o.id!);
    const indeterminate = outcomes.filter((o) => o.status === 0 || o.status >= 500);
    const refusedAfterDeath = outcomes.filter((o) => o.status !== 200 && o.startedAt > killedAt).length;
    t.diagnostic(
      `${outcomes.length} posts through nginx: ${acked.length} acknowledged, ${indeterminate.length} without a 200 (in flight on node B when it died, or sent before nginx saw it die: ${outcomes.filter((o) => o.status !== 200 && o.startedAt > killSentAt).length} started after the kill, ${refusedAfterDeath} after its exit)`,
    );
    assert.ok(acked.length >= 50, `enough load: ${acked.length} acknowledged`);
    assert.ok(outcomes.every((o) => o.status === 200 || o.status === 0 || o.status === 503), `only 200 or 503: ${JSON.stringify(outcomes.filter((o) => o.status !== 200).slice(0, 5))}`);

    const stored = await storedMessages(roomId);
    assert.deepEqual(stored.map((m) => m.seq), range(stored.length), 'seqs in the store are gap-free');
    const storedIds = new Set(stored.map((m) => m.id));
    const lost = acked.filter((id) => !storedIds.has(id));
    assert.deepEqual(lost, [], 'every acknowledged message is in the store');
    // A post in flight on the killed node may have committed without its 200 reaching the sender.
    const ackedIds = new Set(acked);
    const phantoms = stored.filter((m) => !ackedIds.has(m.id));
    assert.ok(phantoms.length <= indeterminate.length, `${phantoms.length} stored without a 200, but only ${indeterminate.length} posts had no answer`);

    const last = stored.length;
    await waitUntil(() => readers.every((r) => r.lastSeq >= last || r.failure !== undefined), `every client to reach seq ${last}`, 20_000, 100);
    for (const r of readers) {
      assert.equal(r.failure, undefined, `${r.label}: ${String(r.failure)}`);
      assert.deepEqual(r.seqs, range(last), `${r.label} (${r.connections} connections): every message once, in order, no gap`);
      assert.deepEqual(r.ids, stored.map((m) => m.id), `${r.label}: the store's messages`);
    }
    const moved = readers.filter((r) => r.label === B.name);
    for (const r of moved) {
      assert.ok(r.connections >= 2, `${r.label}'s client reconnected (${r.connections} connections)`);
      assert.ok(r.resumedFrom.some((s) => s > 0), `${r.label}'s client resumed from where it was (${r.resumedFrom.join(',')})`);
    }
    for (const r of readers.filter((x) => x.label !== B.name)) assert.equal(r.connections, 1, `${r.label}'s client was not disturbed`);
    await Promise.all(readers.map((r) => r.stop()));
  }, 90_000);

  /**
   * A stream client that reconnects like the web client: after losing its node it connects again
   * (through nginx, so to a node that is alive) and resumes from the last seq it has. It records
   * every message in arrival order, across connections, without filtering duplicates.
   */
  class Reader {
    readonly seqs: number[] = [];
    readonly ids: string[] = [];
    readonly resumedFrom: number[] = [];
    connections = 0;
    failure: unknown;
    private client: StreamClient | undefined;
    stopped = false;

    constructor(
      private readonly token: string,
      private readonly roomId: string,
      private readonly firstUrl: string,
      private readonly reconnectUrl: string,
      readonly label: string,
    ) {}

    get lastSeq(): number {
      return this.seqs.at(-1) ?? 0;
    }

    async start(): Promise<void> {
      const c = await this.connect(this.firstUrl);
      await within(c.waitFor((f) => f.type === 'resumed' && f.roomId === this.roomId), 10_000, 'resumed');
    }

    private async connect(url: string): Promise<StreamClient> {
      const c = await within(StreamClient.connect(url, { token: this.token }), 10_000, `stream on ${url}`);
      streams.push(c);
      this.connections++;
      this.client = c;
      c.ws.on('message', (data) => {
        const f = JSON.parse(data.toString()) as ServerFrame;
        if (f.type === 'message.created' && f.message.roomId === this.roomId) {
          this.seqs.push(f.message.seq);
          this.ids.push(f.message.id);
        }
      });
      this.resumedFrom.push(this.lastSeq);
      c.send({ type: 'resume', rooms: { [this.roomId]: this.lastSeq } });
      void c.closed.then(() => {
        if (!this.stopped && this.client === c) void this.reconnect();
      });
      return c;
    }

    private async reconnect(): Promise<void> {
      const deadline = Date.now() + 20_000;
      for (let delay = 100; !this.stopped; delay = Math.min(delay * 2, 1_000)) {
        try {
          await this.connect(this.reconnectUrl);
          return;
        } catch (e) {
          if (Date.now() > deadline) {
            this.failure = e;
            return;
          }
          await sleep(delay);
        }
      }
    }

    async stop(): Promise<void> {
      this.stopped = true;
      await this.client?.close();
    }
  }
});
