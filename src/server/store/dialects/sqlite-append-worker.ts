/**
 * The SQLite writer, run in a worker thread (see sqlite-appender.ts for why).
 *
 * It owns a second connection to the same database file and does two things:
 *
 * - Store a batch of messages in one transaction, with the same guards and the same SQL results as
 *   the portable Kysely path in kysely-store.ts (appendInTx): the webhook still live at its
 *   generation (or the previous one while its overlap lasts), the member count for @All/@Present,
 *   the room's counter bumped for a gap-free seq, then the row (and, for a member's post, their
 *   read position). better-sqlite3 is synchronous, so the commit's fsync (synchronous=FULL) blocks
 *   only this thread.
 * - Write webhook delivery-log rows and failure tallies, with the same results as
 *   KyselyWebhookOpsStore.recordDeliveries (webhook-ops-store.ts), without an fsync of their own
 *   (diagnostics; the next message commit's fsync covers them). Written here, the log's statements
 *   (hundreds of rows every 200 ms under load) never run on the event loop, and never wait there
 *   for this thread's write lock.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import type { AppendBatchItem, AppendBatchOutcome, AppendResponse, AppendWorkerData, DeliveryLogRequest, WriterRequest } from './sqlite-append-protocol.js';

const { file, busyTimeoutMs } = workerData as AppendWorkerData;
const port = parentPort!;

let db: BetterSqlite3.Database;
let appendBatch: (items: AppendBatchItem[]) => AppendBatchOutcome[];
let writeLog: (log: DeliveryLogRequest['log']) => void;

try {
  db = new BetterSqlite3(file, { fileMustExist: true });
  // The main connection set WAL mode, which is kept in the file; these are per connection.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${Math.floor(busyTimeoutMs)}`);

  // Live at the post's generation, or that generation is the previous one and its overlap lasts
  // past the post's time (issue 15: regenerate with keepOldUrlForHours).
  const webhookLive = db
    .prepare<[string, number, number, number]>(
      'select 1 from "webhooks" where "id" = ? and "deleted_at" is null and ("generation" = ? or ("generation" = ? + 1 and "previous_valid_until" > ?))',
    )
    .pluck();
  const memberCount = db.prepare<[string]>('select count(*) from "room_members" where "room_id" = ?').pluck();
  const bumpSeq = db.prepare<[string]>('update "rooms" set "last_seq" = "last_seq" + 1 where "id" = ? returning "last_seq"').pluck();
  const insert = db.prepare(
    'insert into "messages" ("id", "room_id", "seq", "sender_type", "sender_id", "sender_name", "content", "html", "mentions", "created_at", "present_user_ids") ' +
      'values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  // A member's own post marks the room read for them (never run for webhook posts).
  const markRead = db.prepare<[number | bigint, string, string, number | bigint]>(
    'update "room_members" set "last_read_seq" = ? where "room_id" = ? and "user_id" = ? and "last_read_seq" < ?',
  );

  const one = ({ draft, options }: AppendBatchItem): AppendBatchOutcome => {
    // Every guard before the first write: a refused item writes nothing, and the batch goes on.
    if (options.webhook && webhookLive.get(options.webhook.id, options.webhook.generation, options.webhook.generation, draft.createdAt) === undefined) {
      return { guard: 'webhook_gone' };
    }
    if (options.maxMembers !== undefined) {
      const n = Number(memberCount.get(draft.roomId));
      if (n > options.maxMembers) return { guard: 'too_many_members', detail: n };
    }
    const seq = bumpSeq.get(draft.roomId) as number | bigint | undefined;
    if (seq === undefined) return { guard: 'not_found' };
    insert.run(
      draft.id,
      draft.roomId,
      seq,
      draft.sender.type,
      draft.sender.id,
      draft.sender.name,
      draft.content,
      draft.html,
      JSON.stringify(draft.mentions),
      draft.createdAt,
      draft.presentAtPost ? JSON.stringify(draft.presentAtPost) : null,
    );
    if (options.markReadBy !== undefined) markRead.run(seq, draft.roomId, options.markReadBy, seq);
    return { seq: Number(seq) };
  };
  // IMMEDIATE: take the write lock at BEGIN, waiting up to busy_timeout for the main connection.
  appendBatch = db.transaction((items: AppendBatchItem[]) => items.map(one)).immediate;

  // The delivery log: the statements of KyselyWebhookOpsStore.recordDeliveries, prepared once.
  const webhookExists = db.prepare<[string]>('select 1 from "webhooks" where "id" = ? and "deleted_at" is null').pluck();
  const insertDelivery = db.prepare(
    'insert into "webhook_deliveries" ("id", "webhook_id", "at", "status", "code", "bytes", "latency_us", "message_id", "format") ' +
      'values (?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict ("id") do nothing',
  );
  // In an upsert's SET every expression reads the row as it was: the newest failure's fields win.
  const addFailures = db.prepare(
    'insert into "webhook_failures" ("webhook_id", "minute", "failures", "first_at", "last_at", "last_status", "last_code") values (?, ?, ?, ?, ?, ?, ?) ' +
      'on conflict ("webhook_id", "minute") do update set ' +
      '"failures" = "webhook_failures"."failures" + "excluded"."failures", ' +
      '"first_at" = min("webhook_failures"."first_at", "excluded"."first_at"), ' +
      '"last_status" = case when "excluded"."last_at" >= "webhook_failures"."last_at" then "excluded"."last_status" else "webhook_failures"."last_status" end, ' +
      '"last_code" = case when "excluded"."last_at" >= "webhook_failures"."last_at" then "excluded"."last_code" else "webhook_failures"."last_code" end, ' +
      '"last_at" = max("webhook_failures"."last_at", "excluded"."last_at")',
  );
  const keepCutoff = db.prepare<[string, number]>('select "id" from "webhook_deliveries" where "webhook_id" = ? order by "id" desc limit 1 offset ?').pluck();
  const trimOlder = db.prepare<[string, string]>('delete from "webhook_deliveries" where "webhook_id" = ? and "id" < ?');

  const logTx = db.transaction(({ rows, tallies, keep }: DeliveryLogRequest['log']) => {
    const ids = new Set([...rows.map((r) => r.webhookId), ...tallies.map((t) => t.webhookId)]);
    const live = new Set([...ids].filter((id) => webhookExists.get(id) !== undefined));
    for (const r of rows) {
      if (!live.has(r.webhookId)) continue;
      insertDelivery.run(r.id, r.webhookId, r.at, r.status, r.code, r.bytes, Math.round(r.latencyMs * 1000), r.messageId, r.format);
    }
    for (const t of tallies) {
      if (live.has(t.webhookId)) addFailures.run(t.webhookId, t.minute, t.failures, t.firstAt, t.lastAt, t.lastStatus, t.lastCode);
    }
    // The newest `keep` of each webhook stay: one index range scan and delete per webhook.
    for (const webhookId of new Set(rows.map((r) => r.webhookId))) {
      if (!live.has(webhookId)) continue;
      const cutoff = keepCutoff.get(webhookId, keep - 1) as string | undefined;
      if (cutoff !== undefined) trimOlder.run(webhookId, cutoff);
    }
  }).immediate;
  writeLog = (log) => {
    // No fsync for this commit (as the main thread's log connection, sqlite.ts): in WAL mode that
    // never corrupts the file, and the next message commit's fsync makes these rows durable too.
    // No busy wait either: while another connection holds the write lock, a log write that slept
    // here would hold up every message batch behind it; it fails at BEGIN and is tried again later.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 0');
    try {
      logTx(log);
    } finally {
      db.pragma('synchronous = FULL');
      db.pragma(`busy_timeout = ${Math.floor(busyTimeoutMs)}`);
    }
  };
} catch (e) {
  // Opening failed: every request is answered with this error (the store turns it into a 503).
  const err = e as { code?: unknown; message?: unknown };
  appendBatch = writeLog = () => {
    throw Object.assign(new Error(String(err.message)), { code: err.code });
  };
}

const failed = (id: number, e: unknown): AppendResponse => {
  // The transaction was rolled back as a whole: nothing of the batch (or log write) was stored.
  const err = e as { code?: unknown; message?: unknown };
  return { id, error: { message: String(err.message), ...(typeof err.code === 'string' ? { code: err.code } : {}) } };
};

/**
 * A log write; while the write lock is held elsewhere, tried again after a timer (2 to 50 ms,
 * jittered), so that message batches go first, for as long as a message batch would wait for the
 * lock (busy_timeout); then its error is the answer (the delivery log drops those rows, counted).
 */
function logWhenFree(request: DeliveryLogRequest, started: number, wait: number): void {
  try {
    writeLog(request.log);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'SQLITE_BUSY' && performance.now() - started < busyTimeoutMs) {
      setTimeout(() => logWhenFree(request, started, Math.min(wait * 2, 50)), wait / 2 + Math.random() * wait);
      return;
    }
    port.postMessage(failed(request.id, e));
    return;
  }
  port.postMessage({ id: request.id, outcomes: [] } satisfies AppendResponse);
}

port.on('message', (request: WriterRequest | 'close') => {
  if (request === 'close') {
    db?.close();
    // Ends this thread only (in a worker, process.exit stops the worker): a log write still
    // waiting for the lock is not written, and the store answers it as unavailable.
    process.exit(0);
  }
  if ('log' in request) {
    logWhenFree(request, performance.now(), 2);
    return;
  }
  let response: AppendResponse;
  try {
    response = { id: request.id, outcomes: appendBatch(request.items) };
  } catch (e) {
    response = failed(request.id, e);
  }
  port.postMessage(response);
});
