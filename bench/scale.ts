/**
 * Scale and memory: 100 rooms × 50 members × 2 clients (10,000 sockets over a few worker
 * processes), seeded through the Store. First the RSS per idle socket, then 1,000 posts/s across
 * the 1,000 webhooks: e2e latency, lost and late deliveries, and the server's RSS meanwhile.
 */
import { withCarillon } from './carillon.js';
import { StreamWorker, mergeStats, runPosters } from './clients.js';
import { drain } from './fanout.js';
import { QUICK, sleep, summarize } from './lib.js';

const ROOMS = 100;
const MEMBERS = 50;
const CLIENTS_PER_MEMBER = 2;
const SOCKETS_PER_ROOM = MEMBERS * CLIENTS_PER_MEMBER;
const RATE = 1000;
const WORKERS = 4;
/** A delivery later than this after its POST counts as late. */
export const LATE_MS = 1000;

export interface ScaleResult {
  sockets: number;
  connected: number;
  workers: number;
  seconds: number;
  rate: number;
  memory: { baseRssKiB: number; idleRssKiB: number; perSocketKiB: number; underLoadMaxRssKiB: number };
  posted: number;
  acked: number;
  /** Acked posts per second, from the first post to the last answer (1,000 if the server keeps up). */
  ackedPerSecond: number;
  non200: number;
  statuses: Record<string, number>;
  e2e: { p50: number; p99: number; max: number; n: number };
  expectedDeliveries: number;
  lost: number;
  late: number;
  gaps: number;
  duplicates: number;
  closedSockets: number;
}

export async function benchScale(): Promise<ScaleResult> {
  const seconds = QUICK ? 3 : 10;
  return withCarillon({ rooms: ROOMS, membersPerRoom: MEMBERS, webhooksPerRoom: 10 }, async (server, rooms) => {
    const workers = Array.from({ length: WORKERS }, () => new StreamWorker());
    try {
      // Settle after start (the first requests compile the routes), then the baseline RSS.
      await sleep(1000);
      const baseRssKiB = server.rss();
      // Each room's sockets are spread over every worker.
      const tokens: string[][] = workers.map(() => []);
      let k = 0;
      for (const room of rooms) for (const t of room.memberTokens) for (let c = 0; c < CLIENTS_PER_MEMBER; c++) tokens[k++ % WORKERS]!.push(t);
      const url = `${server.origin.replace('http', 'ws')}/api/v1/stream`;
      const connects = await Promise.all(workers.map((w, i) => w.connect(url, { tokens: tokens[i]! }, true)));
      const connected = connects.reduce((a, c) => a + c.connected, 0);
      await sleep(2000);
      const idleRssKiB = server.rss();

      await Promise.all(workers.map((w) => w.reset(true)));
      let underLoadMaxRssKiB = idleRssKiB;
      const sampler = setInterval(() => (underLoadMaxRssKiB = Math.max(underLoadMaxRssKiB, server.rss())), 250);
      let posted;
      try {
        posted = await runPosters({ urls: rooms.flatMap((r) => r.webhookPaths.map((p) => server.origin + p)), rate: RATE, seconds });
      } finally {
        clearInterval(sampler);
      }
      const expectedDeliveries = posted.ok * SOCKETS_PER_ROOM;
      const merged = mergeStats(await drain(workers, expectedDeliveries, 10_000));
      let lost = 0;
      for (const [id] of posted.acked) lost += Math.max(0, SOCKETS_PER_ROOM - (merged.deliveries.get(id) ?? 0));
      return {
        sockets: ROOMS * SOCKETS_PER_ROOM,
        connected,
        workers: WORKERS,
        seconds,
        rate: RATE,
        memory: { baseRssKiB, idleRssKiB, perSocketKiB: (idleRssKiB - baseRssKiB) / connected, underLoadMaxRssKiB },
        posted: posted.sent,
        acked: posted.ok,
        ackedPerSecond: posted.ok / posted.lastAnswerS,
        non200: posted.sent - posted.ok,
        statuses: { ...posted.statuses, ...(posted.errors ? { 'connection errors': posted.errors } : {}), unanswered: posted.sent - posted.answered - posted.errors },
        e2e: summarize(merged.latencies),
        expectedDeliveries,
        lost,
        late: merged.latencies.filter((l) => l > LATE_MS).length,
        gaps: merged.gaps,
        duplicates: merged.duplicates,
        closedSockets: merged.closed,
      };
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchScale(), null, 2));
}
