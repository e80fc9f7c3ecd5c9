/**
 * Per-room message bookkeeping for the stream's guarantee (SPEC 5): each message once, in seq
 * order, with no gap across reconnects. Pure functions over an immutable value, so React can
 * compare by reference and the rules can be unit-tested without a DOM.
 *
 * - `watermark` is the highest seq this client holds with nothing missing below it (down to where
 *   it started counting); it is what `resume` sends after a reconnect.
 * - A message at or below the watermark is a duplicate (replays overlap live delivery) and dropped.
 * - A message past `watermark + 1` waits in `pending` while the caller fills the gap with
 *   GET …/messages?after=watermark; the pending ones then follow in order.
 * - `messages` is the contiguous run on hand for display, ending at the watermark.
 */
import type { Message } from '../../shared/api-types';

export interface RoomLog {
  /** Ascending, contiguous by seq, ending at `watermark` (empty when nothing is on hand). */
  readonly messages: readonly Message[];
  readonly watermark: number;
  /** Messages that arrived past a gap, ascending by seq, all greater than watermark + 1. */
  readonly pending: readonly Message[];
  /** Whether the latest page was fetched (the room was opened at least once). */
  readonly loaded: boolean;
  /** Whether older messages than messages[0] exist on the server. */
  readonly hasOlder: boolean;
}

export interface Applied {
  log: RoomLog;
  /** Messages that became part of the log, in order (each exactly once over the log's life). */
  accepted: Message[];
  /** Set when messages are missing: fetch `after` this seq and apply them with `receiveMany`. */
  gapAfter: number | null;
}

/** At most this many messages stay in memory per room; older ones are fetched again on scroll. */
export const MAX_MESSAGES_IN_MEMORY = 1000;

export function emptyLog(watermark: number): RoomLog {
  return { messages: [], watermark, pending: [], loaded: false, hasOlder: watermark > 0 };
}

function trimmed(messages: Message[], hasOlder: boolean): { messages: Message[]; hasOlder: boolean } {
  if (messages.length <= MAX_MESSAGES_IN_MEMORY) return { messages, hasOlder };
  return { messages: messages.slice(messages.length - MAX_MESSAGES_IN_MEMORY), hasOlder: true };
}

/** Applies stream or gap-fill messages (any order, duplicates allowed). */
export function receiveMany(log: RoomLog, incoming: readonly Message[]): Applied {
  let watermark = log.watermark;
  const pendingBySeq = new Map<number, Message>();
  for (const m of log.pending) pendingBySeq.set(m.seq, m);
  for (const m of incoming) {
    if (m.seq > watermark && !pendingBySeq.has(m.seq)) pendingBySeq.set(m.seq, m);
  }
  const accepted: Message[] = [];
  let next = pendingBySeq.get(watermark + 1);
  while (next) {
    pendingBySeq.delete(next.seq);
    accepted.push(next);
    watermark = next.seq;
    next = pendingBySeq.get(watermark + 1);
  }
  if (accepted.length === 0 && pendingBySeq.size === log.pending.length) {
    // Nothing new: only duplicates (or messages already waiting).
    return { log, accepted, gapAfter: log.pending.length > 0 ? log.watermark : null };
  }
  const pending = [...pendingBySeq.values()].filter((m) => m.seq > watermark).sort((a, b) => a.seq - b.seq);
  // The display run must stay contiguous: a log whose run does not end at the old watermark
  // (nothing on hand yet) starts its run at the first accepted message.
  const run = log.messages.length > 0 && log.messages[log.messages.length - 1]!.seq === log.watermark ? [...log.messages, ...accepted] : accepted;
  const t = trimmed(run, log.hasOlder || (run.length > 0 && run[0]!.seq > 1));
  return {
    log: { ...log, messages: t.messages, watermark, pending, hasOlder: t.hasOlder },
    accepted,
    gapAfter: pending.length > 0 ? watermark : null,
  };
}

export function receive(log: RoomLog, message: Message): Applied {
  return receiveMany(log, [message]);
}

/**
 * Merges the latest page (GET …/messages without after/before) when a room is opened. Messages
 * in the page above the watermark are new to this client and returned as accepted.
 */
export function loadLatest(log: RoomLog, page: readonly Message[]): Applied {
  if (page.length === 0) {
    return { log: { ...log, loaded: true, hasOlder: false }, accepted: [], gapAfter: log.pending.length > 0 ? log.watermark : null };
  }
  const sorted = [...page].sort((a, b) => a.seq - b.seq);
  const last = sorted[sorted.length - 1]!.seq;
  const bySeq = new Map<number, Message>();
  for (const m of log.messages) bySeq.set(m.seq, m);
  const accepted: Message[] = [];
  for (const m of sorted) {
    if (m.seq > log.watermark) accepted.push(m);
    if (!bySeq.has(m.seq)) bySeq.set(m.seq, m);
  }
  let watermark = Math.max(log.watermark, last);
  // Pending messages now at or below the watermark are duplicates; the rest may now follow on.
  const stillPending: Message[] = [];
  for (const m of log.pending) {
    if (m.seq <= watermark) continue;
    stillPending.push(m);
  }
  stillPending.sort((a, b) => a.seq - b.seq);
  while (stillPending.length > 0 && stillPending[0]!.seq === watermark + 1) {
    const m = stillPending.shift()!;
    bySeq.set(m.seq, m);
    accepted.push(m);
    watermark = m.seq;
  }
  // The longest contiguous run that ends at the watermark.
  const run: Message[] = [];
  for (let s = watermark; bySeq.has(s); s--) run.push(bySeq.get(s)!);
  run.reverse();
  const t = trimmed(run, run.length === 0 || run[0]!.seq > 1);
  return {
    log: { messages: t.messages, watermark, pending: stillPending, loaded: true, hasOlder: t.hasOlder },
    accepted,
    gapAfter: stillPending.length > 0 ? watermark : null,
  };
}

/** Prepends a page fetched with before=messages[0].seq. */
export function loadOlder(log: RoomLog, page: readonly Message[]): RoomLog {
  const first = log.messages[0]?.seq ?? log.watermark + 1;
  const older = [...page].filter((m) => m.seq < first).sort((a, b) => a.seq - b.seq);
  // Keep only the part that joins the run without a hole.
  const joined: Message[] = [];
  for (let i = older.length - 1, want = first - 1; i >= 0 && older[i]!.seq === want; i--, want--) joined.push(older[i]!);
  joined.reverse();
  const messages = [...joined, ...log.messages];
  const firstSeq = messages[0]?.seq ?? 1;
  return { ...log, messages, hasOlder: joined.length > 0 ? firstSeq > 1 : false };
}

/** The seq to ask `before` for older messages, or null when everything is loaded. */
export function olderCursor(log: RoomLog): number | null {
  if (!log.hasOlder) return null;
  const first = log.messages[0]?.seq ?? log.watermark + 1;
  return first > 1 ? first : null;
}
