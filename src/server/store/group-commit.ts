/**
 * Group commit of message appends: appends that arrive while a transaction is committing wait and
 * go together into the next one, each answered only after that commit (RELIABILITY D-7: ack after
 * durable commit). Under no load a batch is a single message, so nothing waits; under load one
 * fsync serves many. The batch is committed either by a dialect's MessageAppender (SQLite: a worker
 * thread) or by the Kysely store's portable transaction.
 */
import { type AppendOptions, type MessageDraft, type MessageRecord, StoreGuardError } from './types.js';

export interface AppendBatchEntry {
  draft: MessageDraft;
  options: AppendOptions;
}

/** Per item of a batch: its record, or the guard that refused it (and it wrote nothing). */
export type AppendOutcome = MessageRecord | StoreGuardError;

/** Commits message batches for a dialect that does it better than the portable transaction. */
export interface MessageAppender {
  /**
   * Stores the batch in one transaction: per item its record, or the guard that refused it (and
   * it wrote nothing). Rejects, with nothing stored, if the transaction failed as a whole.
   */
  appendBatch(items: AppendBatchEntry[]): Promise<AppendOutcome[]>;
  close(): Promise<void>;
}

interface PendingAppend extends AppendBatchEntry {
  resolve: (m: MessageRecord) => void;
  reject: (e: unknown) => void;
}

/** Upper bound of messages per group-commit transaction (bounds a transaction's time and size). */
const MAX_APPEND_BATCH = 256;

export interface GroupCommitOptions {
  /** Commits one batch in one transaction (see MessageAppender.appendBatch). */
  commit: (batch: AppendBatchEntry[]) => Promise<AppendOutcome[]>;
  /** Turns driver errors into store errors (a batch that failed as a whole rejects each item with it). */
  translateError: (e: unknown) => unknown;
  /**
   * True when the commit runs off the event loop (a worker thread): a batch goes at once, and what
   * arrives while it commits is the next batch. False for in-process commits, which are synchronous
   * on SQLite (better-sqlite3): a batch then starts on the next turn of the event loop, so that the
   * requests read in this I/O phase join it.
   */
  offThread: boolean;
}

export class GroupCommit {
  private readonly queue: PendingAppend[] = [];
  private flushing = false;

  constructor(private readonly options: GroupCommitOptions) {}

  append(draft: MessageDraft, options: AppendOptions): Promise<MessageRecord> {
    return new Promise((resolve, reject) => {
      this.queue.push({ draft, options, resolve, reject });
      if (this.flushing) return;
      this.flushing = true;
      if (this.options.offThread) void this.flush();
      else setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      if (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_APPEND_BATCH);
        let outcomes: AppendOutcome[];
        try {
          outcomes = await this.options.commit(batch.map(({ draft, options }) => ({ draft, options })));
        } catch (e) {
          // The transaction failed as a whole: nothing of the batch was stored.
          const err = this.options.translateError(e);
          for (const item of batch) item.reject(err);
          return;
        }
        batch.forEach((item, i) => {
          const o = outcomes[i]!;
          if (o instanceof StoreGuardError) item.reject(o);
          else item.resolve(o);
        });
      }
    } finally {
      if (this.queue.length === 0) this.flushing = false;
      else if (this.options.offThread) void this.flush();
      // In process, the next batch waits a turn of the event loop too: looping at once took only
      // the few appends that reached the queue during this batch's microtasks.
      else setImmediate(() => void this.flush());
    }
  }
}
