/** Messages between the store (main thread) and the SQLite writer thread. Types only. */
import type { AppendOptions, MessageDraft, StoreGuardError } from '../types.js';
import type { DeliveryRecord, FailureTally } from '../webhook-ops-store.js';

export interface AppendWorkerData {
  /** The database file, already created and migrated by the main connection. */
  file: string;
  busyTimeoutMs: number;
}

export interface AppendBatchItem {
  draft: MessageDraft;
  options: AppendOptions;
}

/** The seq a stored message got, or why it was refused (it wrote nothing). */
export type AppendBatchOutcome = { seq: number } | { guard: StoreGuardError['reason']; detail?: number };

/** Store these messages in one durable transaction. */
export interface AppendRequest {
  id: number;
  items: AppendBatchItem[];
}

/** Write these webhook delivery rows and failure tallies (WebhookOpsStore.recordDeliveries), without an fsync. */
export interface DeliveryLogRequest {
  id: number;
  log: { rows: readonly DeliveryRecord[]; tallies: readonly FailureTally[]; keep: number };
}

export type WriterRequest = AppendRequest | DeliveryLogRequest;

export type AppendResponse =
  /** An append's outcomes, item by item; a delivery-log write answers with none. */
  | { id: number; outcomes: AppendBatchOutcome[] }
  /** The whole transaction failed and was rolled back; `code` is SQLite's (e.g. SQLITE_BUSY). */
  | { id: number; error: { message: string; code?: string } };
