/** PostgreSQL (pg): the distributed mode's store. Driver setup and error translation only. */
import { Kysely, PostgresDialect } from '../kysely.js';
import pg from 'pg';
import type { Database } from '../schema.js';
import { StoreConflictError, StoreUnavailableError } from '../types.js';
import { conflictFieldFrom } from './conflict-field.js';

// int8 (bigint) columns hold epoch milliseconds and seqs: well inside 2^53, so read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export function openPostgres(connectionString: string, onPoolError: (e: Error) => void): { db: Kysely<Database>; pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    // A stalled or unreachable database answers 503 within a bounded time, never hangs a request.
    connectionTimeoutMillis: 5000,
    // A stalled database answers 503 in under 10 s (RELIABILITY F4), well within the 30 s request timeout.
    statement_timeout: 8000,
    query_timeout: 9000,
    idleTimeoutMillis: 30000,
  });
  // An idle client losing its connection must not crash the process.
  pool.on('error', onPoolError);
  // Nor one that loses it while checked out for a query (the pool's own listener is off then, and
  // Kysely adds none): pg emits 'error' on the client, which unhandled kills the node (seen with
  // PostgreSQL cut in the multi-node suite). The query itself fails (→ StoreUnavailableError → 503)
  // and the pool drops the broken client when it is released.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool };
}

export function translatePostgresError(e: unknown): unknown {
  const err = e as { code?: unknown; constraint?: unknown; message?: unknown };
  if (err?.code === '23505') return new StoreConflictError(conflictFieldFrom(String(err.constraint ?? err.message)), e);
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = typeof err?.message === 'string' ? err.message : '';
  // Connection-level failures: class 08 (connection), 57P0x (shutdown), 53xxx (resources), 57014 (timeout),
  // Node socket errors, and pg's own "timeout"/"terminated" errors.
  if (
    /^(08|53|57P0|57014|58)/.test(code) ||
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH)$/.test(code) ||
    /timeout|Connection terminated|connect ECONNREFUSED|Client has encountered a connection error/i.test(message)
  ) {
    return new StoreUnavailableError(`PostgreSQL: ${code || message}`, e);
  }
  return e;
}
