/**
 * `carillon backup FILE` (the built CLI, dist/cli/main.js, as a real process) against a real server
 * that keeps taking webhook posts while the backup runs; then the backup restored into a fresh
 * DATA_DIR and served by a fresh server process. Run `npm run build` first.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { tempDir } from '../test-support/backends.js';
import { freePort } from '../test-support/net.js';
import { TEST_SECRET, call, createRoom, setupAdmin, startTestServer } from '../test-support/server.js';
import { repoRoot } from '../test-support/shared-dir.js';

const bin = join(repoRoot, 'dist/cli/main.js');

interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI without blocking this process's event loop (the server under test lives in it). */
function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : -1) : 0;
      resolve({ code, out: stdout, err: stderr });
    });
  });
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${output()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered: ${output()}`);
}

function integrityCheck(file: string): string[] {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[]).map((r) => r.integrity_check);
  } finally {
    db.close();
  }
}

describe('carillon backup', () => {
  let work: string;
  before(() => {
    assert.ok(existsSync(bin), `${bin} is missing: run npm run build first`);
    work = tempDir('carillon-backup-');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('while a server takes webhook posts: every message answered 200 before the backup started is in it, and a fresh server serves it', async (t) => {
    // A generous rate, so the posters below keep the writer busy during the whole backup.
    const s = await startTestServer({ env: { WEBHOOK_RATE_PER_SECOND: '10000', WEBHOOK_BURST: '10000' } });
    const backupFile = join(work, 'live.db');
    const restoreDir = tempDir('carillon-restore-');
    let restored: ChildProcess | undefined;
    let stop = false;
    try {
      const admin = await setupAdmin(s.baseUrl);
      const roomId = await createRoom(s.baseUrl, admin, 'Deployments');
      const hooks: string[] = [];
      for (const name of ['CI', 'Deploy', 'Alerts']) {
        const r = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token, body: { name } });
        assert.equal(r.status, 201, r.text);
        // The server's PUBLIC_URL is not its random port: the path and query are the webhook's.
        const u = new URL(r.body.url as string);
        hooks.push(`${s.baseUrl}${u.pathname}${u.search}`);
      }

      // Posters: each answer is recorded with the time it arrived here.
      const answered: { id: string; at: number }[] = [];
      const failures: string[] = [];
      let n = 0;
      const poster = async (url: string) => {
        while (!stop) {
          const content = `build ${++n} finished :tada: ${'log line '.repeat(60)}`;
          const res = await fetch(url, { method: 'POST', body: JSON.stringify({ Content: content }) });
          const body = (await res.json()) as { MessageId?: string; Code?: string; Message?: string };
          if (res.status === 200) answered.push({ id: body.MessageId!, at: performance.now() });
          else failures.push(`${res.status} ${body.Code}: ${body.Message}`);
        }
      };
      const posting = Promise.all([...hooks, hooks[0]!].map(poster));
      while (answered.length < 300 && failures.length === 0) await new Promise((r) => setTimeout(r, 20));

      const startedAt = performance.now();
      const countBefore = answered.length;
      const r = await cli(['backup', backupFile], { DATA_DIR: s.backend.dataDir, SECRET: TEST_SECRET });
      const endedAt = performance.now();
      stop = true;
      await posting;

      assert.equal(r.code, 0, r.err);
      assert.deepEqual(failures, [], 'the server answered every post 200 while the backup ran');
      const during = answered.filter((a) => a.at > startedAt && a.at < endedAt).length;
      t.diagnostic(`${countBefore} posts answered before the backup, ${during} during it (${Math.round(endedAt - startedAt)} ms)`);
      assert.ok(during > 0, 'posts were answered while the backup ran');
      const m = /^wrote (.+) \(\d+(\.\d+)? (bytes|KiB|MiB)\): a copy of (.+) with 1 user, 1 room and (\d+) messages; integrity_check ok\n$/.exec(r.out);
      assert.ok(m, `one line saying what it wrote, got: ${r.out}`);
      assert.equal(m[1], backupFile);
      assert.equal(m[4], join(s.backend.dataDir, 'carillon.db'));
      assert.ok(Number(m[5]) >= countBefore, `${m[5]} messages in the backup, ${countBefore} answered before it started`);
      assert.match(r.err, /the server secret is not in the backup; keep a copy of the SECRET you set too/);

      // One self-contained, private, sound file, and nothing left behind.
      assert.deepEqual(integrityCheck(backupFile), ['ok']);
      assert.equal(statSync(backupFile).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(work), ['live.db'], 'no temporary file, -wal or -shm beside the backup');
      const header = readFileSync(backupFile).subarray(18, 20);
      assert.deepEqual([...header], [1, 1], 'the backup is not in WAL mode (no -wal file needed)');

      // Restore it the documented way into a fresh DATA_DIR, and serve it from a fresh server process.
      copyFileSync(backupFile, join(restoreDir, 'carillon.db'));
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      let output = '';
      restored = spawn(process.execPath, [bin, 'serve'], {
        env: { PATH: process.env.PATH ?? '', DATA_DIR: restoreDir, SECRET: TEST_SECRET, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: base, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      restored.stdout!.on('data', (d) => (output += d));
      restored.stderr!.on('data', (d) => (output += d));
      await waitReady(`${base}/readyz`, restored, () => output);
      const login = await call(base, 'POST', '/api/v1/auth/login', { body: { email: admin.email, password: 'correct horse battery' } });
      assert.equal(login.status, 200, login.text);
      const token = login.body.token as string;
      const stored: { id: string; seq: number }[] = [];
      for (let afterSeq = 0; ; ) {
        const page = await call(base, 'GET', `/api/v1/rooms/${roomId}/messages?after=${afterSeq}&limit=100`, { token });
        assert.equal(page.status, 200, page.text);
        if (page.body.messages.length === 0) break;
        stored.push(...page.body.messages);
        afterSeq = page.body.messages.at(-1).seq;
      }
      assert.equal(stored.length, Number(m[5]));
      assert.deepEqual(stored.map((x) => x.seq), stored.map((_, i) => i + 1), 'seq 1, 2, 3, … with no gap');
      const inBackup = new Set(stored.map((x) => x.id));
      const missing = answered.filter((a) => a.at < startedAt && !inBackup.has(a.id));
      assert.deepEqual(missing, [], 'every message answered 200 before the backup started is in the backup');
      const everAnswered = new Set(answered.map((a) => a.id));
      assert.deepEqual(stored.filter((x) => !everAnswered.has(x.id)), [], 'nothing in the backup that was not answered 200');

      // With the same secret, the webhook URLs scripts hold still work on the restored server.
      const again = await fetch(hooks[1]!.replace(s.baseUrl, base), { method: 'POST', body: JSON.stringify({ Content: 'after the restore' }) });
      assert.equal(again.status, 200, await again.text());
    } finally {
      stop = true;
      restored?.kill('SIGTERM');
      if (restored && restored.exitCode === null) await new Promise((resolve) => restored!.on('exit', resolve));
      await s.close();
      rmSync(restoreDir, { recursive: true, force: true });
    }
  });

  test('an existing FILE is kept unless --force; --force replaces it whole', async () => {
    const s = await startTestServer();
    try {
      await setupAdmin(s.baseUrl);
      const file = join(work, 'existing.db');
      writeFileSync(file, 'an older backup\n');
      const env = { DATA_DIR: s.backend.dataDir, SECRET: TEST_SECRET };
      const refused = await cli(['backup', file], env);
      assert.equal(refused.code, 2);
      assert.equal(refused.out, '');
      assert.match(refused.err, new RegExp(`${file.replace(/[.]/g, '\\.')} already exists; choose a new file name, or add --force to replace it`));
      assert.equal(readFileSync(file, 'utf8'), 'an older backup\n', 'left alone');

      const forced = await cli(['backup', '--force', file], env);
      assert.equal(forced.code, 0, forced.err);
      assert.match(forced.out, /^wrote .* with 1 user, 0 rooms and 0 messages; integrity_check ok\n$/);
      assert.deepEqual(integrityCheck(file), ['ok']);
      assert.ok(!readdirSync(work).some((f) => f.endsWith('.tmp')), 'no temporary file left');
    } finally {
      await s.close();
    }
  });

  test('with DATABASE_URL (PostgreSQL) it refuses and points at pg_dump, without echoing the password', async () => {
    const file = join(work, 'pg.db');
    const r = await cli(['backup', file], { DATABASE_URL: 'postgres://carillon:s3cret-pw@db.example.com:5432/carillon', DATA_DIR: join(work, 'unused') });
    assert.equal(r.code, 2);
    assert.equal(r.out, '');
    assert.match(r.err, /carillon backup copies the embedded SQLite database, but DATABASE_URL \(--database-url\) points at PostgreSQL/);
    assert.match(r.err, /Back PostgreSQL up with pg_dump instead, e\.g\. pg_dump --format=custom --file=carillon\.dump "\$DATABASE_URL", and restore with pg_restore/);
    assert.ok(!r.err.includes('s3cret-pw'), 'the password is not printed');
    assert.ok(!existsSync(file));
    assert.ok(!existsSync(join(work, 'unused')), 'nothing created');
  });

  test('usage mistakes: each says what to fix, exits 2 and writes nothing', async () => {
    const empty = tempDir('carillon-backup-empty-');
    try {
      const none = await cli(['backup'], { DATA_DIR: empty });
      assert.equal(none.code, 2);
      assert.match(none.err, /usage: carillon backup FILE \[--force\]/);

      const noDb = await cli(['backup', join(work, 'x.db')], { DATA_DIR: empty });
      assert.equal(noDb.code, 2);
      assert.match(noDb.err, new RegExp(`there is no database at ${join(empty, 'carillon.db').replace(/[.]/g, '\\.')}; run carillon backup with the server's data directory`));
      assert.deepEqual(readdirSync(empty), [], 'no database created in an empty DATA_DIR');

      const noDir = await cli(['backup', join(work, 'no/such/dir/x.db')], { DATA_DIR: empty });
      assert.equal(noDir.code, 2);
      assert.match(noDir.err, /the directory .*no\/such\/dir does not exist; create it first \(mkdir -p/);

      const live = await cli(['backup', join(empty, 'carillon.db')], { DATA_DIR: empty });
      assert.equal(live.code, 2);
      assert.match(live.err, /is the live database itself; write the backup to another file/);

      const dir = await cli(['backup', work], { DATA_DIR: empty });
      assert.equal(dir.code, 2);
      assert.match(dir.err, /is a directory; give the backup a file name, e\.g\. /);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
