/** Messages between the store (main thread) and the SQLite append worker. Types only. */
import type { AppendOptions, MessageDraft, StoreGuardError } from '../types.js';

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

export interface AppendRequest {
  id: number;
  items: AppendBatchItem[];
}

export type AppendResponse =
  | { id: number; outcomes: AppendBatchOutcome[] }
  /** The whole transaction failed and was rolled back; `code` is SQLite's (e.g. SQLITE_BUSY). */
  | { id: number; error: { message: string; code?: string } };
