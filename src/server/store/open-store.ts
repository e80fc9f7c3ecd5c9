/** Chooses and opens the store from the configuration: PostgreSQL with DATABASE_URL, else SQLite in DATA_DIR. */
import { KyselyStore } from './kysely-store.js';
import { migrateToLatest } from './migrations.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  onPoolError?: (e: Error) => void;
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
  const { openSqlite, translateSqliteError, SQLITE_BUSY_TIMEOUT_MS } = await import('./dialects/sqlite.js');
  const { SqliteWorkerAppender } = await import('./dialects/sqlite-appender.js');
  const { db, file } = openSqlite(options.dataDir);
  await migrateToLatest(db);
  // Messages are committed by a worker thread, after the migrations made the tables it writes.
  const appender = new SqliteWorkerAppender({ file, busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS }, translateSqliteError);
  return new KyselyStore({ db, dialect: 'sqlite', translateError: translateSqliteError, onClose: () => db.destroy(), appender });
}
