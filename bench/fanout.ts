/**
 * Fan-out: one 50-member room with 2 clients per member (100 sockets). Open loop at 100 posts/s:
 * POST → frame latency; closed loop: deliveries/s with K concurrent posters. The same two against
 * the bare ws broadcast floor.
 */
import { withCarillon } from './carillon.js';
import { type StreamStats, StreamWorker, mergeStats, runPosters } from './clients.js';
import { QUICK, sleep, startFloor, stop, summarize } from './lib.js';

const MEMBERS = 50;
const CLIENTS_PER_MEMBER = 2;
const SOCKETS = MEMBERS * CLIENTS_PER_MEMBER;
const RATE = 100;
/** Concurrent posters of the closed loop. */
export const CLOSED_LOOP_POSTERS = 20;

export interface FanoutSide {
  sockets: number;
  /** Open loop: POST → frame received, over every delivery. */
  e2e: { p50: number; p99: number; max: number; n: number };
  posted: number;
  acked: number;
  /** Deliveries missing after the open loop (acked × sockets − received). */
  lost: number;
  /** Closed loop: frames received per second over all sockets, and the posts per second behind them. */
  deliveriesPerSecond: number;
  postsPerSecond: number;
  closedLoopNon200: number;
}

export interface FanoutResult {
  seconds: number;
  closedLoopSeconds: number;
  posters: number;
  bare: FanoutSide;
  carillon: FanoutSide;
  deliveriesRatio: number;
  e2eP99Ratio: number;
}

/** Waits until every acked message reached every socket (or `maxMs` passed); returns the window's stats. */
export async function drain(workers: StreamWorker[], expected: number, maxMs: number): Promise<StreamStats[]> {
  const until = performance.now() + maxMs;
  for (;;) {
    const stats = await Promise.all(workers.map((w) => w.stats()));
    if (stats.reduce((a, s) => a + s.frames, 0) >= expected || performance.now() > until) return stats;
    await sleep(100);
  }
}

async function measure(worker: StreamWorker, urls: string[], seconds: number, closedSeconds: number, keyed: boolean): Promise<FanoutSide> {
  // Warm-up (JIT, connections of the posters' agent on the server side).
  await runPosters({ urls, rate: RATE, seconds: 1 });
  await sleep(300);

  await worker.reset(true);
  const open = await runPosters({ urls, rate: RATE, seconds });
  const [stats] = await drain([worker], open.ok * SOCKETS, 5_000);
  const merged = mergeStats([stats!]);
  let lost = open.ok * SOCKETS - merged.frames;
  if (keyed) {
    // Carillon answers MessageIds: count per acknowledged message.
    lost = 0;
    for (const [id] of open.acked) lost += Math.max(0, SOCKETS - (merged.deliveries.get(id) ?? 0));
  }

  await worker.reset(false);
  const closed = await runPosters({ urls, concurrency: CLOSED_LOOP_POSTERS, seconds: closedSeconds });
  await sleep(200);
  const window = await worker.stats();
  return {
    sockets: SOCKETS,
    e2e: summarize(merged.latencies),
    posted: open.sent,
    acked: open.ok,
    lost,
    deliveriesPerSecond: window.frames / closed.seconds,
    postsPerSecond: closed.ok / closed.seconds,
    closedLoopNon200: closed.sent - closed.ok,
  };
}

export async function benchFanout(): Promise<FanoutResult> {
  const seconds = QUICK ? 3 : 10;
  const closedSeconds = QUICK ? 2 : 5;

  const floor = await startFloor('bare-ws');
  const bareWorker = new StreamWorker();
  let bare: FanoutSide;
  try {
    const c = await bareWorker.connect(floor.origin.replace('http', 'ws'), { count: SOCKETS }, false);
    if (c.connected !== SOCKETS) throw new Error(`bare ws: only ${c.connected} of ${SOCKETS} sockets connected`);
    bare = await measure(bareWorker, [`${floor.origin}/post`], seconds, closedSeconds, false);
  } finally {
    await bareWorker.close();
    await stop(floor.child);
  }

  const carillon = await withCarillon({ rooms: 1, membersPerRoom: MEMBERS, webhooksPerRoom: 10 }, async (server, [room]) => {
    const worker = new StreamWorker();
    try {
      const tokens = room!.memberTokens.flatMap((t) => Array.from({ length: CLIENTS_PER_MEMBER }, () => t));
      const c = await worker.connect(`${server.origin.replace('http', 'ws')}/api/v1/stream`, { tokens }, true);
      if (c.connected !== SOCKETS) throw new Error(`carillon: only ${c.connected} of ${SOCKETS} sockets connected`);
      return await measure(worker, room!.webhookPaths.map((p) => server.origin + p), seconds, closedSeconds, true);
    } finally {
      await worker.close();
    }
  });

  return {
    seconds,
    closedLoopSeconds: closedSeconds,
    posters: CLOSED_LOOP_POSTERS,
    bare,
    carillon,
    deliveriesRatio: carillon.deliveriesPerSecond / bare.deliveriesPerSecond,
    e2eP99Ratio: carillon.e2e.p99 / bare.e2e.p99,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchFanout(), null, 2));
}
