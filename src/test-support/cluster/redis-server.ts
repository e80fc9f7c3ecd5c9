/** The multi-node suite's own redis-server process (so killing it disturbs no other test file). */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { tail, track } from './children.js';
import { waitUntil, within } from './wait.js';

export class RedisServer {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> | undefined;

  constructor(
    private readonly binary: string,
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) return;
    mkdirSync(this.dir, { recursive: true });
    const log = join(this.dir, 'redis.log');
    const child = spawn(
      this.binary,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, '--logfile', log],
      { stdio: 'ignore' },
    );
    this.child = child;
    this.exited = track(child, 'SIGKILL').then(() => {
      if (this.child === child) this.child = undefined;
    });
    await waitUntil(async () => {
      if (!this.child) throw new Error(`redis-server exited at start:\n${tail(log)}`);
      return this.ping();
    }, `redis-server on port ${this.port}`, 10_000);
  }

  private ping(): Promise<boolean> {
    return new Promise((r) => {
      const s = net.connect(this.port, '127.0.0.1');
      let got = '';
      s.setTimeout(1000, () => (s.destroy(), r(false)));
      s.on('connect', () => s.write('PING\r\n'));
      s.on('data', (d) => {
        got += d.toString();
        if (got.includes('\r\n')) {
          s.destroy();
          r(got.startsWith('+PONG'));
        }
      });
      s.on('error', () => r(false));
    });
  }

  /** kill -9: every key is lost (no persistence), as in a crash. */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGKILL');
    await within(this.exited!, 10_000, 'redis-server to exit');
  }

  /** A short-lived client (for the test's own look into Redis). */
  async withClient<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
    const r = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    r.on('error', () => {});
    try {
      await r.connect();
      return await fn(r);
    } finally {
      r.disconnect();
    }
  }

  /** nodeId → last heartbeat (ms) from the nodes' registry (src/server/presence/node-registry.ts). */
  async heartbeats(): Promise<Map<string, number>> {
    return this.withClient(async (r) => {
      const flat = await r.zrange('carillon:nodes', '0', '-1', 'WITHSCORES');
      const out = new Map<string, number>();
      for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i]!, Number(flat[i + 1]));
      return out;
    });
  }

  /**
   * Waits until `n` nodes have each heartbeaten twice since now: the second round starts after
   * every node is registered, so every node's own view counts all `n` (rate/N, presence).
   */
  async waitForNodes(n: number, timeoutMs = 15_000): Promise<void> {
    for (let round = 0; round < 2; round++) {
      const since = Date.now();
      await waitUntil(
        async () => {
          try {
            return [...(await this.heartbeats()).values()].filter((t) => t >= since).length >= n;
          } catch {
            return false;
          }
        },
        `${n} Carillon nodes to heartbeat into Redis (round ${round + 1})`,
        timeoutMs,
        100,
      );
    }
  }
}
