/**
 * `carillon backup FILE`: a consistent copy of the embedded SQLite database, taken with SQLite's
 * online backup API while the server runs (WAL mode: the copy reads one snapshot and never stops
 * the server's writers). The copy goes to a temporary file beside FILE, is switched out of WAL mode
 * (one self-contained file), checked with PRAGMA integrity_check, flushed to disk and only then
 * renamed to FILE, so FILE is either the old file or a complete, checked backup, never half of one.
 *
 * PostgreSQL is not copied here: pg_dump does that job, and the command says so.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Config, redactUrlPassword } from '../server/config.js';
import { type CliExtension, type CliIo, UsageError } from './common.js';

export const BACKUP_HELP = `Usage: carillon backup FILE [--force]

Writes a consistent copy of the SQLite database (DATA_DIR/carillon.db) to FILE with SQLite's
online backup API. It is safe to run while the server runs: the server goes on accepting posts,
and the copy holds everything stored before the backup started. The copy is written to a
temporary file beside FILE, checked with PRAGMA integrity_check, flushed to disk and then renamed
to FILE, so FILE is never left half-written. FILE is one self-contained SQLite file (no -wal or
-shm beside it), readable by its owner only (mode 0600: it holds password and session hashes).
Prints one line on standard output saying what it wrote.

Options:
  --force   replace FILE if it already exists (without it, an existing FILE is left alone and
            the command fails)

Run it with the server's DATA_DIR (--data-dir). Back up the server secret too (DATA_DIR/secret,
or what SECRET / SECRET_FILE hold): webhook URLs are derived from it, and a server restored
without it answers every old webhook URL with 403.

Restore: stop the server, copy FILE to DATA_DIR/carillon.db, delete DATA_DIR/carillon.db-wal
and DATA_DIR/carillon.db-shm if present, put the secret back, start the server.

With PostgreSQL (DATABASE_URL set) this command refuses: use pg_dump and pg_restore.
`;

/** A failure while copying (not a usage mistake): exit status 1, with a sentence that says what to do. */
class BackupError extends Error {}

interface BackupResult {
  file: string;
  bytes: number;
  users: number;
  rooms: number;
  messages: number;
}

async function backup(config: Config, args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { force: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(BACKUP_HELP);
    return 0;
  }
  if (config.databaseUrl) {
    throw new UsageError(
      `carillon backup copies the embedded SQLite database, but DATABASE_URL (--database-url) points at PostgreSQL ` +
        `(${redactUrlPassword(config.databaseUrl)}). Back PostgreSQL up with pg_dump instead, e.g. ` +
        `pg_dump --format=custom --file=carillon.dump "$DATABASE_URL", and restore with pg_restore (see docs/operations.md).`,
    );
  }
  if (positionals.length !== 1 || positionals[0]!.trim() === '') throw new UsageError('usage: carillon backup FILE [--force] (see carillon backup --help)');
  const source = join(config.dataDir, 'carillon.db');
  const target = resolve(positionals[0]!);
  checkTarget(source, target, values.force ?? false);
  if (!existsSync(source)) {
    throw new UsageError(
      `there is no database at ${source}; run carillon backup with the server's data directory (DATA_DIR or --data-dir; it is now ${config.dataDir}).`,
    );
  }
  let result: BackupResult;
  try {
    result = await copyDatabase(source, target);
  } catch (e) {
    io.err(`carillon: ${e instanceof BackupError ? e.message : describeFailure(e, source, target)}\n`);
    return 1;
  }
  io.out(
    `wrote ${result.file} (${formatBytes(result.bytes)}): a copy of ${source} with ${plural(result.users, 'user')}, ` +
      `${plural(result.rooms, 'room')} and ${plural(result.messages, 'message')}; integrity_check ok\n`,
  );
  io.err(`carillon: the server secret is not in the backup; keep a copy of ${secretLocation(config)} too (webhook URLs are derived from it).\n`);
  return 0;
}

