/** A real Carillon server on a random loopback port, for tests that speak HTTP (and later WebSocket). */
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { type AppDeps, buildApp } from '../server/app.js';
import { type Config, loadConfig } from '../server/config.js';
import type { Clock } from '../server/services/context.js';
import type { RateLimiter } from '../server/rate-limit/types.js';
import { type BackendInstance, type BackendName, openBackend } from './backends.js';

export interface TestServer {
  baseUrl: string;
  app: FastifyInstance;
  backend: BackendInstance;
  config: Config;
  /** Every log line the server wrote (JSON text), for secrets-in-logs checks. */
  logs: string[];
  close(): Promise<void>;
}

export const TEST_SECRET = 'test-secret-0123456789abcdefghijklmnopqrstuvwxyz';

export interface StartOptions {
  backend?: BackendName;
  env?: Record<string, string>;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  /** Stream gateway tuning (budget, page size, heartbeat timer). */
  stream?: AppDeps['stream'];
  /** Listen on this port instead of a random one (browser tests pass PUBLIC_URL with it, so webhook URLs work as given). */
  port?: number;
  /** The event bus (default: in-process); two servers on one bus (or two Redis buses) stand for two nodes. */
  bus?: AppDeps['bus'];
  /** Another test server whose database this one shares (a second node); that server cleans it up. */
  sameDatabaseAs?: TestServer;
  /** The webhook formats' options (issue 15), e.g. a loopback host SNS certificates may come from. */
  formats?: AppDeps['formats'];
}

export async function startTestServer(options: StartOptions = {}): Promise<TestServer> {
  const shared = options.sameDatabaseAs?.backend;
  const backend = shared ? { ...shared, cleanup: async () => {} } : await openBackend(options.backend ?? 'sqlite');
  const { config } = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: backend.dataDir,
    LOG_LEVEL: 'info',
    SECRET: TEST_SECRET,
    ...(backend.databaseUrl ? { DATABASE_URL: backend.databaseUrl } : {}),
    ...options.env,
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const app = await buildApp(config, {
    store: backend.store,
    logger,
    secret: Buffer.from(TEST_SECRET, 'utf8'),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.rateLimiter ? { rateLimiter: options.rateLimiter } : {}),
    ...(options.stream ? { stream: options.stream } : {}),
    ...(options.bus ? { bus: options.bus } : {}),
    ...(options.formats ? { formats: options.formats } : {}),
  });
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    app,
    backend,
    config,
    logs,
    close: async () => {
      await app.close();
      await backend.cleanup();
    },
  };
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

/** A small JSON client for the API, with Bearer auth. */
export async function call<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string | undefined; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(baseUrl + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: any = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed as T, headers: res.headers, text };
}

export interface TestUser {
  id: string;
  email: string;
  alias: string;
  token: string;
}

/** Runs first-run setup; returns the system administrator. */
export async function setupAdmin(baseUrl: string, alias = 'admin'): Promise<TestUser> {
  const email = `${alias}@example.com`;
  const r = await call(baseUrl, 'POST', '/api/v1/setup', { body: { email, alias, displayName: 'Admin', password: 'correct horse battery' } });
  if (r.status !== 201) throw new Error(`setup failed: ${r.status} ${r.text}`);
  return { id: r.body.user.id, email, alias, token: r.body.token };
}

/** Creates a user through the API (as the system admin) and signs them in. */
export async function createUser(baseUrl: string, admin: TestUser, alias: string, displayName = alias): Promise<TestUser> {
  const email = `${alias}@example.com`;
  const password = 'correct horse battery';
  const r = await call(baseUrl, 'POST', '/api/v1/users', { token: admin.token, body: { email, alias, displayName, password } });
  if (r.status !== 201) throw new Error(`create user failed: ${r.status} ${r.text}`);
  const login = await call(baseUrl, 'POST', '/api/v1/auth/login', { body: { email, password } });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  return { id: r.body.user.id, email, alias, token: login.body.token };
}

export async function createRoom(baseUrl: string, owner: TestUser, name: string): Promise<string> {
  const r = await call(baseUrl, 'POST', '/api/v1/rooms', { token: owner.token, body: { name } });
  if (r.status !== 201) throw new Error(`create room failed: ${r.status} ${r.text}`);
  return r.body.room.id;
}

export async function addMember(baseUrl: string, admin: TestUser, roomId: string, user: TestUser, role = 'member'): Promise<void> {
  const r = await call(baseUrl, 'POST', `/api/v1/rooms/${roomId}/members`, { token: admin.token, body: { userId: user.id, role } });
  if (r.status !== 201) throw new Error(`add member failed: ${r.status} ${r.text}`);
}
