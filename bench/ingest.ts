/**
 * Ingest: webhook POST throughput and latency at 50 connections over 50 webhooks (5 rooms × 10),
 * Carillon (durable: synchronous=FULL, group commit) against the bare http floor, then a check
 * that every 200 is in the database.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { countStored, seed, startCarillon } from './carillon.js';
import { LOAD_CORE, QUICK, cpuMs, firstJsonLine, repoRoot, spawnNode, startFloor, stop, tempDir, threadCpuMs } from './lib.js';

interface AutocannonResult {
  /** Server CPU (user + system) per request during the run, in ms: robust to other load on the machine. */
  serverCpuMsPerRequest?: number;
  /** The same, by server thread: "event loop", then the other threads, busiest first ("thread 1" is the SQLite writer under ingest load). */
  serverThreadCpuMsPerRequest?: Record<string, number>;
  ok: number;
  rps: number;
  total: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

export interface IngestResult {
  connections: number;
  webhooks: number;
  seconds: number;
  bare: AutocannonResult;
  carillon: AutocannonResult;
  ratio: number;
  acked: number;
  stored: number;
  lostAcked: number;
}

async function autocannon(urls: string[], seconds: number, idsFile?: string): Promise<AutocannonResult> {
  const args = { urls, connections: 50, duration: seconds, body: 'ingest bench: deploy finished, build 1234 is live', ...(idsFile ? { idsFile } : {}) };
  const child = spawnNode([join(repoRoot, 'bench/load/autocannon-worker.mjs'), JSON.stringify(args)], { core: LOAD_CORE });
  try {
    return await firstJsonLine<AutocannonResult>(child);
  } finally {
    await stop(child);
  }
}

/** Runs the load and adds the server's CPU time per request. */
async function measured(pid: number, run: () => Promise<AutocannonResult>): Promise<AutocannonResult> {
  const before = cpuMs(pid);
  const threadsBefore = threadCpuMs(pid);
  const r = await run();
  const per = [...threadCpuMs(pid)].map(([tid, ms]) => [tid, (ms - (threadsBefore.get(tid) ?? 0)) / r.total] as const);
  const threads: Record<string, number> = {};
  const round = (x: number) => Math.round(x * 1e4) / 1e4;
  threads['event loop'] = round(per.find(([tid]) => tid === String(pid))?.[1] ?? NaN);
  per
    .filter(([tid, ms]) => tid !== String(pid) && ms > 0)
    .sort((a, b) => b[1] - a[1])
    .forEach(([, ms], i) => (threads[`thread ${i + 1}`] = round(ms)));
  return { ...r, serverCpuMsPerRequest: (cpuMs(pid) - before) / r.total, serverThreadCpuMsPerRequest: threads };
}

export async function benchIngest(): Promise<IngestResult> {
  const seconds = QUICK ? 3 : 10;
  const warmup = QUICK ? 1 : 2;
  const dataDir = tempDir('carillon-bench-ingest-');
  try {
    const rooms = await seed(dataDir, { rooms: 5, membersPerRoom: 10, webhooksPerRoom: 10 });
    const paths = rooms.flatMap((r) => r.webhookPaths);

    const floor = await startFloor('bare-http');
    let bare: AutocannonResult;
    try {
      const urls = paths.map((p) => floor.origin + p);
      await autocannon(urls, warmup);
      bare = await measured(floor.pid, () => autocannon(urls, seconds));
    } finally {
      await stop(floor.child);
    }

    const server = await startCarillon(dataDir);
    const idsFile = join(dataDir, 'acked-ids.txt');
    let carillon: AutocannonResult;
    try {
      const urls = paths.map((p) => server.origin + p);
      await autocannon(urls, warmup);
      carillon = await measured(server.pid, () => autocannon(urls, seconds, idsFile));
    } finally {
      await server.stop();
    }
    const ids = readFileSync(idsFile, 'utf8').split('\n').filter(Boolean);
    const check = countStored(dataDir, ids);
    return { connections: 50, webhooks: paths.length, seconds, bare, carillon, ratio: carillon.rps / bare.rps, ...check };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchIngest(), null, 2));
}
