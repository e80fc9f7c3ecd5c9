/** Cold start: process spawn → /readyz 200, on an empty and on a 1-million-message SQLite database. */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openStore } from '../src/server/store/open-store.js';
import { SERVER_CORE, fmt, freePort, repoRoot, spawnNode, stop, summarize, tempDir, waitForOk } from './lib.js';

/** The CLI to start; BENCH_ENTRY=path/to/other/cli/main.js compares another build (before/after a change). */
const ENTRY = process.env.BENCH_ENTRY ?? join(repoRoot, 'dist/cli/main.js');

async function startOnce(dataDir: string): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawnNode([ENTRY, 'serve'], {
    core: SERVER_CORE,
    env: { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
  });
  try {
    await waitForOk(`http://127.0.0.1:${port}/readyz`);
    return performance.now() - t0;
  } finally {
    await stop(child);
  }
}

/** Fills a migrated SQLite database with `n` messages in 100 rooms, straight through better-sqlite3. */
async function fill(dataDir: string, n: number): Promise<void> {
  const store = await openStore({ dataDir });
  await store.close();
  const db = new BetterSqlite3(join(dataDir, 'carillon.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const userId = randomUUID();
  db.prepare('insert into users (id,email,alias,display_name,password_hash,is_system_admin,created_at) values (?,?,?,?,?,1,?)').run(userId, 'b@example.com', 'b', 'B', 'x', Date.now());
  const rooms = Array.from({ length: 100 }, () => randomUUID());
  const perRoom = Math.ceil(n / rooms.length);
  const insRoom = db.prepare('insert into rooms (id,name,created_by,created_at,last_seq) values (?,?,?,?,?)');
  const insMsg = db.prepare('insert into messages (id,room_id,seq,sender_type,sender_id,sender_name,content,html,mentions,created_at) values (?,?,?,?,?,?,?,?,?,?)');
  const mentions = JSON.stringify({ all: false, present: false, userIds: [] });
  db.transaction(() => {
    for (const r of rooms) {
      insRoom.run(r, `room ${r.slice(0, 4)}`, userId, Date.now(), perRoom);
      for (let s = 1; s <= perRoom; s++) insMsg.run(randomUUID(), r, s, 'user', userId, 'B', `message ${s}`, `<p>message ${s}</p>`, mentions, Date.now());
    }
  })();
  db.close();
}

export async function benchColdStart(messages = 1_000_000): Promise<{ emptyMs: number; fullMs: number; fillS: number }> {
  const empty = tempDir('carillon-bench-cold-');
  const full = tempDir('carillon-bench-full-');
  try {
    const emptyRuns: number[] = [];
    // The first start creates the database and the secret; measure the restarts too.
    for (let i = 0; i < 3; i++) emptyRuns.push(await startOnce(empty));
    const t = performance.now();
    await fill(full, messages);
    const fillS = (performance.now() - t) / 1000;
    const fullRuns: number[] = [];
    for (let i = 0; i < 3; i++) fullRuns.push(await startOnce(full));
    return { emptyMs: summarize(emptyRuns).p50, fullMs: summarize(fullRuns).p50, fillS };
  } finally {
    rmSync(empty, { recursive: true, force: true });
    rmSync(full, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchColdStart(Number(process.env.BENCH_MESSAGES ?? 1_000_000));
  console.log(`cold start: empty ${fmt(r.emptyMs, 0)} ms, 1M messages ${fmt(r.fullMs, 0)} ms (filled in ${fmt(r.fillS, 1)} s)`);
}
