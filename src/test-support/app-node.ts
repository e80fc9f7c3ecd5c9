/**
 * One Carillon node in the test process, on a store the test keeps: stop it and start another on
 * the same SQLite directory (a restart), or start two on one PostgreSQL database (two nodes, with
 * the Redis bus, presence and rate limiter when a Redis URL is given). startTestServer (server.ts)
 * is the one-shot variant that removes its store on close.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { type AppDeps, buildApp } from '../server/app.js';
import { type Config, loadConfig } from '../server/config.js';
import type { Distributed } from '../server/distributed/setup.js';
import { type Clock, systemClock } from '../server/services/context.js';
import { openStore } from '../server/store/open-store.js';
import type { Store } from '../server/store/types.js';
import { TEST_SECRET } from './server.js';

export interface AppNodeOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** With a Redis URL (and a databaseUrl), the node runs in the distributed mode. */
  redisUrl?: string | undefined;
  env?: Record<string, string>;
  clock?: Clock;
  push?: AppDeps['push'];
}

export interface AppNode {
  baseUrl: string;
  app: FastifyInstance;
  store: Store;
  config: Config;
  /** Every log line (JSON text), for secrets-in-logs checks. */
  logs: string[];
  /** Stops the app (gracefully) and closes its store; the data stays. */
  close(): Promise<void>;
}

export async function startAppNode(options: AppNodeOptions): Promise<AppNode> {
  const { config } = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: options.dataDir,
    LOG_LEVEL: 'info',
    SECRET: TEST_SECRET,
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...options.env,
  });
  const store = await openStore({ dataDir: options.dataDir, databaseUrl: options.databaseUrl });
  const logs: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    }),
  );
  const clock = options.clock ?? systemClock;
  let distributed: Distributed | undefined;
  if (options.redisUrl) {
    distributed = await (await import('../server/distributed/setup.js')).startDistributed(config, store, logger, clock);
  }
  const app = await buildApp(config, {
    store,
    logger,
    clock,
    secret: Buffer.from(TEST_SECRET, 'utf8'),
    ...(options.push ? { push: options.push } : {}),
    ...(distributed ? { bus: distributed.bus, presence: distributed.presence, rateLimiter: distributed.rateLimiter } : {}),
  });
  distributed?.attach(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    app,
    store,
    config,
    logs,
    close: async () => {
      await app.close();
      await distributed?.close();
      await store.close();
    },
  };
}
