/**
 * One room's live stream on this node: puts the bus's message events (new messages and changes of
 * them, which take seqs of the same sequence) back in seq order, fills
 * gaps from the store, and hands each message, serialized once, to the room's subscribed sockets.
 *
 * Why gaps happen: seqs are assigned in commit order, but two posts that commit back to back may
 * publish in the other order, and a distributed bus may drop an event. A message is committed
 * before it is published, and the seq counter's row lock makes commits happen in seq order, so once
 * seq n is seen every seq below n is already readable from the store (RELIABILITY D-7, D-8).
 */
import type { MessageRecord, RoomEvent, Store } from '../store/types.js';
import { MessageEntry } from './frames.js';
import type { Logger } from './logger.js';

/** What a channel needs of a socket's subscription to its room (connection.ts's RoomSub). */
export interface ChannelSubscriber {
  readonly conn: { send(frame: Buffer): void };
  deliver(entry: MessageEntry): void;
}

export class RoomChannel {
  /** Holders (connections being set up and subscribed sockets); the channel lives while > 0. */
  refs = 0;
  readonly subs = new Set<ChannelSubscriber>();
  /** The last seq handed to the subscribers; every message up to it was delivered in order. -1 until ready. */
  position = -1;
  readonly ready: Promise<void>;
  /** Messages that arrived ahead of `position + 1` (or before the channel was ready), by seq. */
  private readonly ahead = new Map<number, MessageEntry>();
  private fillScheduled = false;
  private filling = false;
  private fillAgain = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(
    readonly roomId: string,
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly pageSize: number,
  ) {
    this.ready = this.init();
    // The gateway awaits `ready` where it matters; this only keeps a failed start from being "unhandled".
    this.ready.catch(() => {});
  }

  private async init(): Promise<void> {
    const room = await this.store.getRoom(this.roomId);
    // Live delivery starts after the room's last committed message.
    this.position = room?.lastSeq ?? 0;
    this.drain();
  }

  /** A committed message, from the bus: delivered in seq order, exactly once. */
  onMessage(message: MessageRecord): void {
    this.onEvent({ kind: 'created', seq: message.seq, message });
  }

  /** A committed message or change of one (each takes a seq of the room), from the bus: delivered in seq order, exactly once. */
  onEvent(event: RoomEvent): void {
    if (this.disposed || (this.position >= 0 && event.seq <= this.position)) return;
    if (!this.ahead.has(event.seq)) this.ahead.set(event.seq, new MessageEntry(event));
    if (this.position >= 0) this.drain();
  }

  /** Sends an already-encoded frame (presence, roster) to every subscriber of the room. */
  broadcast(frame: Buffer): void {
    for (const sub of [...this.subs]) sub.conn.send(frame);
  }

  dispose(): void {
    this.disposed = true;
    this.subs.clear();
    this.ahead.clear();
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private drain(): void {
    for (let next = this.ahead.get(this.position + 1); next; next = this.ahead.get(this.position + 1)) {
      this.ahead.delete(next.seq);
      this.deliver(next);
    }
    if (this.ahead.size === 0) return;
    for (const seq of this.ahead.keys()) if (seq <= this.position) this.ahead.delete(seq);
    if (this.ahead.size > 0) this.scheduleFill();
  }

  private deliver(entry: MessageEntry): void {
    this.position = entry.seq;
    for (const sub of [...this.subs]) sub.deliver(entry);
  }

  private scheduleFill(): void {
    if (this.filling) {
      this.fillAgain = true;
      return;
    }
    if (this.fillScheduled) return;
    this.fillScheduled = true;
    // Usually the missing event is just a few microtasks behind (two commits published in the other
    // order): give it a turn of the event loop before asking the store.
    setImmediate(() => {
      this.fillScheduled = false;
      if (!this.disposed && this.ahead.size > 0) void this.fill();
    });
  }

  private async fill(): Promise<void> {
    if (this.filling) {
      this.fillAgain = true;
      return;
    }
    this.filling = true;
    try {
      do {
        this.fillAgain = false;
        const start = this.position;
        for (;;) {
          const from = this.position;
          const page = await this.store.listRoomEvents(this.roomId, from, this.pageSize);
          if (this.disposed) return;
          for (const m of page) {
            // Live events may have moved the position on while the store was answering.
            if (m.seq !== this.position + 1) continue;
            const entry = this.ahead.get(m.seq) ?? new MessageEntry(m);
            this.ahead.delete(m.seq);
            this.deliver(entry);
          }
          this.drain();
          if (page.length < this.pageSize || this.ahead.size === 0) break;
        }
        if (this.position === start && this.ahead.size > 0) {
          // The store does not show the missing seq (yet): an event from a bus ahead of our database
          // replica, or a bogus one. Look again later rather than spin.
          this.retryLater();
          return;
        }
      } while (this.fillAgain && this.ahead.size > 0);
    } catch (err) {
      this.logger.warn({ err, roomId: this.roomId }, 'stream: could not fill a seq gap from the store; retrying');
      this.retryLater();
    } finally {
      this.filling = false;
    }
  }

  private retryLater(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.disposed && this.ahead.size > 0) void this.fill();
    }, 1000);
    this.retryTimer.unref();
  }
}
