/**
 * Per-room message bookkeeping for the stream's guarantee (SPEC 5, issue 14): every event once, in
 * seq order, with no gap across reconnects. Pure functions over an immutable value, so React can
 * compare by reference and the rules can be unit-tested without a DOM.
 *
 * A room's seqs number its *events*: a message posted (`message.created`, whose seq is the
 * message's own) or a change of an earlier message (`message.updated`: edited, deleted, reactions),
 * which takes the next seq while the message keeps its own. So message seqs have gaps, and nothing
 * here may assume that message n+1 follows message n.
 *
 * - `watermark` is the highest event seq this client has applied with nothing missing below it
 *   (down to where it started counting); it is what `resume` sends after a reconnect.
 * - An event at or below the watermark is a duplicate (replays overlap live delivery) and dropped.
 * - An event past `watermark + 1` waits in `pending` until the stream brings the ones before it
 *   (the caller asks it to replay from the watermark if they do not come).
 * - `messages` is what is on hand for display, ascending by seq, with no message missing between
 *   the first and the last. Copies fetched over HTTP (history pages, the answers to actions) join
 *   it without moving the watermark: the stream still brings every event after it.
 * - `versions` remembers, per message, the seq of the newest event its copy is known to include, so
 *   an older copy (an HTTP answer that crossed a live change) never replaces a newer one.
 */
import type { Message } from '../../shared/api-types';

/** One seq of the room's event sequence, as the stream delivers it. */
export interface LogEvent {
  seq: number;
  kind: 'created' | 'updated';
  /** The message's state at (or after) this event. */
  message: Message;
  /** `message.updated` only: the change makes the message alert me when it did not before. */
  newAlert?: boolean;
}

export interface RoomLog {
  /** Ascending by seq; no message is missing between the first and the last (seq gaps are changes). */
  readonly messages: readonly Message[];
  /** Every event up to this seq has been applied (what `resume` sends). */
  readonly watermark: number;
  /** Events that arrived past a gap, ascending by seq, all greater than watermark + 1. */
  readonly pending: readonly LogEvent[];
  /** Per message id on hand: the newest event seq its copy is known to reflect. */
  readonly versions: ReadonlyMap<string, number>;
  /** Whether the latest page was fetched (the room was opened at least once). */
  readonly loaded: boolean;
  /** Whether older messages than messages[0] exist on the server. */
  readonly hasOlder: boolean;
}

export interface Applied {
  log: RoomLog;
  /** The events applied, in order (each seq exactly once over the log's life). */
  applied: LogEvent[];
  /** Messages posted that became known through their `created` event (each exactly once): what badges count. */
  accepted: Message[];
  /** Set when events are missing: the stream should replay after this seq. */
  gapAfter: number | null;
}

/** At most this many messages stay in memory per room; older ones are fetched again on scroll. */
export const MAX_MESSAGES_IN_MEMORY = 1000;

export function emptyLog(watermark: number): RoomLog {
  return { messages: [], watermark, pending: [], versions: new Map(), loaded: false, hasOlder: watermark > 0 };
}

/**
 * Seq 1 of a room is always a message (a change needs an earlier message, and deleted messages
 * stay as tombstones), so older messages exist exactly when the first one on hand is past seq 1.
 */
function olderExist(messages: readonly Message[], fallback: boolean): boolean {
  return messages.length > 0 ? messages[0]!.seq > 1 : fallback;
}

