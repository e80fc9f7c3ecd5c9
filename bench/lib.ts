/** Shared helpers for `npm run bench`: processes pinned to cores, readiness, percentiles, tables. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const hasTaskset = spawnSync('taskset', ['--version']).status === 0;
export const coreCount = cpus().length;

/** Core for the server under test, and for the load generator (different when there are two). */
export const SERVER_CORE = 0;
export const LOAD_CORE = coreCount > 1 ? 1 : 0;

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Spawns `node args…` pinned to `core` when taskset exists (taskset execs node, so the child's pid
 * is node's). `ipc` adds a message channel (the stream workers take commands over it).
 */
export function spawnNode(args: string[], options: { core?: number; env?: NodeJS.ProcessEnv; ipc?: boolean } = {}): ChildProcess {
  const cmd = hasTaskset && options.core !== undefined ? 'taskset' : process.execPath;
  const argv = hasTaskset && options.core !== undefined ? ['-c', String(options.core), process.execPath, ...args] : args;
  const stdio: ('ignore' | 'pipe' | 'ipc')[] = options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'];
  const child = spawn(cmd, argv, { env: { ...process.env, ...options.env }, stdio });
  // A child's stderr is shown as it comes (a crash in a worker or the server is then visible).
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[${args[0]?.split('/').pop()}] ${d}`));
  return child;
}

/** A free TCP port on the loopback (there is a small race until the child binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Resident set size of a process in KiB (VmRSS from /proc/<pid>/status); NaN where there is no /proc. */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Short runs while developing: `BENCH_QUICK=1 npm run bench`. */
export const QUICK = process.env.BENCH_QUICK === '1';

/** Reads the first JSON line a child prints (floors print {port}). */
export function firstJsonLine<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        try {
          resolve(JSON.parse(buf.slice(0, nl)) as T);
        } catch (e) {
          reject(e);
        }
      }
    });
    // 'close', not 'exit': it comes after the child's stdout has been read to its end.
    child.on('close', (code) => reject(new Error(`process exited with ${code} before printing JSON: ${buf.slice(0, 500)}`)));
  });
}

export async function waitForOk(url: string, timeoutMs = 30_000): Promise<number> {
  const start = performance.now();
  for (;;) {
    try {
      if ((await fetch(url)).ok) return performance.now() - start;
    } catch {
      /* not yet */
    }
    if (performance.now() - start > timeoutMs) throw new Error(`${url} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5000).unref();
  });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarize(values: number[]): { p50: number; p99: number; max: number; n: number } {
  const s = [...values].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN, n: s.length };
}

export const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i]!)).join('  ')).join('\n');
}

/** Starts a bare floor server (floors/*.mjs) on the server core; it prints {port}. */
export async function startFloor(name: 'bare-http' | 'bare-ws'): Promise<{ child: ChildProcess; origin: string; pid: number }> {
  const child = spawnNode([join(repoRoot, `bench/floors/${name}.mjs`)], { core: SERVER_CORE });
  const { port } = await firstJsonLine<{ port: number }>(child);
  return { child, origin: `http://127.0.0.1:${port}`, pid: child.pid! };
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/**
 * CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat. Unlike
 * wall-clock rates it barely moves when other work shares the machine: CPU ms per request is the
 * figure to compare across noisy runs.
 */
/**
 * CPU ms (user + system) of each thread of a process, by thread id (/proc/<pid>/task/<tid>/stat);
 * the event loop's thread id is the pid. Node 20 does not name its threads (all are "node"), so the
 * others (the SQLite writer, V8's GC and compiler helpers, libuv's pool) are told apart by their load.
 * Threads that ended before the call are not counted.
 */
export function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
