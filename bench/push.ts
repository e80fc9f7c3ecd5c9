/**
 * Web Push (issue 13): pushes/s from Carillon to a loopback push service (bench/load/
 * push-endpoint.mjs, on the load core), and the webhook's POST latency at a fixed open-loop rate
 * with push subscriptions present (every post pushed to every member's device) against the same
 * load on a server with none. Pushes are sent after the 200, so the two latencies should match.
 */
import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { type SeededRoom, seed, startCarillon } from './carillon.js';
import { type PostResult, runPosters } from './clients.js';
import { LOAD_CORE, QUICK, firstJsonLine, repoRoot, sleep, spawnNode, stop, tempDir } from './lib.js';

const ROOMS = 5;
const MEMBERS = 10;
const WEBHOOKS = 10;
const DEVICES = 1;
/** Open-loop webhook posts per second for the latency comparison. */
export const PUSH_BENCH_RATE = 100;
/**
 * In the latency run, this many members of each room have the 'all' setting (the others keep the
 * default, and the posts mention nobody): 100 posts/s make 200 pushes/s, while every member's
 * subscription is still read and weighed for every message.
 */
export const NOTIFY_ALL_PER_ROOM = 2;

export interface PushBenchResult {
  throughput: { posts: number; pushesExpected: number; pushesReceived: number; seconds: number; perSecond: number; drainAfterLastPostMs: number };
  latency: {
    rate: number;
    seconds: number;
    without: { p50: number | null; p99: number | null; ok: number };
    with: { p50: number | null; p99: number | null; ok: number; pushesReceived: number; pushesExpected: number };
  };
}

interface EndpointStats {
  count: number;
  firstAt: number;
  lastAt: number;
}

async function startEndpoint() {
  const child = spawnNode([join(repoRoot, 'bench/load/push-endpoint.mjs')], { core: LOAD_CORE });
  const { port } = await firstJsonLine<{ port: number }>(child);
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    stats: async () => (await (await fetch(`${origin}/stats`)).json()) as EndpointStats,
    reset: async () => void (await fetch(`${origin}/reset`, { method: 'POST' })),
    stop: () => stop(child),
  };
}

/**
 * `DEVICES` push subscriptions per member on the endpoint, every member notified of every message
 * ('all'), written straight into the seeded database before the server starts.
 */
export function subscribeEveryone(dataDir: string, endpointOrigin: string): number {
  const db = new BetterSqlite3(join(dataDir, 'carillon.db'));
  try {
    const users = db.prepare('select user_id from room_members').pluck().all() as string[];
    const insert = db.prepare('insert into push_subscriptions (id, user_id, endpoint, p256dh, auth, expires_at, created_at, updated_at) values (?, ?, ?, ?, ?, null, ?, ?)');
    const now = Date.now();
    db.transaction(() => {
      for (const userId of users) {
        for (let d = 0; d < DEVICES; d++) {
          const p256dh = createECDH('prime256v1').generateKeys().toString('base64url');
          insert.run(randomUUID(), userId, `${endpointOrigin}/push/${randomUUID()}`, p256dh, randomBytes(16).toString('base64url'), now, now);
        }
      }
      db.prepare("update room_members set notify = 'all'").run();
    })();
    return users.length * DEVICES;
  } finally {
    db.close();
  }
}

async function waitForPushes(endpoint: Awaited<ReturnType<typeof startEndpoint>>, expected: number, maxMs: number): Promise<EndpointStats> {
  const until = performance.now() + maxMs;
  let last = await endpoint.stats();
  while (last.count < expected && performance.now() < until) {
    await sleep(50);
    last = await endpoint.stats();
  }
  return last;
}

const urlsOf = (origin: string, rooms: SeededRoom[]) => rooms.flatMap((r) => r.webhookPaths.map((p) => origin + p));

