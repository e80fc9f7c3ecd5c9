/**
 * Browser tests: Debian's Chromium driven by playwright-core (never a downloaded browser), the web
 * client built once into dist/web, and a test server that can be restarted on the same port and
 * database. Missing Chromium is a loud skip, or a failure under CARILLON_REQUIRE_SERVICES=1 (CI).
 */
import { freePort } from './net.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { type Browser, chromium } from 'playwright-core';
import { buildApp } from '../server/app.js';
import { TEST_SECRET, type TestServer, startTestServer } from './server.js';

export const CHROMIUM_PATH = process.env.CARILLON_CHROMIUM ?? '/usr/bin/chromium';
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const RESULTS_DIR = join(REPO_ROOT, 'test-results');

let warned = false;

/** Whether browser tests can run here; prints a loud skip once, or throws when CI requires them. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (process.env.CARILLON_REQUIRE_SERVICES === '1') {
    throw new Error(`CARILLON_REQUIRE_SERVICES=1 but Chromium is not at ${CHROMIUM_PATH}: browser tests cannot run (apt-get install chromium)`);
  }
  if (!warned) {
    warned = true;
    process.stderr.write(`\n*** SKIPPED: browser tests — no Chromium at ${CHROMIUM_PATH}. Install Debian's chromium package. ***\n\n`);
  }
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    newest = Math.max(newest, st.isDirectory() ? newestMtime(p) : st.mtimeMs);
  }
  return newest;
}

/**
 * Builds dist/web when it is missing or older than its sources (npm test builds it first; this
 * covers running one test file). A lock directory keeps parallel test files from building at once.
 */
export async function ensureWebBuild(): Promise<void> {
  const index = join(REPO_ROOT, 'dist/web/index.html');
  const sources = Math.max(newestMtime(join(REPO_ROOT, 'src/web')), newestMtime(join(REPO_ROOT, 'src/shared')), statSync(join(REPO_ROOT, 'vite.config.ts')).mtimeMs);
  const fresh = () => existsSync(index) && statSync(index).mtimeMs >= sources;
  if (fresh()) return;
  const lock = join(REPO_ROOT, 'dist/.web-build.lock');
  mkdirSync(join(REPO_ROOT, 'dist'), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}; remove it if no build is running`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (fresh()) return;
    const vite = join(REPO_ROOT, 'node_modules/vite/bin/vite.js');
    // The production build, as npm run build makes it: the test runner's NODE_ENV=test would give
    // React's development build and no service worker.
    const r = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
    if (r.status !== 0) throw new Error(`vite build failed (exit ${r.status})`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export { freePort };

export interface WebTestServer {
  baseUrl: string;
  server: TestServer;
  /** The app currently serving (changes after restart()). */
  app: FastifyInstance;
  /**
   * Stops the app (sockets get 1012), runs `whileDown` against a new app on the same database
   * before it listens (e.g. messages posted "meanwhile" through app.inject), then listens again on
   * the same port.
   */
  restart(whileDown?: (app: FastifyInstance) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

/**
 * A test server on a fixed port whose PUBLIC_URL is its real address, so webhook URLs work as copied.
 * `{ PUBLIC_URL: '' }` leaves it unset, as a server started without it: http://localhost:PORT.
 */
export async function startWebTestServer(env: Record<string, string> = {}): Promise<WebTestServer> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const server = await startTestServer({
    port,
    // Browser flows post several times a second to one webhook; the limit has its own tests.
    env: { PORT: String(port), PUBLIC_URL: baseUrl, WEBHOOK_RATE_PER_SECOND: '50', WEBHOOK_BURST: '50', LOG_LEVEL: 'warn', ...env },
  });
  let app = server.app;
  const logger = pino({ level: 'warn' }, new Writable({ write: (_c, _e, cb) => cb() }));
  return {
    baseUrl,
    server,
    get app() {
      return app;
    },
    async restart(whileDown) {
      await app.close();
      app = await buildApp(server.config, { store: server.backend.store, logger, secret: Buffer.from(TEST_SECRET, 'utf8') });
      if (whileDown) await whileDown(app);
      await app.listen({ port, host: '127.0.0.1' });
    },
    async close() {
      await app.close();
      await server.backend.cleanup();
    },
  };
}
