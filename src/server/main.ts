/**
 * Runs the server: load config → open the store → build the app → listen → drain on SIGTERM.
 */
import { pino } from 'pino';
import { buildApp, requestSerializers } from './app.js';
import { type Config, redactUrlPassword } from './config.js';
import { loadSecret } from './secret.js';
import { openStore } from './store/open-store.js';

export interface RunningServer {
  close(): Promise<void>;
  port: number;
}

export async function startServer(config: Config): Promise<RunningServer> {
  const logger = pino({ level: config.logLevel, serializers: requestSerializers });
  const secret = loadSecret(config);
  if (config.databaseUrl && secret.source !== 'env' && secret.source !== 'file') {
    logger.warn('DATABASE_URL is set but SECRET/SECRET_FILE is not: every node must share one secret, or webhook URLs will differ between nodes');
  }
  const store = await openStore({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    onPoolError: (e) => logger.warn({ err: e }, 'database connection lost; it will be re-established on the next query'),
  });
  logger.info({ store: store.dialect, database: config.databaseUrl ? redactUrlPassword(config.databaseUrl) : `${config.dataDir}/carillon.db` }, 'store open');
  const app = await buildApp(config, { store, logger });
  const address = await app.listen({ port: config.port, host: config.host });
  const port = app.server.address() && typeof app.server.address() === 'object' ? (app.server.address() as { port: number }).port : config.port;
  logger.info({ address, publicUrl: config.publicUrl }, 'Carillon is listening');
  if (await app.carillon.services.auth.needsSetup()) {
    process.stdout.write(`\nCarillon is running. Open ${config.publicUrl}/ in a browser to create the first administrator.\n\n`);
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      logger.info('shutting down: draining requests');
      app.carillon.state.draining = true;
      await app.close();
      await store.close();
      logger.info('shut down cleanly');
    })();
    return closing;
  };
  return { close, port };
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
