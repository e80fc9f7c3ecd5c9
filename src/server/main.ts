/**
 * Runs the server: load config → open the store → build the app → listen → drain on SIGTERM.
 */
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { type Logger, pino } from 'pino';
import { buildApp, requestSerializers } from './app.js';
import { type Config, redactUrlPassword } from './config.js';
import type { Distributed } from './distributed/setup.js';
import type { HttpsListener } from './https-server.js';
import { warmUpRenderer } from './render/index.js';
import { loadSecret } from './secret.js';
import { systemClock } from './services/context.js';
import { openStore } from './store/open-store.js';

export interface RunningServer {
  close(): Promise<void>;
  port: number;
  /** The HTTPS port when TLS_CERT_FILE/TLS_KEY_FILE are set. */
  httpsPort?: number;
  /** Every listening server (HTTP, then HTTPS if enabled), e.g. to attach WebSocket upgrades to each. */
  servers: (HttpServer | HttpsServer)[];
}

export interface StartServerOptions {
  /** Default: a pino logger on stdout at LOG_LEVEL. */
  logger?: Logger;
}

export async function startServer(config: Config, options: StartServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? pino({ level: config.logLevel, serializers: requestSerializers });
  const secret = loadSecret(config);
  if (config.databaseUrl && secret.source !== 'env' && secret.source !== 'file') {
    logger.warn('DATABASE_URL is set but SECRET/SECRET_FILE is not: every node must share one secret, or webhook URLs will differ between nodes');
  }
  // Resolved once the server listens; the SQLite message writer thread starts then (open-store.ts).
  let listening!: () => void;
  const startWriterAfter = new Promise<void>((resolve) => (listening = resolve));
  const store = await openStore({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    startWriterAfter,
    onPoolError: (e) => logger.warn({ err: { message: e.message, code: (e as { code?: string }).code } }, 'database connection lost; it will be re-established on the next query'),
  });
  logger.info({ store: store.dialect, database: config.databaseUrl ? redactUrlPassword(config.databaseUrl) : `${config.dataDir}/carillon.db` }, 'store open');
  // The distributed mode (and ioredis under it) is loaded only when REDIS_URL asks for it: the
  // embedded default never pays for it at start-up (issue 7, cold start).
  const distributed: Distributed | undefined = config.redisUrl
    ? await (await import('./distributed/setup.js')).startDistributed(config, store, logger, systemClock)
    : undefined;
  const app = await buildApp(config, {
    store,
    logger,
    secret: secret.secret,
    ...(distributed ? { bus: distributed.bus, presence: distributed.presence, rateLimiter: distributed.rateLimiter } : {}),
  });
  distributed?.attach(app);
  const address = await app.listen({ port: config.port, host: config.host });
  listening();
  // A moment after start-up, off its critical path (readiness probes are answered first): compile the
  // renderer's patterns (≈75 ms) and the routes' schemas (one per turn of the event loop) before
  // the first requests need them.
  setTimeout(() => {
    warmUpRenderer();
    app.carillon.schemas.runAll().catch((err: unknown) => logger.error({ err }, 'compiling a route schema failed'));
  }, 100).unref();
  const port = app.server.address() && typeof app.server.address() === 'object' ? (app.server.address() as { port: number }).port : config.port;
  logger.info({ address, publicUrl: config.publicUrl }, 'Carillon is listening');
  const servers: (HttpServer | HttpsServer)[] = [app.server];
  let https: HttpsListener | undefined;
  if (config.tlsCertFile && config.tlsKeyFile) {
    const { startHttpsServer } = await import('./https-server.js');
    https = await startHttpsServer(app, config);
    servers.push(https.server);
    // The stream (SPEC 5) on the HTTPS port too; attach() ignores a server it already serves.
    app.carillon.stream.attach(https.server);
    logger.info({ httpsPort: https.port }, 'Carillon is listening for HTTPS');
  }
  if (await app.carillon.services.auth.needsSetup()) {
    process.stdout.write(`\nCarillon is running. Open ${config.publicUrl}/ in a browser to create the first administrator.\n\n`);
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      logger.info('shutting down: draining requests');
      app.carillon.state.draining = true;
      // WebSockets first (1012 "server restarting; reconnect"): open sockets would hold the servers open.
      await app.carillon.stream.close();
      await Promise.all([app.close(), https?.close()]);
      await distributed?.close();
      await store.close();
      logger.info('shut down cleanly');
    })();
    return closing;
  };
  return { close, port, servers, ...(https ? { httpsPort: https.port } : {}) };
}

/** Starts the server and wires SIGTERM/SIGINT to a graceful shutdown. */
export async function serve(config: Config): Promise<void> {
  const server = await startServer(config);
  const stop = (signal: string) => {
    server.close().then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`error during shutdown after ${signal}: ${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
