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
import { freePort } from './net.js';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chmodSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createPgDatabase } from './backends.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST_MAIN = join(REPO_ROOT, 'dist/cli/main.js');
const NGINX_TEMPLATE = join(REPO_ROOT, 'deploy/nginx.conf');

// ---- what the suite needs ----

/** An executable by name: an override variable, then PATH, then the sbin directories (Debian puts nginx in /usr/sbin). */
export function findBinary(name: string, override?: string): string | undefined {
  if (override && process.env[override]) return process.env[override];
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export interface ClusterBinaries {
  redisServer: string;
  nginx: string;
}

let warned = false;

/**
 * The binaries when PostgreSQL (CARILLON_TEST_DATABASE_URL), redis-server and nginx are all here;
 * otherwise undefined after a loud skip message, or an Error under CARILLON_REQUIRE_SERVICES=1.
 */
export function clusterBinaries(): ClusterBinaries | undefined {
  const redisServer = findBinary('redis-server', 'CARILLON_REDIS_SERVER');
  const nginx = findBinary('nginx', 'CARILLON_NGINX');
  const missing = [
    !process.env.CARILLON_TEST_DATABASE_URL && 'PostgreSQL (CARILLON_TEST_DATABASE_URL is not set; run: eval "$(scripts/test-services.sh start)")',
    !redisServer && 'redis-server (apt-get install redis-server)',
    !nginx && 'nginx (apt-get install nginx)',
  ].filter((m): m is string => typeof m === 'string');
  if (missing.length === 0) return { redisServer: redisServer!, nginx: nginx! };
  if (process.env.CARILLON_REQUIRE_SERVICES === '1') {
    throw new Error(`CARILLON_REQUIRE_SERVICES=1 but the multi-node suite cannot run without: ${missing.join('; ')}`);
  }
  if (!warned) {
    warned = true;
    process.stderr.write(`\n*** SKIPPED: multi-node tests — missing ${missing.join('; ')} ***\n\n`);
  }
  return undefined;
}

/** The built server entry point; a clear error when `npm run build` has not run. */
export function requireDist(): string {
  if (!existsSync(DIST_MAIN)) {
    throw new Error(`${DIST_MAIN} is missing: the multi-node suite runs the built server. Run \`npm run build\` (or \`npx tsc -p tsconfig.json\`) first.`);
  }
  const built = statSync(DIST_MAIN).mtimeMs;
  const source = statSync(join(REPO_ROOT, 'src/cli/main.ts')).mtimeMs;
  if (source > built) process.stderr.write(`\n*** WARNING: ${DIST_MAIN} is older than its source; run \`npm run build\` to test the current code ***\n\n`);
  return DIST_MAIN;
}

// ---- small utilities ----

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export { freePort };

/** Polls `cond` until it is true; fails naming `what` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** `p`, or a rejection naming `what` after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolveConn) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolveConn(true);
    });
    s.once('error', () => resolveConn(false));
  });
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// Children still running when the test process exits are stopped here (a failing test, a crash).
const liveChildren = new Map<ChildProcess, NodeJS.Signals>();
const liveDirs = new Set<string>();
function killLeftovers(): void {
  for (const [child, signal] of liveChildren) {
    try {
      child.kill(signal);
    } catch {
      /* gone */
    }
  }
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
}
process.once('exit', killLeftovers);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killLeftovers();
    process.exit(130);
  });
}

/** A child process whose exit is awaited; `signal` is how the exit handler stops it. */
function track(child: ChildProcess, leftoverSignal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  liveChildren.set(child, leftoverSignal);
  return new Promise((resolveExit) => {
    child.once('exit', (code, signal) => {
      liveChildren.delete(child);
      resolveExit({ code, signal });
    });
  });
}

// ---- a TCP proxy the test can cut or stall (loopback only) ----

interface ProxiedPair {
  client: net.Socket;
  upstream: net.Socket | undefined;
}

