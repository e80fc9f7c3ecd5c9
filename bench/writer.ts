/**
 * The message writer's own cost (issue 16, item 5): CPU per stored message of the real SQLite
 * writer thread (store/dialects/sqlite-append-worker.ts, through SqliteWorkerAppender, as the server
 * uses it: structured clone of the batch, the webhook guard, the seq, the insert with its search
 * index trigger, one durable commit per batch), by batch size, with the search index and without it.
 *
 * It runs in the bench process on one core (pinned with taskset when the bench itself is started
 * under `taskset -c 0`; it does not pin itself). CPU is the process's user + system time over the
 * run, so it counts both threads and the kernel's share of the fsyncs; nothing else runs meanwhile.
 * Every group commit of an ingest run is one of these batches (about 20 messages each at 50
 * connections), so this is a floor under the server's CPU per webhook post that no HTTP or event-loop
 * work can lower.
 *
 * Message ids are time-ordered (UUID v7, ids.ts) as the server makes them; the last rows repeat
 * 20 per commit with random UUID v4 ids, the server's ids before, for comparison.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteWorkerAppender } from '../src/server/store/dialects/sqlite-appender.js';
import { SQLITE_BUSY_TIMEOUT_MS, openSqlite, translateSqliteError } from '../src/server/store/dialects/sqlite.js';
import { migrateToLatest } from '../src/server/store/migrations.js';
import type { AppendBatchItem } from '../src/server/store/dialects/sqlite-append-protocol.js';
import { orderedId } from '../src/server/ids.js';
import { QUICK, fmt, table, tempDir } from './lib.js';

export interface WriterFigures {
  batch: number;
  search: boolean;
  ids: 'v7' | 'v4';
  messages: number;
  cpuUsPerMessage: number;
  wallUsPerMessage: number;
}

async function runOnce(batch: number, search: boolean, messages: number, ids: 'v7' | 'v4' = 'v7'): Promise<WriterFigures> {
  const dir = tempDir('carillon-bench-writer-');
  try {
    const { db, raw, file } = openSqlite(dir);
    await migrateToLatest(db);
    const now = Date.now();
    const roomId = randomUUID();
    const webhookId = randomUUID();
    raw.prepare("insert into users (id,email,alias,display_name,password_hash,is_system_admin,created_at) values ('u','u@bench.example','u','U','x',1,?)").run(now);
    raw.prepare("insert into rooms (id,name,created_by,created_at,last_seq) values (?,'bench','u',?,0)").run(roomId, now);
    raw.prepare("insert into webhooks (id,room_id,name,name_key,generation,created_by,created_at) values (?,?,'hook','hook',1,'u',?)").run(webhookId, roomId, now);
    if (!search) raw.exec('drop trigger messages_fts_insert');
    await db.destroy();

    const appender = new SqliteWorkerAppender({ file, busyTimeoutMs: SQLITE_BUSY_TIMEOUT_MS }, translateSqliteError);
    const item = (i: number): AppendBatchItem => {
      const content = `Deploy of build ${i} finished on web-${i % 17}: 42 tests passed, see https://ci.example.com/builds/${i} :tada:`;
      const createdAt = Date.now();
      return {
        draft: {
          id: ids === 'v7' ? orderedId(createdAt) : randomUUID(),
          roomId,
          sender: { type: 'webhook', id: webhookId, name: 'hook' },
          content,
          html: `<p>${content}</p>`,
          mentions: { all: false, present: false, userIds: [] },
          createdAt,
        },
        options: { webhook: { id: webhookId, generation: 1 } },
      };
    };
    // Warm-up: the worker's start, its statements and the JIT.
    for (let i = 0; i < 20; i++) await appender.appendBatch([item(i)]);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let done = 0; done < messages; done += batch) {
      const outcomes = await appender.appendBatch(Array.from({ length: batch }, (_, k) => item(done + k)));
      if (outcomes.length !== batch || outcomes.some((o) => o instanceof Error)) throw new Error('a message was refused');
    }
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - t0;
    await appender.close();
    const check = new BetterSqlite3(file, { readonly: true });
    const stored = Number(check.prepare('select count(*) from messages').pluck().get());
    check.close();
    if (stored !== messages + 20) throw new Error(`stored ${stored}, expected ${messages + 20}`);
    return { batch, search, ids, messages, cpuUsPerMessage: (cpu.user + cpu.system) / messages, wallUsPerMessage: (wallMs * 1000) / messages };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchWriter(): Promise<WriterFigures[]> {
  const messages = QUICK ? 5_000 : 20_000;
  const out: WriterFigures[] = [];
  for (const batch of [1, 5, 20, 100, 250]) {
    for (const search of [true, false]) out.push(await runOnce(batch, search, batch === 1 ? messages / 10 : messages));
  }
  for (const search of [true, false]) out.push(await runOnce(20, search, messages, 'v4'));
  return out;
}

export function writerTable(rows: WriterFigures[]): string {
  const by = (batch: number, search: boolean, ids: string) => rows.find((r) => r.batch === batch && r.search === search && r.ids === ids)!;
  const kinds = [...new Map(rows.map((r) => [`${r.batch} ${r.ids}`, r])).values()];
  return table([
    ['messages per commit', 'ids', 'CPU µs/message, with search index', 'without', 'wall µs/message, with search index', 'without'],
    ...kinds.map(({ batch: b, ids }) => [
      b,
      ids === 'v7' ? 'v7 (ordered)' : 'v4 (random)',
      fmt(by(b, true, ids).cpuUsPerMessage, 1),
      fmt(by(b, false, ids).cpuUsPerMessage, 1),
      fmt(by(b, true, ids).wallUsPerMessage, 1),
      fmt(by(b, false, ids).wallUsPerMessage, 1),
    ]),
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await benchWriter();
  console.log(writerTable(rows));
}
