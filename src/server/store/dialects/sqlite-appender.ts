/**
 * Message appends for SQLite, committed by a worker thread.
 *
 * Every webhook 200 waits for a durable commit (WAL + synchronous=FULL, RELIABILITY D-7), and
 * better-sqlite3 commits synchronously: on the main thread each group commit's fsync stopped the
 * whole server, and under ingest load that was about a quarter of its time (issue 7). In the
 * worker the fsync blocks only the worker, while the main thread goes on reading, rendering and
 * answering requests; the appends that arrive meanwhile make up the next batch (group commit).
 * The batch's SQL runs there too, on prepared statements, without a query builder.
 *
 * The worker has its own connection to the same file. The main connection takes the write lock at
 * BEGIN (see sqlite.ts); each side waits for the other for up to busy_timeout: the worker in
 * SQLite's busy handler (it blocks only this thread), the main thread on timers (sqlite-driver.ts).
 *
 * The webhook delivery log is written there too (DeliveryLogWriter): hundreds of rows every 200 ms
 * under load, whose statements held the event loop for 18 ms on average (up to 93 ms) when they ran
 * on the main thread, partly waiting for this thread's write lock (BENCHMARKS.md, fifth round).
 */
import { Worker } from 'node:worker_threads';
import { APPEND_WORKER_URL, FROM_SOURCE } from '../../runtime-files.js';
import type { MessageAppender } from '../group-commit.js';
import { type MessageRecord, StoreGuardError, StoreUnavailableError } from '../types.js';
import { newMessageRecord } from '../message-rows.js';
import type { DeliveryLogWriter, DeliveryRecord, FailureTally } from '../webhook-ops-store.js';
import type { AppendBatchItem, AppendBatchOutcome, AppendResponse, AppendWorkerData, WriterRequest } from './sqlite-append-protocol.js';

interface InFlight {
  resolve: (outcomes: AppendBatchOutcome[]) => void;
  reject: (e: unknown) => void;
}

// The worker is sqlite-append-worker: the bundle's own entry for it, or its source (.ts) when this
// module runs under tsx (the tests), whose loader Node 20 does not carry into worker threads.
function newWorker(workerData: AppendWorkerData): Worker {
  if (!FROM_SOURCE) return new Worker(APPEND_WORKER_URL, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(APPEND_WORKER_URL.href)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

export class SqliteWorkerAppender implements MessageAppender, DeliveryLogWriter {
  private worker: Worker | null = null;
  private readonly inFlight = new Map<number, InFlight>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly data: AppendWorkerData,
    /** The dialect's error translation (SQLITE_BUSY → StoreUnavailableError, …). */
    private readonly translateError: (e: unknown) => unknown,
  ) {
    // Started now, so its module loading and connection are done before the first post.
    this.start();
  }

  async appendBatch(items: AppendBatchItem[]): Promise<(MessageRecord | StoreGuardError)[]> {
    const outcomes = await this.send((id) => ({ id, items }));
    return outcomes.map((o, i) => ('seq' in o ? newMessageRecord(items[i]!.draft, o.seq) : new StoreGuardError(o.guard, o.detail)));
  }

  async recordDeliveries(rows: readonly DeliveryRecord[], tallies: readonly FailureTally[], keep: number): Promise<void> {
    await this.send((id) => ({ id, log: { rows, tallies, keep } }));
  }

  private send(request: (id: number) => WriterRequest): Promise<AppendBatchOutcome[]> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('The store is closed'));
    // A worker whose thread has stopped (threadId -1) may not have emitted 'exit' yet; a message
    // posted to it would be dropped silently and its batch would wait forever.
    if (this.worker && this.worker.threadId === -1) this.fail(this.worker, new Error('the SQLite append worker has stopped'));
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.inFlight.set(id, { resolve, reject });
      // Keeps the process alive only while a request is waiting for its commit.
      worker.ref();
      worker.postMessage(request(id));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    // Batches already sent are committed and answered before the worker closes its connection.
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.ref();
      worker.postMessage('close');
    });
  }

  private start(): Worker {
    const worker = newWorker(this.data);
    worker.unref();
    worker.on('message', (response: AppendResponse) => this.settle(response));
    worker.on('error', (e) => this.fail(worker, e));
    worker.on('exit', (code) => this.fail(worker, new Error(`the SQLite append worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private settle(response: AppendResponse): void {
    const pending = this.inFlight.get(response.id);
    if (!pending) return;
    this.inFlight.delete(response.id);
    if (this.inFlight.size === 0) this.worker?.unref();
    if ('error' in response) {
      pending.reject(this.translateError(Object.assign(new Error(response.error.message), response.error.code ? { code: response.error.code } : {})));
      return;
    }
    pending.resolve(response.outcomes);
  }

  /**
   * The worker died (a bug, or out of memory): whether its last transaction committed is unknown,
   * so its batches fail as unavailable (503: the client may retry) and the next batch starts a new worker.
   */
  private fail(worker: Worker, cause: unknown): void {
    if (this.worker !== worker) return;
    this.worker = null;
    for (const [id, pending] of this.inFlight) {
      this.inFlight.delete(id);
      pending.reject(new StoreUnavailableError('The SQLite writer stopped; whether the message was stored is unknown', cause));
    }
  }
}
