/**
 * Kysely's SQLite driver with one change: the write lock is waited for on timers, never in SQLite's
 * busy handler, and the connection is free for other queries meanwhile.
 *
 * SQLite lets one connection write at a time. better-sqlite3 waits for a lock held elsewhere (the
 * message writer thread committing, the CLI, an operator's `sqlite3` shell) in SQLite's busy handler,
 * which sleeps on the calling thread: here the event loop, so every request, socket and timer of the
 * server stopped with it (RELIABILITY F15; up to 79 ms measured under ingest load, the whole
 * busy_timeout if another process held the lock). And Kysely runs one query at a time on a SQLite
 * connection, so reads queued behind a write that waited.
 *
 * Here the connection's busy_timeout is 0. A statement that finds the lock taken fails with
 * SQLITE_BUSY having done nothing: BEGIN IMMEDIATE (every transaction's first statement, sqlite.ts),
 * or a write outside a transaction; inside a transaction the lock is already held, and the
 * transaction is never retried. Outside one, the caller gives the connection up, waits a short timer
 * (2 to 50 ms, jittered) while other queries run (reads never need the lock in WAL mode), takes it
 * back and runs the statement again, for up to `busyTimeoutMs`; then SQLITE_BUSY is the answer (the
 * store's 503). SQLITE_BUSY_SNAPSHOT is another code, and is not retried.
 */
import { CompiledQuery, type DatabaseConnection, type Driver, type QueryResult, SqliteDialect, type SqliteDatabase } from '../kysely.js';

export class TimerWaitingSqliteDialect extends SqliteDialect {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly busyTimeoutMs: number,
  ) {
    super({ database: db });
  }

  override createDriver(): Driver {
    return new TimerWaitingSqliteDriver(this.db, this.busyTimeoutMs);
  }
}

/** One caller at a time, in arrival order; release hands the connection to the next. */
class Turns {
  private busy = false;
  private readonly waiting: (() => void)[] = [];

  take(): Promise<void> {
    if (!this.busy) {
      this.busy = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.busy = false;
  }
}

class TimerWaitingSqliteDriver implements Driver {
  private readonly turns = new Turns();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly busyTimeoutMs: number,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.turns.take();
    return new TurnConnection(this.db, this.turns, this.busyTimeoutMs);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as TurnConnection;
    await c.executeQuery(CompiledQuery.raw('begin'));
    c.inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as TurnConnection;
    await c.executeQuery(CompiledQuery.raw('commit'));
    c.inTransaction = false;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = connection as TurnConnection;
    await c.executeQuery(CompiledQuery.raw('rollback'));
    c.inTransaction = false;
  }

  async releaseConnection(): Promise<void> {
    this.turns.give();
  }

  async destroy(): Promise<void> {
    this.db.close();
  }
}

class TurnConnection implements DatabaseConnection {
  inTransaction = false;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly turns: Turns,
    private readonly busyTimeoutMs: number,
  ) {}

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const started = performance.now();
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      try {
        return this.run<R>(compiledQuery);
      } catch (e) {
        if ((e as { code?: unknown }).code !== 'SQLITE_BUSY' || this.inTransaction || performance.now() - started >= this.busyTimeoutMs) throw e;
      }
      // Nothing was done and no transaction is open: the connection serves others meanwhile.
      this.turns.give();
      await new Promise((resolve) => setTimeout(resolve, wait / 2 + Math.random() * wait));
      await this.turns.take();
    }
  }

  private run<R>({ sql, parameters }: CompiledQuery): QueryResult<R> {
    const stmt = this.db.prepare(sql);
    if (stmt.reader) return { rows: stmt.all(parameters) as R[] };
    const { changes, lastInsertRowid } = stmt.run(parameters);
    return {
      numAffectedRows: changes !== undefined && changes !== null ? BigInt(changes) : undefined,
      insertId: lastInsertRowid !== undefined && lastInsertRowid !== null ? BigInt(lastInsertRowid) : undefined,
      rows: [],
    };
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // Kysely's own: rows one by one from the statement's iterator (select queries only).
    const stmt = this.db.prepare(compiledQuery.sql);
    if (!stmt.reader) throw new Error('SQLite streams only queries that return rows');
    for (const row of stmt.iterate(compiledQuery.parameters)) yield { rows: [row as R] };
  }
}
