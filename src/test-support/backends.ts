/**
 * The storage backends every contract test loops over (STYLE 5): SQLite always, PostgreSQL when
 * CARILLON_TEST_DATABASE_URL points at a server (CI starts one; scripts/test-services.sh does the
 * same on a developer machine). Missing PostgreSQL is a loud skip, or a failure under
 * CARILLON_REQUIRE_SERVICES=1 (CI).
 *
 * 'sqlite' is the server's SQLite: messages committed by the writer thread. 'sqlite-inline' is SQLite
 * without it (messages committed on the main connection, the portable group commit; the webhook
 * delivery log written on a main-thread connection): only the suites that exercise those paths ask for it (availableBackends({ sqliteInline: true })), so that both
 * append paths are tested without running every suite a third time.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '../server/store/open-store.js';
import type { Store } from '../server/store/types.js';

/** The backends a server runs on (what most suites loop over). */
export type DialectBackendName = 'sqlite' | 'postgres';
export type BackendName = DialectBackendName | 'sqlite-inline';

export interface BackendInstance {
  name: BackendName;
  dataDir: string;
  databaseUrl: string | undefined;
  store: Store;
  /** Closes the store and removes the database / directory. */
  cleanup(): Promise<void>;
}

const pgAdminUrl = process.env.CARILLON_TEST_DATABASE_URL;
let warned = false;

export interface AvailableBackendsOptions {
  /** Also SQLite without the writer thread ('sqlite-inline'): for the suites of the append path and the delivery log. */
  sqliteInline?: boolean;
}

export function availableBackends(): DialectBackendName[];
export function availableBackends(options: AvailableBackendsOptions): BackendName[];
export function availableBackends(options: AvailableBackendsOptions = {}): BackendName[] {
  const sqlite: BackendName[] = options.sqliteInline ? ['sqlite', 'sqlite-inline'] : ['sqlite'];
  if (pgAdminUrl) return [...sqlite, 'postgres'];
  if (process.env.CARILLON_REQUIRE_SERVICES === '1') {
    throw new Error('CARILLON_REQUIRE_SERVICES=1 but CARILLON_TEST_DATABASE_URL is not set: PostgreSQL tests cannot run');
  }
  if (!warned) {
    warned = true;
    process.stderr.write(
      '\n*** SKIPPED: PostgreSQL tests — CARILLON_TEST_DATABASE_URL is not set. Run: eval "$(scripts/test-services.sh start)" ***\n\n',
    );
  }
  return sqlite;
}

export function tempDir(prefix = 'carillon-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Creates an empty database on the test PostgreSQL server and returns its URL. */
export async function createPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!pgAdminUrl) throw new Error('CARILLON_TEST_DATABASE_URL is not set');
  const name = `carillon_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(pgAdminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: pgAdminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A fresh, migrated, empty store on the given backend. */
export async function openBackend(name: BackendName): Promise<BackendInstance> {
  const dataDir = tempDir();
  if (name === 'sqlite' || name === 'sqlite-inline') {
    const store = await openStore({ dataDir, sqliteWriterThread: name === 'sqlite' });
    return {
      name,
      dataDir,
      databaseUrl: undefined,
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const db = await createPgDatabase();
  const store = await openStore({ dataDir, databaseUrl: db.url });
  return {
    name,
    dataDir,
    databaseUrl: db.url,
    store,
    cleanup: async () => {
      await store.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