export async function benchPush(): Promise<PushBenchResult> {
  const seconds = QUICK ? 3 : 10;
  const burstPosts = QUICK ? 200 : 1000;
  const endpoint = await startEndpoint();
  const dirs: string[] = [];
  try {
    // ---- throughput: a burst of posts, every one pushed to each member's devices ----
    const pushDir = tempDir('carillon-bench-push-');
    dirs.push(pushDir);
    const rooms = await seed(pushDir, { rooms: ROOMS, membersPerRoom: MEMBERS, webhooksPerRoom: WEBHOOKS });
    subscribeEveryone(pushDir, endpoint.origin);
    const env = { PUSH_ENDPOINT_HOSTS: endpoint.origin };
    let throughput: PushBenchResult['throughput'];
    let withPush: PushBenchResult['latency']['with'];
    {
      const server = await startCarillon(pushDir, env);
      try {
        const urls = urlsOf(server.origin, rooms);
        // Warm-up: JIT, web-push loaded, keep-alive connections to the push service.
        const warm = await runPosters({ urls, rate: 50, seconds: 1 });
        await waitForPushes(endpoint, warm.ok * MEMBERS * DEVICES, 20_000);
        await endpoint.reset();
        const t0 = Date.now();
        const burst: PostResult = await runPosters({ urls, concurrency: 10, seconds: burstPosts / 500 });
        const lastPostAt = t0 + burst.lastAnswerS * 1000;
        const expected = burst.ok * MEMBERS * DEVICES;
        const got = await waitForPushes(endpoint, expected, 120_000);
        const span = (got.lastAt - Math.min(t0, got.firstAt)) / 1000;
        throughput = {
          posts: burst.ok,
          pushesExpected: expected,
          pushesReceived: got.count,
          seconds: span,
          perSecond: got.count / span,
          drainAfterLastPostMs: got.lastAt - lastPostAt,
        };

        // ---- latency with subscriptions: open loop at PUSH_BENCH_RATE, on the same (warm) server ----
        for (const room of rooms) {
          for (const token of room.memberTokens.slice(NOTIFY_ALL_PER_ROOM)) {
            const r = await fetch(`${server.origin}/api/v1/rooms/${room.id}/settings`, {
              method: 'PATCH',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body: JSON.stringify({ notify: 'mentions' }),
            });
            if (r.status !== 200) throw new Error(`PATCH settings: ${r.status} ${await r.text()}`);
          }
        }
        await endpoint.reset();
        const open = await runPosters({ urls, rate: PUSH_BENCH_RATE, seconds });
        const expectedPushes = open.ok * NOTIFY_ALL_PER_ROOM * DEVICES;
        const pushes = await waitForPushes(endpoint, expectedPushes, 60_000);
        withPush = { p50: open.postP50, p99: open.postP99, ok: open.ok, pushesReceived: pushes.count, pushesExpected: expectedPushes };
      } finally {
        await server.stop();
      }
    }

    // ---- latency without subscriptions: the same seed and load, nobody subscribed ----
    const plainDir = tempDir('carillon-bench-push-none-');
    dirs.push(plainDir);
    const plainRooms = await seed(plainDir, { rooms: ROOMS, membersPerRoom: MEMBERS, webhooksPerRoom: WEBHOOKS });
    let without: PushBenchResult['latency']['without'];
    {
      const server = await startCarillon(plainDir, env);
      try {
        const urls = urlsOf(server.origin, plainRooms);
        await runPosters({ urls, rate: 50, seconds: 1 });
        const t0 = performance.now();
        // The same warm-up as the other server had (its burst), then the same open loop.
        await runPosters({ urls, concurrency: 10, seconds: burstPosts / 500 });
        await sleep(Math.max(0, 500 - (performance.now() - t0)));
        const open = await runPosters({ urls, rate: PUSH_BENCH_RATE, seconds });
        without = { p50: open.postP50, p99: open.postP99, ok: open.ok };
      } finally {
        await server.stop();
      }
    }
    return { throughput, latency: { rate: PUSH_BENCH_RATE, seconds, without, with: withPush } };
  } finally {
    await endpoint.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchPush(), null, 2));
}
