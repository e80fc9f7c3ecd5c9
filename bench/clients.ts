/** The load processes: stream clients (over IPC) and webhook posters (one JSON line), pinned to the load core. */
import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOAD_CORE, firstJsonLine, repoRoot, spawnNode, stop, tempDir } from './lib.js';

export interface StreamStats {
  frames: number;
  seconds: number;
  latencies: number[];
  ids: [string, number][];
  gaps: number;
  duplicates: number;
  closed: number;
  open: number;
}

/** One stream-worker process holding many sockets. */
export class StreamWorker {
  private readonly child: ChildProcess;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(core = LOAD_CORE) {
    this.child = spawnNode([join(repoRoot, 'bench/load/stream-worker.mjs')], { core, ipc: true });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Sends one command and waits for its answer (commands run one at a time). */
  private request<T>(msg: object, timeoutMs = 120_000): Promise<T> {
    const run = () =>
      new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`stream worker: no answer to ${JSON.stringify(msg).slice(0, 40)} in ${timeoutMs} ms`)), timeoutMs);
        this.child.once('message', (answer) => {
          clearTimeout(timer);
          resolve(answer as T);
        });
        this.child.send(msg);
      });
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }

  /** Opens sockets: one per token (Carillon, Bearer auth, resume first), or `count` anonymous ones (bare ws). */
  connect(url: string, clients: { tokens: string[] } | { count: number }, carillon: boolean): Promise<{ connected: number; failed: number }> {
    return this.request({ cmd: 'connect', url, carillon, concurrency: 50, ...clients });
  }

  /** Starts a counting window; `track` parses each frame (latency, ids, seq order). */
  reset(track: boolean): Promise<void> {
    return this.request({ cmd: 'reset', track });
  }

  stats(): Promise<StreamStats> {
    return this.request({ cmd: 'stats' });
  }

  async close(): Promise<void> {
    try {
      if (this.child.connected) await this.request({ cmd: 'close' }, 5_000);
    } catch {
      /* it is stopped below anyway */
    }
    await stop(this.child);
  }
}

export interface PostResult {
  sent: number;
  /** Posts that got an HTTP answer (the rest were still waiting when the run ended, or failed). */
  answered: number;
  ok: number;
  seconds: number;
  /** Seconds from the first post to the last answer. */
  lastAnswerS: number;
  statuses: Record<string, number>;
  errors: number;
  acked: [string, string][];
  postP50: number | null;
  postP99: number | null;
}

/** Runs the posters to completion: open loop (`rate` posts/s) or closed loop (`concurrency` posters). */
export async function runPosters(options: { urls: string[]; seconds: number } & ({ rate: number } | { concurrency: number }), core = LOAD_CORE): Promise<PostResult> {
  const dir = tempDir('carillon-bench-posters-');
  const file = join(dir, 'options.json');
  writeFileSync(file, JSON.stringify(options));
  const child = spawnNode([join(repoRoot, 'bench/load/post-worker.mjs'), file], { core });
  try {
    return await firstJsonLine<PostResult>(child);
  } finally {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sums the workers' windows: frames, rate, latencies and per-message deliveries. */
export function mergeStats(all: StreamStats[]): { frames: number; perSecond: number; latencies: number[]; deliveries: Map<string, number>; gaps: number; duplicates: number; closed: number; open: number } {
  const deliveries = new Map<string, number>();
  for (const s of all) for (const [id, n] of s.ids) deliveries.set(id, (deliveries.get(id) ?? 0) + n);
  const frames = all.reduce((a, s) => a + s.frames, 0);
  const seconds = Math.max(...all.map((s) => s.seconds));
  return {
    frames,
    perSecond: frames / seconds,
    latencies: all.flatMap((s) => s.latencies),
    deliveries,
    gaps: all.reduce((a, s) => a + s.gaps, 0),
    duplicates: all.reduce((a, s) => a + s.duplicates, 0),
    closed: all.reduce((a, s) => a + s.closed, 0),
    open: all.reduce((a, s) => a + s.open, 0),
  };
}
