/**
 * The SQLite message writer, run in a worker thread (see sqlite-appender.ts for why).
 *
 * It owns a second connection to the same database file and does one thing: store a batch of
 * messages in one transaction, with the same guards and the same SQL results as the portable
 * Kysely path in kysely-store.ts (appendInTx): the webhook still live at its generation (or the
 * previous one while its overlap lasts), the member count for @All/@Present, the room's counter
 * bumped for a gap-free seq, then the row (and, for a member's post, their read position).
 * better-sqlite3 is synchronous, so the commit's fsync (synchronous=FULL) blocks only this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import type { AppendBatchItem, AppendBatchOutcome, AppendRequest, AppendResponse, AppendWorkerData } from './sqlite-append-protocol.js';

const { file, busyTimeoutMs } = workerData as AppendWorkerData;
const port = parentPort!;

let db: BetterSqlite3.Database;
let appendBatch: (items: AppendBatchItem[]) => AppendBatchOutcome[];

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
} catch (e) {
  // Opening failed: every batch is answered with this error (the store turns it into a 503).
  const err = e as { code?: unknown; message?: unknown };
  appendBatch = () => {
    throw Object.assign(new Error(String(err.message)), { code: err.code });
  };
}

port.on('message', (request: AppendRequest | 'close') => {
  if (request === 'close') {
    db?.close();
    // Ends this thread only (in a worker, process.exit stops the worker).
    process.exit(0);
  }
  let response: AppendResponse;
  try {
    response = { id: request.id, outcomes: appendBatch(request.items) };
  } catch (e) {
    // The transaction was rolled back as a whole: nothing of the batch was stored.
    const err = e as { code?: unknown; message?: unknown };
    response = { id: request.id, error: { message: String(err.message), ...(typeof err.code === 'string' ? { code: err.code } : {}) } };
  }
  port.postMessage(response);
});
