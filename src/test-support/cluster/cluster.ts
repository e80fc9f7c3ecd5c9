/**
 * A real Carillon cluster for the multi-node suite (issue 8, SPEC 9): N node processes spawned from
 * the built `dist/cli/main.js serve`, one fresh PostgreSQL database reached through a loopback TCP
 * proxy the test can cut (like Toxiproxy), the suite's own redis-server process (so killing it
 * disturbs no other test file), and nginx in front, configured from deploy/nginx.conf.
 *
 * Everything is on 127.0.0.1 and free ports, lives in one temp directory, and is stopped and
 * removed by Cluster.stop() — and, if the test process dies first, by an exit handler. Missing
 * PostgreSQL, redis-server or nginx is a loud skip, or a failure under CARILLON_REQUIRE_SERVICES=1.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createPgDatabase } from '../backends.js';
import { freePort } from '../net.js';
import { liveDirs } from './children.js';
import { NginxProcess } from './nginx.js';
import { NodeProcess } from './node-process.js';
import { RedisServer } from './redis-server.js';
import { type ClusterBinaries, requireDist } from './paths.js';
import { TcpProxy } from './tcp-proxy.js';

export interface ClusterOptions {
  nodes?: number;
  /** Environment for every node (on top of PORT, DATA_DIR, DATABASE_URL, REDIS_URL, SECRET, PUBLIC_URL). */
  env?: Record<string, string>;
}

export class Cluster {
  readonly nodes: NodeProcess[] = [];
  /** The secret every node shares (SPEC 9). */
  readonly secret = randomBytes(32).toString('base64');

  private constructor(
    readonly dir: string,
    readonly redis: RedisServer,
    readonly pgProxy: TcpProxy,
    readonly nginx: NginxProcess,
    /** The database through the proxy (what the nodes use). */
    readonly databaseUrl: string,
    /** The database directly (what the test reads the store with). */
    readonly directDatabaseUrl: string,
    private readonly dropDatabase: () => Promise<void>,
    readonly defaultEnv: Record<string, string>,
  ) {}

  static async start(binaries: ClusterBinaries, options: ClusterOptions = {}): Promise<Cluster> {
    requireDist();
    const n = options.nodes ?? 3;
    const dir = mkdtempSync(join(tmpdir(), 'carillon-cluster-'));
    liveDirs.add(dir);
    // nginx workers may run as another user than the test (nginx started as root): they write request
    // bodies under dir/nginx, so they must be able to reach it.
    chmodSync(dir, 0o755);
    const parts: { db?: { url: string; drop: () => Promise<void> }; proxy?: TcpProxy; redis?: RedisServer } = {};
    let cluster: Cluster | undefined;
    try {
      parts.db = await createPgDatabase();
      const direct = new URL(parts.db.url);
      parts.proxy = new TcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
      const proxied = new URL(parts.db.url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(await parts.proxy.start());
      parts.redis = new RedisServer(binaries.redisServer, await freePort(), join(dir, 'redis'));
      await parts.redis.start();
      const nodePorts: number[] = [];
      for (let i = 0; i < n; i++) nodePorts.push(await freePort());
      const nginx = new NginxProcess(binaries.nginx, await freePort(), join(dir, 'nginx'), nodePorts);
      const c = new Cluster(dir, parts.redis, parts.proxy, nginx, proxied.toString(), parts.db.url, parts.db.drop, options.env ?? {});
      cluster = c;
      for (let i = 0; i < n; i++) {
        c.nodes.push(new NodeProcess(`node ${'ABCDEFGHIJ'[i] ?? i}`, nodePorts[i]!, join(dir, `node-${i}`), () => c.commonEnv()));
      }
      // All at once, as `systemctl start carillon@8081 carillon@8082 carillon@8083` would.
      await Promise.all(c.nodes.map((node) => node.start(c.defaultEnv)));
      await nginx.start();
      return c;
    } catch (e) {
      if (cluster) await cluster.stop().catch(() => {});
      else {
        await parts.redis?.kill().catch(() => {});
        await parts.proxy?.close().catch(() => {});
        await parts.db?.drop().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
        liveDirs.delete(dir);
      }
      throw e;
    }
  }

  private commonEnv(): Record<string, string> {
    return {
      DATABASE_URL: this.databaseUrl,
      REDIS_URL: this.redis.url,
      SECRET: this.secret,
      PUBLIC_URL: this.nginx.baseUrl,
    };
  }

  node(i: number): NodeProcess {
    const node = this.nodes[i];
    if (!node) throw new Error(`no node ${i}`);
    return node;
  }

  /**
   * Makes every node run with `env` (on top of the cluster's default environment): starts the
   * stopped ones and restarts (SIGTERM) those running with another environment. Also restores
   * PostgreSQL and Redis if a test left them down.
   */
  async ensure(env: Record<string, string> = {}): Promise<void> {
    const want = { ...this.defaultEnv, ...env };
    this.pgProxy.restore();
    if (!this.redis.running) await this.redis.start();
    const same = (a: Record<string, string>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(want).sort());
    await Promise.all(
      this.nodes.map(async (node) => {
        if (node.running && same(node.env)) return;
        if (node.running) await node.stop();
        await node.start(want);
      }),
    );
  }

  /** Exits nobody asked for (a crashed node), with the end of its log. */
  unexpectedExits(): string[] {
    return this.nodes.flatMap((node) =>
      node.exits.filter((e) => !e.expected).map((e) => `${node.name} exited unexpectedly (code ${e.code}, signal ${e.signal}):\n${node.logTail()}`),
    );
  }

  /** The end of every node's log, for a failure message. */
  logs(lines = 15): string {
    const short = (text: string) => text.split('\n').map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l)).join('\n');
    return this.nodes.map((node) => `--- ${node.name} (${node.baseUrl}) ---\n${short(node.logTail(lines))}`).join('\n');
  }

  /** Copies every log (nodes, nginx, redis) to `dest`, to keep them past stop() (e.g. test-results/ in CI). */
  saveLogs(dest: string): string[] {
    mkdirSync(dest, { recursive: true });
    const files: [string, string][] = [
      ...this.nodes.map((node, i): [string, string] => [node.logFile, `node-${i}.log`]),
      [this.nginx.errorLog, 'nginx-error.log'],
      [join(this.dir, 'nginx', 'access.log'), 'nginx-access.log'],
      [join(this.dir, 'redis', 'redis.log'), 'redis.log'],
    ];
    const saved: string[] = [];
    for (const [from, name] of files) {
      if (!existsSync(from)) continue;
      copyFileSync(from, join(dest, name));
      saved.push(join(dest, name));
    }
    return saved;
  }

  /** A query on the database itself (not through the proxy): the store as it really is. */
  async query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.directDatabaseUrl });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  }

  /** Stops everything and removes the database and the temp directory; every step runs even if one fails. */
  async stop(): Promise<void> {
    const steps: (() => Promise<unknown>)[] = [
      async () => {
        const results = await Promise.allSettled(this.nodes.map((node) => node.stop(10_000)));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      },
      () => this.nginx.stop(),
      () => this.redis.kill(),
      () => this.pgProxy.close(),
      () => this.dropDatabase(),
    ];
    const errors: unknown[] = [];
    for (const step of steps) {
      try {
        await step();
      } catch (e) {
        errors.push(e);
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    liveDirs.delete(this.dir);
    if (errors.length > 0) throw new AggregateError(errors, 'cluster cleanup had errors');
  }
}
