/**
 * The durability floor: how long one durable SQLite commit (WAL, synchronous=FULL, as Carillon
 * ships) takes on this disk, measured in the same run. Every webhook 200 waits for one, so it bounds
 * Carillon's POST → frame latency from below, and no bare floor pays it.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { summarize, tempDir } from './lib.js';

export function benchDurableCommit(commits = 500): { p50: number; p99: number; max: number; n: number } {
  const dir = tempDir('carillon-bench-disk-');
  const db = new BetterSqlite3(join(dir, 'probe.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('create table t (id integer primary key, v text)');
    const insert = db.prepare('insert into t (v) values (?)');
    const row = 'x'.repeat(400);
    const samples: number[] = [];
    for (let i = 0; i < commits; i++) {
      const t = performance.now();
      insert.run(row);
      samples.push(performance.now() - t);
    }
    return summarize(samples);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(benchDurableCommit());
}
