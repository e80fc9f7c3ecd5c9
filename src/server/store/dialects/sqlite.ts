/** SQLite (better-sqlite3): the embedded default. Driver setup and error translation only. */
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { ensureDataDir } from '../../data-dir.js';
import { Kysely, type SqliteDatabase } from '../kysely.js';
import type { Database } from '../schema.js';
import { StoreConflictError, StoreUnavailableError } from '../types.js';
import { conflictFieldFrom } from './conflict-field.js';
import { TimerWaitingSqliteDialect } from './sqlite-driver.js';

/** How long a connection waits for another one's write lock before the store answers 503. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

export function openSqlite(dataDir: string): { db: Kysely<Database>; raw: BetterSqlite3.Database; file: string } {
  ensureDataDir(dataDir);
  const file = join(dataDir, 'carillon.db');
  const raw = new BetterSqlite3(file);
  raw.pragma('journal_mode = WAL');
  // FULL: a commit is on disk before we answer 200, even across power loss (RELIABILITY D-7).
  raw.pragma('synchronous = FULL');
  raw.pragma('foreign_keys = ON');
  // Another writer (the message worker, the CLI on the same DATA_DIR) is waited for on timers, up
  // to SQLITE_BUSY_TIMEOUT_MS, before the store answers 503, never on the event loop (sqlite-driver.ts).
  raw.pragma('busy_timeout = 0');
  const db = new Kysely<Database>({ dialect: new TimerWaitingSqliteDialect(withStatementCache(raw), SQLITE_BUSY_TIMEOUT_MS) });
  return { db, raw, file };
}

/**
 * A second connection to the same file for the webhook delivery logs (issue 15): `synchronous =
 * NORMAL`, so its commits do not fsync (in WAL mode that never corrupts the database; a power cut may
 * lose its newest commits, which are diagnostics). A log flush then never holds the write lock over
 * a disk sync while the message writer waits, nor blocks the event loop on one. Every other write
 * keeps the main connection's FULL.
 */
export function openSqliteLog(file: string): Kysely<Database> {
  const raw = new BetterSqlite3(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  // As the main connection: the write lock is waited for on timers (sqlite-driver.ts).
  raw.pragma('busy_timeout = 0');
  return new Kysely<Database>({ dialect: new TimerWaitingSqliteDialect(withStatementCache(raw), SQLITE_BUSY_TIMEOUT_MS) });
}

/** Prepared statements kept per SQL text; the queries are a fixed set, so this bound is never reached in practice. */
const STATEMENT_CACHE_SIZE = 512;

/**
 * The database as Kysely sees it, with a statement cache: Kysely's SqliteDriver prepares every
 * query it runs, and preparing (parsing and planning the SQL) cost more than running the small
 * queries of a webhook post (issue 7: over a tenth of the server's busy time under ingest load).
 * Queries are synchronous, so one statement can serve every run of its SQL; one that is still
 * being iterated (a streamed query) is not shared.
 */
function withStatementCache(raw: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => raw.close(),
    prepare(query: string) {
      // Kysely begins with a deferred BEGIN, which takes the write lock only at the first write:
      // if another connection (the message worker) committed after this transaction's first read,
      // that write fails at once with SQLITE_BUSY_SNAPSHOT, without waiting. BEGIN IMMEDIATE takes
      // the lock up front (waiting for it on timers, sqlite-driver.ts), so the transaction sees what
      // it changes.
      const sql = query === 'begin' ? 'begin immediate' : query;
      const cached = cache.get(sql);
      if (cached && !cached.busy) return cached;
      const stmt = raw.prepare(sql);
      if (!cached && cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
      return stmt;
    },
  };
}

const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|NOMEM|READONLY|CORRUPT|NOTADB)/;

export function translateSqliteError(e: unknown): unknown {
  const code = (e as { code?: unknown })?.code;
  if (typeof code !== 'string') return e;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // "UNIQUE constraint failed: users.email"
    return new StoreConflictError(conflictFieldFrom(String((e as Error).message)), e);
  }
  if (UNAVAILABLE.test(code)) return new StoreUnavailableError(`SQLite: ${code}`, e);
  return e;
}