/**
 * Forwards 127.0.0.1:port to a target, like a Toxiproxy proxy, so a test can take the database
 * away from the nodes without touching the shared server:
 * - `cut()` resets every open connection and resets new ones as they arrive (the server is down);
 * - `stall()` keeps every connection open but forwards nothing, and holds new ones unanswered
 *   (the server hangs, or the network drops packets);
 * - `restore()` forwards again (stalled connections resume with what they buffered).
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<ProxiedPair>();
  private mode: 'open' | 'cut' | 'stalled' = 'open';
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    const server = net.createServer((client) => this.onConnection(client));
    this.server = server;
    await new Promise<void>((r, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => r());
    });
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  private onConnection(client: net.Socket): void {
    client.on('error', () => {});
    if (this.mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const pair: ProxiedPair = { client, upstream: undefined };
    this.pairs.add(pair);
    client.on('close', () => this.drop(pair));
    if (this.mode === 'stalled') client.pause();
    else this.connect(pair);
  }

  private connect(pair: ProxiedPair): void {
    const upstream = net.connect(this.target.port, this.target.host);
    pair.upstream = upstream;
    upstream.on('error', () => this.drop(pair));
    upstream.on('close', () => this.drop(pair));
    pair.client.pipe(upstream);
    upstream.pipe(pair.client);
  }

  private drop(pair: ProxiedPair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  }

  /** Drops every connection (RST) and refuses new ones until restore(). */
  cut(): void {
    this.mode = 'cut';
    for (const pair of [...this.pairs]) {
      this.pairs.delete(pair);
      if (!pair.client.destroyed) pair.client.resetAndDestroy();
      if (pair.upstream && !pair.upstream.destroyed) pair.upstream.resetAndDestroy();
    }
  }

  /** Forwards nothing more, either way, and leaves new connections unanswered, until restore(). */
  stall(): void {
    this.mode = 'stalled';
    for (const { client, upstream } of this.pairs) {
      if (!upstream) continue;
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  restore(): void {
    const was = this.mode;
    this.mode = 'open';
    if (was !== 'stalled') return;
    for (const pair of this.pairs) {
      if (!pair.upstream) this.connect(pair);
      else {
        pair.client.pipe(pair.upstream);
        pair.upstream.pipe(pair.client);
      }
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

// ---- the suite's own redis-server ----

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

// ---- Carillon nodes ----

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  expected: boolean;
}

/** One `node dist/cli/main.js serve` process on its own PORT and DATA_DIR. */
export class NodeProcess {
  private child: ChildProcess | undefined;
  private exitedPromise: Promise<ExitInfo> | undefined;
  private expectExit = false;
  /** Every exit so far (a crash shows up here with expected: false). */
  readonly exits: ExitInfo[] = [];
  /** The environment of the running (or last) process, beyond the cluster's common one. */
  env: Record<string, string> = {};

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly dir: string,
    private readonly commonEnv: () => Record<string, string>,
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get logFile(): string {
    return join(this.dir, 'node.log');
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  logTail(lines = 30): string {
    return tail(this.logFile, lines);
  }

  async start(env: Record<string, string> = {}): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already running`);
    mkdirSync(this.dir, { recursive: true });
    this.env = env;
    this.expectExit = false;
    const fd = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, ['--enable-source-maps', DIST_MAIN, 'serve'], {
      cwd: REPO_ROOT,
      // Only what the node needs: nothing of the test's own environment (its DATABASE_URL etc.) leaks in.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        PORT: String(this.port),
        HOST: '127.0.0.1',
        DATA_DIR: join(this.dir, 'data'),
        LOG_LEVEL: 'info',
        ...this.commonEnv(),
        ...env,
      },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    this.child = child;
    this.exitedPromise = track(child, 'SIGKILL').then(({ code, signal }) => {
      const info = { code, signal, expected: this.expectExit };
      this.exits.push(info);
      if (this.child === child) this.child = undefined;
      return info;
    });
    await waitUntil(
      async () => {
        if (!this.child) throw new Error(`${this.name} exited at start:\n${this.logTail()}`);
        try {
          return (await fetch(`${this.baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200;
        } catch {
          return false;
        }
      },
      `${this.name} to be ready on port ${this.port}`,
      30_000,
      100,
    );
  }

  /** kill -9: no drain, no goodbye. */
  async kill9(): Promise<ExitInfo> {
    if (!this.child) throw new Error(`${this.name} is not running`);
    this.expectExit = true;
    this.child.kill('SIGKILL');
    return within(this.exitedPromise!, 10_000, `${this.name} to die`);
  }

  /** SIGTERM (the graceful drain), then SIGKILL if it has not exited in time. */
  async stop(timeoutMs = 15_000): Promise<ExitInfo | undefined> {
    if (!this.child) return undefined;
    this.expectExit = true;
    const child = this.child;
    child.kill('SIGTERM');
    try {
      return await within(this.exitedPromise!, timeoutMs, `${this.name} to stop after SIGTERM`);
    } catch (e) {
      child.kill('SIGKILL');
      await this.exitedPromise;
      throw e;
    }
  }
}

// ---- nginx ----

/** Directives nginx 1.22 knows for each temp path, and the module (when not built in) they need. */
const TEMP_PATHS: [directive: string, module: string | null][] = [
  ['client_body_temp_path', null],
  ['proxy_temp_path', 'http_proxy'],
  ['fastcgi_temp_path', 'http_fastcgi'],
  ['uwsgi_temp_path', 'http_uwsgi'],
  ['scgi_temp_path', 'http_scgi'],
];

/**
 * deploy/nginx.conf made runnable here: its upstream servers replaced by the cluster's nodes (same
 * parameters), `listen` on a loopback port, its access log in `dir`, wrapped in events{} + http{}
 * with temp paths in `dir`. Everything else is the shipped file, unchanged.
 */
export function nginxConfigFrom(template: string, options: { listenPort: number; upstreamPorts: number[]; dir: string; builtWithout?: (module: string) => boolean }): string {
  const upstream = /(upstream carillon_nodes \{\n)([\s\S]*?)(\n\})/.exec(template);
  if (!upstream) throw new Error('deploy/nginx.conf has no "upstream carillon_nodes { … }" block');
  const serverLine = /^(\s*)server\s+[\d.]+:\d+([^;]*);\s*$/;
  const lines = upstream[2]!.split('\n');
  const firstServer = lines.findIndex((l) => serverLine.test(l));
  if (firstServer === -1) throw new Error('deploy/nginx.conf: no "server host:port …;" line in the upstream block');
  const [, indent, params] = serverLine.exec(lines[firstServer]!)!;
  // The first example server line becomes the cluster's nodes (same parameters); the other example lines go.
  const body = lines
    .flatMap((l, i) => (i === firstServer ? options.upstreamPorts.map((p) => `${indent}server 127.0.0.1:${p}${params};`) : serverLine.test(l) ? [] : [l]))
    .join('\n');
  let conf = template.replace(upstream[0], () => `${upstream[1]}${body}${upstream[3]}`);
  const listen = /^(\s*)listen 80;/m;
  if (!listen.test(conf)) throw new Error('deploy/nginx.conf: no "listen 80;" line to replace');
  conf = conf.replace(listen, `$1listen 127.0.0.1:${options.listenPort};`);
  const accessLog = /access_log \S+ carillon;/;
  if (!accessLog.test(conf)) throw new Error('deploy/nginx.conf: no "access_log … carillon;" line to replace');
  conf = conf.replace(accessLog, `access_log ${join(options.dir, 'access.log')} carillon;`);
  const temps = TEMP_PATHS.filter(([, mod]) => !mod || !options.builtWithout?.(mod)).map(([d]) => `    ${d} ${join(options.dir, d.replace(/_temp_path$/, ''))};`);
  return `# Generated by src/test-support/cluster.ts from deploy/nginx.conf\nevents {}\nhttp {\n${temps.join('\n')}\n\n${conf}\n}\n`;
}

export class NginxProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> | undefined;
  readonly confFile: string;

  constructor(
    private readonly binary: string,
    readonly port: number,
    private readonly dir: string,
    upstreamPorts: number[],
  ) {
    mkdirSync(dir, { recursive: true });
    // The workers may run as another user (nginx started as root): they need to reach the temp dirs.
    chmodSync(dir, 0o755);
    const version = spawnSync(binary, ['-V'], { encoding: 'utf8' });
    const flags = `${version.stdout}${version.stderr}`;
    this.confFile = join(dir, 'nginx.conf');
    writeFileSync(
      this.confFile,
      nginxConfigFrom(readFileSync(NGINX_TEMPLATE, 'utf8'), { listenPort: port, upstreamPorts, dir, builtWithout: (m) => flags.includes(`--without-${m}_module`) }),
    );
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get errorLog(): string {
    return join(this.dir, 'error.log');
  }

  async start(): Promise<void> {
    const args = ['-p', `${this.dir}/`, '-e', this.errorLog, '-c', this.confFile];
    const check = spawnSync(this.binary, [...args, '-t', '-g', `pid ${join(this.dir, 'nginx.pid')};`], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`nginx -t refused the config generated from deploy/nginx.conf:\n${check.stderr}\n${tail(this.errorLog)}`);
    const child = spawn(this.binary, [...args, '-g', `daemon off; pid ${join(this.dir, 'nginx.pid')};`], { stdio: 'ignore' });
    this.child = child;
    // SIGTERM, not SIGKILL: a killed master leaves its workers serving.
    this.exited = track(child, 'SIGTERM').then(() => {
      if (this.child === child) this.child = undefined;
    });
    await waitUntil(async () => {
      if (!this.child) throw new Error(`nginx exited at start:\n${tail(this.errorLog)}`);
      return canConnect(this.port);
    }, `nginx on port ${this.port}`, 10_000);
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGTERM');
    await within(this.exited!, 10_000, 'nginx to stop');
  }
}

// ---- the cluster ----

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
