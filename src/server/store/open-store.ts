/** Chooses and opens the store from the configuration: PostgreSQL with DATABASE_URL, else SQLite in DATA_DIR. */
import { KyselyStore } from './kysely-store.js';
import { migrateToLatest } from './migrations.js';
import type { Store } from './types.js';
import { openPostgres, translatePostgresError } from './dialects/postgres.js';
import { openSqlite, translateSqliteError } from './dialects/sqlite.js';

export interface OpenStoreOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  onPoolError?: (e: Error) => void;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.databaseUrl) {
    const { db, pool } = openPostgres(options.databaseUrl, options.onPoolError ?? (() => {}));
    try {
      await migrateToLatest(db);
    } catch (e) {
      await db.destroy();
      throw translatePostgresError(e);
    }
    return new KyselyStore({ db, dialect: 'postgres', translateError: translatePostgresError, onClose: () => db.destroy() });
  }
  const { db } = openSqlite(options.dataDir);
  await migrateToLatest(db);
  return new KyselyStore({ db, dialect: 'sqlite', translateError: translateSqliteError, onClose: () => db.destroy() });
}