/** Index of the first message with seq >= `seq` (binary search). */
function lowerBound(messages: readonly Message[], seq: number): number {
  let lo = 0;
  let hi = messages.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (messages[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A mutable working copy of the display while a batch is applied. */
class Draft {
  messages: Message[];
  versions: Map<string, number>;
  changed = false;

  constructor(
    private readonly log: RoomLog,
  ) {
    this.messages = [...log.messages];
    this.versions = new Map(log.versions);
  }

  /**
   * Puts a copy in place: replaces the one with its id when `version` is newer (or, with
   * `orEqual`, as new), or inserts it in seq order when that leaves no hole (`mayExtendDown`:
   * it may go below the first message on hand).
   */
  put(m: Message, version: number, options: { orEqual?: boolean; insert: boolean; mayExtendDown?: boolean }): void {
    const i = lowerBound(this.messages, m.seq);
    const at = this.messages[i];
    if (at && at.seq === m.seq) {
      const current = this.versions.get(at.id) ?? 0;
      if (version > current || (options.orEqual && version === current)) {
        this.messages[i] = m;
        this.versions.set(m.id, version);
        this.changed = true;
      }
      return;
    }
    if (!options.insert) return;
    if (i === 0 && this.messages.length > 0 && !options.mayExtendDown && this.log.hasOlder) return;
    this.messages.splice(i, 0, m);
    this.versions.set(m.id, version);
    this.changed = true;
  }

  /** Replaces the copy with this id (wherever it is), when `version` is newer. */
  update(m: Message, version: number): void {
    const i = lowerBound(this.messages, m.seq);
    const at = this.messages[i];
    if (!at || at.id !== m.id) return;
    if (version <= (this.versions.get(at.id) ?? 0)) return;
    this.messages[i] = m;
    this.versions.set(m.id, version);
    this.changed = true;
  }

  /** The display, trimmed to the memory bound (the oldest go; they can be fetched again). */
  finish(): { messages: Message[]; versions: Map<string, number>; trimmed: boolean } {
    if (this.messages.length <= MAX_MESSAGES_IN_MEMORY) return { messages: this.messages, versions: this.versions, trimmed: false };
    const messages = this.messages.slice(this.messages.length - MAX_MESSAGES_IN_MEMORY);
    const versions = new Map<string, number>();
    for (const m of messages) versions.set(m.id, this.versions.get(m.id) ?? 0);
    return { messages, versions, trimmed: true };
  }
}

/** Applies events from the stream (any order, duplicates allowed). */
export function receiveEvents(log: RoomLog, incoming: readonly LogEvent[]): Applied {
  const bySeq = new Map<number, LogEvent>();
  for (const e of log.pending) bySeq.set(e.seq, e);
  let added = false;
  for (const e of incoming) {
    if (e.seq > log.watermark && !bySeq.has(e.seq)) {
      bySeq.set(e.seq, e);
      added = true;
    }
  }
  if (!added) return { log, applied: [], accepted: [], gapAfter: log.pending.length > 0 ? log.watermark : null };

  const draft = new Draft(log);
  const applied: LogEvent[] = [];
  const accepted: Message[] = [];
  let watermark = log.watermark;
  let next = bySeq.get(watermark + 1);
  while (next) {
    bySeq.delete(next.seq);
    applied.push(next);
    watermark = next.seq;
    if (next.kind === 'created') {
      accepted.push(next.message);
      draft.put(next.message, next.seq, { insert: true });
    } else {
      draft.update(next.message, next.seq);
    }
    next = bySeq.get(watermark + 1);
  }
  const pending = [...bySeq.values()].filter((e) => e.seq > watermark).sort((a, b) => a.seq - b.seq);
  const { messages, versions, trimmed } = draft.finish();
  return {
    log: {
      ...log,
      messages: draft.changed ? messages : log.messages,
      versions: draft.changed ? versions : log.versions,
      watermark,
      pending,
      hasOlder: trimmed || olderExist(messages, log.hasOlder),
    },
    applied,
    accepted,
    gapAfter: pending.length > 0 ? watermark : null,
  };
}

/** A message posted at its own seq, as an event (the stream's `message.created`, or the answer to my post). */
export const createdEvent = (message: Message): LogEvent => ({ seq: message.seq, kind: 'created', message });

/**
 * Merges copies fetched over HTTP (the answer to an edit, a reaction, my own post) into the
 * display. `atLeast`: an event seq the copies are known to include — the watermark when the request
 * was sent (what the server had then is in its answer). A copy on hand that includes a later event
 * is kept; every event after the watermark still comes through the stream.
 */
export function mergeFetched(log: RoomLog, fetched: readonly Message[], atLeast: number): RoomLog {
  const draft = new Draft(log);
  const last = log.messages[log.messages.length - 1]?.seq;
  for (const m of fetched) {
    // A new copy may only go after the newest on hand (the stream fills in before it), or into an
    // empty room already loaded; anything else could leave a hole.
    const insert = last !== undefined ? m.seq > last : log.loaded && !log.hasOlder;
    draft.put(m, Math.max(atLeast, m.seq), { orEqual: true, insert });
  }
  if (!draft.changed) return log;
  const { messages, versions, trimmed } = draft.finish();
  return { ...log, messages, versions, hasOlder: trimmed || olderExist(messages, log.hasOlder) };
}

/**
 * Merges the latest page (GET …/messages without after/before) when a room is opened; `atLeast` is
 * the watermark when it was requested. The page is everything from its first message to the
 * newest; what the stream brought before (from the watermark the log started at) joins it when the
 * two meet, and is dropped otherwise (older history is fetched again on scroll). The watermark does
 * not move: the events after it, messages in this page included, still come through the stream.
 */
export function loadLatest(log: RoomLog, page: readonly Message[], atLeast: number, pageLimit: number): RoomLog {
  if (page.length === 0) {
    return { ...log, loaded: true, hasOlder: olderExist(log.messages, false) };
  }
  const sorted = [...page].sort((a, b) => a.seq - b.seq);
  const complete = page.length < pageLimit; // the room has no other messages
  const first = sorted[0]!.seq;
  // The page and what is on hand meet (nothing can hide between them) when the page starts at or
  // below the first seq the stream has not brought yet.
  const joins = complete || log.messages.length === 0 || first <= log.watermark + 1;
  const base: RoomLog = joins ? log : { ...log, messages: [], versions: new Map() };
  const draft = new Draft({ ...base, hasOlder: !complete });
  for (const m of sorted) draft.put(m, Math.max(atLeast, m.seq), { orEqual: true, insert: true, mayExtendDown: true });
  const { messages, versions, trimmed } = draft.finish();
  return {
    ...log,
    messages,
    versions,
    loaded: true,
    hasOlder: trimmed || (!complete && olderExist(messages, true)),
  };
}

/**
 * Prepends a page fetched with before=`before` (the first seq on hand then). The page is the
 * messages right before it, so it joins without a hole; a page for another start is dropped.
 */
export function loadOlder(log: RoomLog, page: readonly Message[], before: number, atLeast = log.watermark): RoomLog {
  const first = log.messages[0]?.seq ?? log.watermark + 1;
  if (first !== before) return log;
  const older = page.filter((m) => m.seq < first).sort((a, b) => a.seq - b.seq);
  if (older.length === 0) return { ...log, hasOlder: false };
  const versions = new Map(log.versions);
  for (const m of older) versions.set(m.id, Math.max(atLeast, m.seq));
  const messages = [...older, ...log.messages];
  return { ...log, messages, versions, hasOlder: olderExist(messages, false) };
}

/** The seq to ask `before` for older messages, or null when everything is loaded. */
export function olderCursor(log: RoomLog): number | null {
  if (!log.hasOlder) return null;
  const first = log.messages[0]?.seq ?? log.watermark + 1;
  return first > 1 ? first : null;
}

/** The copy on hand of a message, by id. */
export function findMessage(log: RoomLog, id: string): Message | undefined {
  return log.versions.has(id) ? log.messages.find((m) => m.id === id) : undefined;
}
