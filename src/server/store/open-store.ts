/** Chooses and opens the store from the configuration: PostgreSQL with DATABASE_URL, else SQLite in DATA_DIR. */
import type { MessageAppender } from './group-commit.js';
import type { DeliveryLogWriter } from './webhook-ops-store.js';
import { KyselyStore } from './kysely-store.js';
import { migrateToLatest } from './migrations.js';
import { type Store, StoreUnavailableError } from './types.js';

export interface OpenStoreOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  onPoolError?: (e: Error) => void;
  /**
   * SQLite: start the message writer thread when this settles rather than at once (an append that
   * comes first starts it then). The server passes "listening", so that the thread's start-up (an
   * isolate of its own, better-sqlite3, its connection) does not take CPU from the server's own
   * (issue 7, cold start; the benchmark runs the server on one core).
   */
  startWriterAfter?: Promise<unknown>;
  /**
   * SQLite: commit messages in a writer thread (default true). False commits them on the main
   * connection, in the portable group-commit transaction (kysely-store.ts), as PostgreSQL does; the
   * tests run that path too (the 'sqlite-inline' test backend), so both stay right.
   */
  sqliteWriterThread?: boolean;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  // Each dialect's driver is loaded only when chosen: the embedded default never loads pg, and back.
  if (options.databaseUrl) {
    const { openPostgres, translatePostgresError } = await import('./dialects/postgres.js');
    const { db } = openPostgres(options.databaseUrl, options.onPoolError ?? (() => {}));
    try {
      await migrateToLatest(db);
    } catch (e) {
      await db.destroy();
      throw translatePostgresError(e);
    }
    return new KyselyStore({ db, dialect: 'postgres', translateError: translatePostgresError, onClose: () => db.destroy() });
  }
  const { openSqlite, openSqliteLog, translateSqliteError, SQLITE_BUSY_TIMEOUT_MS } = await import('./dialects/sqlite.js');
  const { db, file } = openSqlite(options.dataDir);
  await migrateToLatest(db);
  let appender: (MessageAppender & DeliveryLogWriter) | undefined;
  if (options.sqliteWriterThread !== false) {
    const { SqliteWorkerAppender } = await import('./dialects/sqlite-appender.js');
    // Messages are committed by a worker thread, after the migrations made the tables it writes; the
    // webhook delivery log is written there too.
    const newAppender = () => new SqliteWorkerAppender({ file, busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS }, translateSqliteError);
    appender = options.startWriterAfter ? startedLater(newAppender, options.startWriterAfter) : newAppender();
  }
  // Webhook delivery logs: without the writer thread, their own connection without an fsync per
  // commit (issue 15); with it, that connection only prunes old failure counts and deleted webhooks' logs.
  const logDb = openSqliteLog(file);
  const onClose = async () => {
    await logDb.destroy();
    await db.destroy();
  };
  return new KyselyStore({ db, dialect: 'sqlite', translateError: translateSqliteError, onClose, logDb, ...(appender ? { appender, logWriter: appender } : {}) });
}

/** The appender `create` makes when `after` settles, or at the first append if that comes first. */
function startedLater<A extends MessageAppender & DeliveryLogWriter>(create: () => A, after: Promise<unknown>): MessageAppender & DeliveryLogWriter {
  let appender: A | undefined;
  let closed = false;
  const settled = () => {
    if (!closed) appender ??= create();
  };
  after.then(settled, settled);
  return {
    appendBatch(items) {
      if (closed && !appender) return Promise.reject(new StoreUnavailableError('The store is closed'));
      return (appender ??= create()).appendBatch(items);
    },
    recordDeliveries(rows, tallies, keep) {
      if (closed && !appender) return Promise.reject(new StoreUnavailableError('The store is closed'));
      return (appender ??= create()).recordDeliveries(rows, tallies, keep);
    },
    async close() {
      closed = true;
      await appender?.close();
    },
  };
}