/** Refuses targets that would clobber something: the live database, a directory, an existing file without --force. */
function checkTarget(source: string, target: string, force: boolean): void {
  if ([source, `${source}-wal`, `${source}-shm`, `${source}-journal`].includes(target)) {
    throw new UsageError(`${target} is the live database itself; write the backup to another file, preferably outside DATA_DIR and on another disk.`);
  }
  const dir = dirname(target);
  if (!existsSync(dir)) throw new UsageError(`the directory ${dir} does not exist; create it first (mkdir -p ${dir}) or choose another FILE.`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory; choose a FILE inside a directory.`);
  if (existsSync(target)) {
    if (statSync(target).isDirectory()) {
      throw new UsageError(`${target} is a directory; give the backup a file name, e.g. ${join(target, `carillon-${new Date().toISOString().slice(0, 10)}.db`)}.`);
    }
    if (!force) throw new UsageError(`${target} already exists; choose a new file name, or add --force to replace it.`);
  }
}

async function copyDatabase(source: string, target: string): Promise<BackupResult> {
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const sidecars = [temp, `${temp}-journal`, `${temp}-wal`, `${temp}-shm`];
  // Created empty first with mode 0600 (and 'wx': never someone else's file), so the copy is private from its first byte.
  closeSync(openSync(temp, 'wx', 0o600));
  try {
    // Read-write but never written to: a read-only connection cannot open a WAL database whose
    // -shm file is missing. The online backup only reads the source.
    const src = new BetterSqlite3(source, { fileMustExist: true });
    try {
      src.pragma('busy_timeout = 5000');
      // First step 0 pages (set-up), then every page in one step: one read transaction on one WAL
      // snapshot, so the copy is consistent and never restarts however busy the server's writers are.
      await src.backup(temp, { progress: () => 0x7fffffff });
    } finally {
      src.close();
    }

    const copy = new BetterSqlite3(temp, { fileMustExist: true });
    let counts: { users: number; rooms: number; messages: number };
    try {
      // The source is in WAL mode, which the copy's header inherits: one self-contained file instead.
      copy.pragma('journal_mode = DELETE');
      const problems = copy.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
      if (problems.length !== 1 || problems[0]!.integrity_check !== 'ok') {
        throw new BackupError(
          `the copy of ${source} failed PRAGMA integrity_check (${problems.slice(0, 3).map((p) => p.integrity_check).join('; ')}); ` +
            `nothing was written to ${target}. Check the live database with: sqlite3 ${source} 'PRAGMA integrity_check'`,
        );
      }
      const count = (table: string) => Number(copy.prepare(`select count(*) from "${table}"`).pluck().get());
      counts = { users: count('users'), rooms: count('rooms'), messages: count('messages') };
    } finally {
      copy.close();
    }

    const fd = openSync(temp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(temp, 0o600);
    renameSync(temp, target);
    syncDirectory(dirname(target));
    return { file: target, bytes: statSync(target).size, ...counts };
  } finally {
    for (const f of sidecars) rmSync(f, { force: true });
  }
}

/** Makes the rename durable (best effort: not every platform can fsync a directory). */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* the rename itself is atomic; only its durability across a power cut depends on this */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function describeFailure(e: unknown, source: string, target: string): string {
  const code = (e as { code?: unknown }).code;
  const message = (e as Error).message ?? String(e);
  switch (code) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return `${source} stayed locked for 5 seconds (${code}); try again in a moment. Nothing was written to ${target}.`;
    case 'SQLITE_NOTADB':
    case 'SQLITE_CORRUPT':
      return `${source} is not a readable SQLite database (${code}: ${message}); check DATA_DIR. Nothing was written to ${target}.`;
    case 'SQLITE_FULL':
    case 'ENOSPC':
      return `the disk holding ${target} is full (${code}); free some space or write the backup elsewhere. Nothing was written to ${target}.`;
    case 'EACCES':
    case 'EPERM':
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_READONLY':
      return `permission denied (${code}: ${message}); run carillon backup as the user that owns DATA_DIR, with write access to the directory of ${target}. Nothing was written to ${target}.`;
    default:
      return `the backup of ${source} failed (${typeof code === 'string' ? `${code}: ` : ''}${message}); nothing was written to ${target}.`;
  }
}

function secretLocation(config: Config): string {
  if (config.secret) return 'the SECRET you set';
  if (config.secretFile) return resolve(config.secretFile);
  const generated = join(config.dataDir, 'secret');
  return existsSync(generated) ? generated : `${generated} once the server has created it (at its first start)`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export const backupCommand: CliExtension = {
  words: 'backup',
  usage: 'backup FILE [--force]',
  summary: 'copy the SQLite database to FILE, safely while the server runs',
  run: backup,
};
