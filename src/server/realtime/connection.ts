/**
 * One client socket of the stream: its room subscriptions, resume (replay from the store, then
 * live with no gap and no duplicate), presence of the rooms it has open, and its byte budget.
 *
 * Per room a socket is in one of three modes:
 * - `held`: connected, but the client has not spoken yet. Live messages are kept (not sent) so
 *   that a `resume` sent as the first frame never races them (stream-protocol.ts). A client that
 *   stays silent for `firstFrameWaitMs` (0.5 s) goes live: it gets its rooms' new messages without
 *   having to say anything.
 * - `replaying`: a resume is being served from the store; live messages are kept meanwhile and
 *   sent after the replay, skipping those the replay already sent.
 * - `live`: each message goes out as the room channel delivers it (in seq order).
 * `lastSent` is the highest seq sent on this socket for the room: nothing at or below it is sent again.
 */
import type { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import type { ReadState } from '../../shared/api-types.js';
import { CLOSE_TOO_SLOW, type ClientFrame, type RoomSeqs } from '../../shared/stream-protocol.js';
import { roomViewFor } from '../services/read-state.js';
import { presentRoom } from '../presenters.js';
import type { Store, UserRecord } from '../store/types.js';
import { MessageEntry, encodeFrame } from './frames.js';
import type { Logger } from './logger.js';
import type { PresenceTracker } from '../presence/types.js';
import type { RoomChannel } from './room-channel.js';

export interface ConnectionHost {
  readonly store: Store;
  readonly presence: PresenceTracker;
  readonly logger: Logger;
  readonly limits: {
    /** Budget per socket: the socket's unsent bytes plus the messages we hold for it. */
    maxBufferedBytes: number;
    replayPageSize: number;
    /** A replay waits for the socket to flush once this many bytes are unsent (paces it to the client). */
    replayLowWaterBytes: number;
    /** How long after `ready` live messages wait for the client's first frame (a resume) before they flow anyway. */
    firstFrameWaitMs: number;
  };
  /** The room's channel, created if needed; the caller holds a reference until release(). */
  acquire(roomId: string): RoomChannel;
  release(channel: RoomChannel): void;
  onTooSlow(conn: Connection): void;
  onClosed(conn: Connection): void;
}

type Mode = 'held' | 'replaying' | 'live';

interface Held {
  seq: number;
  frame: Buffer;
}

/** A socket's subscription to one room. */
export class RoomSub {
  pending: Held[] = [];
  /** Bumped to abandon a running replay (new resume, removal, close). */
  replayGen = 0;

  constructor(
    readonly conn: Connection,
    readonly channel: RoomChannel,
    public mode: Mode,
    public lastSent: number,
  ) {}

  deliver(entry: MessageEntry): void {
    this.conn.deliver(this, entry);
  }
}

const MAX_ROOM_ID_LENGTH = 100;

/** Parses and checks a client frame; a string is the reason it was refused. */
export function parseClientFrame(data: RawData, isBinary: boolean): ClientFrame | string {
  if (isBinary) return 'Frames must be JSON text, not binary.';
  let v: unknown;
  try {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'The frame is not valid JSON; send an object such as {"type":"ping"}.';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'A frame must be a JSON object with a "type".';
  const f = v as Record<string, unknown>;
  switch (f.type) {
    case 'ping':
      return { type: 'ping' };
    case 'open':
    case 'close':
      if (typeof f.roomId !== 'string' || f.roomId === '' || f.roomId.length > MAX_ROOM_ID_LENGTH) return `"${f.type}" needs "roomId": the id of one of your rooms.`;
      return { type: f.type, roomId: f.roomId };
    case 'resume': {
      const rooms = f.rooms;
      if (typeof rooms !== 'object' || rooms === null || Array.isArray(rooms)) return '"resume" needs "rooms": an object of roomId → the last seq you have (0 for none).';
      const out: RoomSeqs = {};
      for (const [roomId, seq] of Object.entries(rooms)) {
        if (roomId.length > MAX_ROOM_ID_LENGTH || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) {
          return `"resume" rooms must map room ids to whole numbers ≥ 0 (the last seq you have); check "${roomId.slice(0, MAX_ROOM_ID_LENGTH)}".`;
        }
        // defineProperty: a room id such as "__proto__" stays an ordinary key.
        Object.defineProperty(out, roomId, { value: seq, enumerable: true, writable: true, configurable: true });
      }
      return { type: 'resume', rooms: out };
    }
    default:
      return `Unknown frame type ${JSON.stringify(String(f.type)).slice(0, 40)}; the types are resume, open, close and ping.`;
  }
}

export class Connection {
  readonly subs = new Map<string, RoomSub>();
  readonly openRooms = new Set<string>();
  /** Cleared by each heartbeat, set by a pong or any frame; still clear at the next heartbeat → dead. */
  alive = true;
  awaitingFirstFrame = true;
  private firstFrameTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private pendingBytes = 0;
  private tail: Promise<void> = Promise.resolve();
  private resolveClosed!: () => void;
  /** Resolves when this connection stops delivering (cleanup), whatever the socket is doing. */
  private readonly closedSignal = new Promise<void>((r) => (this.resolveClosed = r));
  /** Resolves when the socket itself is closed. */
  readonly socketClosed: Promise<void>;

  constructor(
    readonly ws: WebSocket,
    /** The socket ws was given for `ws` (net or TLS): frames from frames.ts are written to it as they are. */
    private readonly socket: Duplex,
    readonly user: UserRecord,
    private readonly host: ConnectionHost,
    /** The session (its stored hash) the socket was opened with; signing it out closes the socket. */
    readonly sessionId: string,
  ) {
    this.socketClosed = new Promise<void>((resolve) =>
      ws.once('close', () => {
        this.cleanup();
        resolve();
      }),
    );
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    // Socket errors are followed by 'close'; without a listener they would crash the process.
    ws.on('error', (err) => host.logger.debug({ err, userId: user.id }, 'stream: socket error'));
    this.enqueue(() => this.start());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Control work runs one task at a time, in arrival order (setup, client frames, membership changes). */
  private enqueue(task: () => Promise<void> | void): void {
    this.tail = this.tail
      .then(async () => {
        if (!this.closed) await task();
      })
      .catch((err: unknown) => {
        this.host.logger.warn({ err, userId: this.user.id }, 'stream: connection failed; closing it so the client reconnects');
        this.shutdown(1011, 'server error; reconnect and resume');
      });
  }

  private async start(): Promise<void> {
    const rooms = await this.host.store.listRoomsForUser(this.user.id);
    const channels = rooms.map((r) => this.host.acquire(r.id));
    try {
      await Promise.all(channels.map((c) => c.ready));
    } catch (err) {
      for (const c of channels) this.host.release(c);
      throw err;
    }
    if (this.closed) {
      for (const c of channels) this.host.release(c);
      return;
    }
    // Synchronous from here: no event can reach this socket between the subscriptions and `ready`.
    const seqs: RoomSeqs = {};
    for (const channel of channels) {
      this.subscribe(channel, 'held');
      Object.defineProperty(seqs, channel.roomId, { value: channel.position, enumerable: true });
    }
    this.send(encodeFrame({ type: 'ready', userId: this.user.id, rooms: seqs }));
    // A client that resumes sends `resume` as soon as the socket opens, so it is read well within
    // this wait; one that never speaks gets its rooms' live messages once the wait is over.
    if (this.awaitingFirstFrame) {
      this.firstFrameTimer = setTimeout(() => this.enqueue(() => this.endFirstFrameWait({})), this.host.limits.firstFrameWaitMs);
      this.firstFrameTimer.unref();
    }
  }

  /** The client spoke (or stayed silent too long): held rooms not being resumed go live. */
  private endFirstFrameWait(resumed: RoomSeqs): void {
    if (!this.awaitingFirstFrame) return;
    this.awaitingFirstFrame = false;
    clearTimeout(this.firstFrameTimer);
    for (const [roomId, sub] of this.subs) if (sub.mode === 'held' && !Object.hasOwn(resumed, roomId)) this.goLive(sub);
  }

  private subscribe(channel: RoomChannel, mode: Mode): RoomSub {
    const sub = new RoomSub(this, channel, mode, channel.position);
    this.subs.set(channel.roomId, sub);
    channel.subs.add(sub);
    return sub;
  }

  /** Stops the room at once (removal from the room, or close): nothing more of it is sent. */
  private unsubscribe(roomId: string): boolean {
    const sub = this.subs.get(roomId);
    if (!sub) return false;
    this.subs.delete(roomId);
    sub.channel.subs.delete(sub);
    sub.replayGen++;
    for (const h of sub.pending) this.pendingBytes -= h.frame.length;
    sub.pending = [];
    this.host.release(sub.channel);
    if (this.openRooms.delete(roomId)) this.host.presence.close(roomId, this.user.id);
    return true;
  }

  // ---- client frames ----

  private onFrame(data: RawData, isBinary: boolean): void {
    this.alive = true;
    if (this.closed) return;
    const frame = parseClientFrame(data, isBinary);
    this.enqueue(() => this.handle(frame));
  }

  private handle(frame: ClientFrame | string): void {
    if (this.awaitingFirstFrame) this.endFirstFrameWait(typeof frame !== 'string' && frame.type === 'resume' ? frame.rooms : {});
    if (typeof frame === 'string') {
      this.send(encodeFrame({ type: 'error', Code: 'InvalidRequest', Message: frame }));
      return;
    }
    switch (frame.type) {
      case 'resume':
        // Rooms the user is not a member of are skipped without a word: rooms are not enumerable.
        for (const [roomId, seq] of Object.entries(frame.rooms)) {
          const sub = this.subs.get(roomId);
          if (sub) this.startReplay(sub, seq);
        }
        return;
      case 'open':
        if (!this.subs.has(frame.roomId)) {
          this.send(encodeFrame({ type: 'error', Code: 'NotFound', Message: 'No such room, or you are not a member of it.' }));
        } else if (!this.openRooms.has(frame.roomId)) {
          this.openRooms.add(frame.roomId);
          this.host.presence.open(frame.roomId, this.user.id);
        }
        return;
      case 'close':
        if (this.openRooms.delete(frame.roomId)) this.host.presence.close(frame.roomId, this.user.id);
        return;
      case 'ping':
        this.send(encodeFrame({ type: 'pong' }));
        return;
    }
  }

  // ---- messages ----

  /** A message from the room channel, which delivers each room's messages in seq order. */
  deliver(sub: RoomSub, entry: MessageEntry): void {
    if (this.closed || entry.seq <= sub.lastSent) return;
    if (sub.mode === 'live') {
      if (entry.seq === sub.lastSent + 1) {
        sub.lastSent = entry.seq;
        this.send(entry.frameFor(this.user.id));
        return;
      }
      // Behind the channel (not expected, since the channel has no gaps): catch up from the store.
      this.hold(sub, entry);
      this.startReplay(sub, sub.lastSent);
      return;
    }
    this.hold(sub, entry);
  }

  private hold(sub: RoomSub, entry: MessageEntry): void {
    const frame = entry.frameFor(this.user.id);
    sub.pending.push({ seq: entry.seq, frame });
    this.pendingBytes += frame.length;
    if (this.unsentBytes() > this.host.limits.maxBufferedBytes) this.tooSlow();
  }

  private goLive(sub: RoomSub): void {
    if (this.flushPending(sub)) sub.mode = 'live';
    else this.startReplay(sub, sub.lastSent);
  }

  /** Sends the held messages that follow lastSent; false if they do not (the store must fill the gap first). */
  private flushPending(sub: RoomSub): boolean {
    const pending = sub.pending;
    let i = 0;
    let gap = false;
    for (; i < pending.length && !this.closed; i++) {
      const h = pending[i]!;
      if (h.seq > sub.lastSent + 1) {
        gap = true;
        break;
      }
      this.pendingBytes -= h.frame.length;
      if (h.seq <= sub.lastSent) continue;
      sub.lastSent = h.seq;
      this.send(h.frame);
    }
    sub.pending = i >= pending.length ? [] : pending.slice(i);
    return !gap;
  }

  private startReplay(sub: RoomSub, after: number): void {
    const gen = ++sub.replayGen;
    sub.mode = 'replaying';
    sub.lastSent = after;
    this.replay(sub, gen).catch((err: unknown) => {
      this.host.logger.warn({ err, userId: this.user.id, roomId: sub.channel.roomId }, 'stream: replay failed; closing so the client resumes');
      this.shutdown(1011, 'server error; reconnect and resume');
    });
  }

  /** Every message after sub.lastSent from the store, in pages, then the held live ones, then `resumed`. */
  private async replay(sub: RoomSub, gen: number): Promise<void> {
    const { store, limits } = this.host;
    const roomId = sub.channel.roomId;
    const stale = () => this.closed || sub.replayGen !== gen || this.subs.get(roomId) !== sub;
    const room = await store.getRoom(roomId);
    if (stale()) return;
    // A client that claims more than the room has (e.g. the database was restored from a backup)
    // is told the truth in `resumed` and gets the messages that follow it.
    if (room && sub.lastSent > room.lastSeq) sub.lastSent = room.lastSeq;
    for (;;) {
      // Messages and changes of messages: both take the room's seqs (issue 14).
      const page = await store.listRoomEvents(roomId, sub.lastSent, limits.replayPageSize);
      if (stale()) return;
      for (const m of page) {
        if (m.seq <= sub.lastSent) continue;
        const frame = new MessageEntry(m).frameFor(this.user.id);
        sub.lastSent = m.seq;
        if (this.ws.bufferedAmount + frame.length > limits.replayLowWaterBytes) {
          // Pace the replay to what the client reads, instead of loading the room's history into memory.
          await this.sendFlushed(frame);
          if (stale()) return;
        } else if (!this.send(frame)) {
          return;
        }
      }
      // Caught up with the store: the live messages held meanwhile continue the sequence (no await
      // between the last read and this hand-over, so none can slip past).
      if (page.length < limits.replayPageSize && this.flushPending(sub)) break;
    }
    if (this.closed) return;
    sub.mode = 'live';
    this.send(encodeFrame({ type: 'resumed', roomId, lastSeq: sub.lastSent }));
  }

  // ---- membership (from the gateway, in event order) ----

  roomAdded(roomId: string): void {
    this.enqueue(async () => {
      if (this.subs.has(roomId)) return;
      const { store } = this.host;
      // The event may be stale (added then removed at once): the store decides.
      const room = await roomViewFor(store, this.user.id, roomId);
      if (!room) return;
      const channel = this.host.acquire(roomId);
      try {
        await channel.ready;
      } catch (err) {
        this.host.release(channel);
        throw err;
      }
      if (this.closed || this.subs.has(roomId)) {
        this.host.release(channel);
        return;
      }
      this.subscribe(channel, this.awaitingFirstFrame ? 'held' : 'live');
      this.send(encodeFrame({ type: 'room.added', room: presentRoom({ ...room, lastSeq: channel.position }) }));
    });
  }

  roomRemoved(roomId: string): void {
    // At once, so not one more message of the room goes out (RELIABILITY S8)...
    if (this.unsubscribe(roomId)) this.send(encodeFrame({ type: 'room.removed', roomId }));
    // ...and again after any setup or addition already queued, which may have read the membership
    // from before the removal.
    this.enqueue(() => {
      if (this.unsubscribe(roomId)) this.send(encodeFrame({ type: 'room.removed', roomId }));
    });
  }

  roomChanged(roomId: string): void {
    this.enqueue(async () => {
      if (!this.subs.has(roomId)) return;
      const room = await roomViewFor(this.host.store, this.user.id, roomId);
      if (room && this.subs.has(roomId)) this.send(encodeFrame({ type: 'room.changed', room: presentRoom(room) }));
    });
  }

  /** The user's read position or counts in a room changed (on any of their devices). */
  readChanged(state: ReadState): void {
    if (this.subs.has(state.roomId)) this.send(encodeFrame({ type: 'room.read', ...state }));
  }

  // ---- sending and budget ----

  private unsentBytes(): number {
    return this.ws.bufferedAmount + this.pendingBytes;
  }

  /**
   * Sends a frame (whole WebSocket frame bytes, frames.ts) unless that would take the socket over
   * its budget, in which case it is closed with 4008. Nothing goes out once the closing handshake
   * has started (readyState CLOSING), as with ws.send.
   */
  send(frame: Buffer): boolean {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return false;
    if (this.unsentBytes() + frame.length > this.host.limits.maxBufferedBytes) {
      this.tooSlow();
      return false;
    }
    coalesce(this.socket);
    this.socket.write(frame);
    return true;
  }

  /** Sends and resolves once the frame (and so everything before it) is handed to the network, or the connection ends. */
  private sendFlushed(frame: Buffer): Promise<void> {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return Promise.resolve();
    if (this.unsentBytes() + frame.length > this.host.limits.maxBufferedBytes) {
      this.tooSlow();
      return Promise.resolve();
    }
    coalesce(this.socket);
    const written = new Promise<void>((resolve) => this.socket.write(frame, () => resolve()));
    return Promise.race([written, this.closedSignal]);
  }

  private tooSlow(): void {
    if (this.closed) return;
    this.host.onTooSlow(this);
    this.shutdown(CLOSE_TOO_SLOW.code, CLOSE_TOO_SLOW.reason);
  }

  // ---- lifecycle ----

  /** One heartbeat (gateway.heartbeat): a socket that did not answer the previous ping is dropped (RELIABILITY F12). */
  tick(): void {
    if (this.closed) return;
    if (!this.alive) {
      this.host.logger.debug({ userId: this.user.id }, 'stream: no pong since the last heartbeat; dropping the socket');
      this.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  /** Stops delivery now and starts the closing handshake (ws destroys the socket if it never completes). */
  shutdown(code: number, reason: string): void {
    if (this.closed) return;
    this.cleanup();
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.cleanup();
    this.ws.terminate();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.firstFrameTimer);
    this.resolveClosed();
    for (const roomId of [...this.subs.keys()]) this.unsubscribe(roomId);
    for (const roomId of this.openRooms) this.host.presence.close(roomId, this.user.id);
    this.openRooms.clear();
    this.pendingBytes = 0;
    this.host.onClosed(this);
  }
}

// ---- coalesced writes ----

/** Sockets corked since the last flush: each is uncorked once, after the current turn of the event loop. */
const corked = new Set<Duplex>();
let flushScheduled = false;

/**
 * Holds the socket's writes until the end of this turn of the event loop (setImmediate), so that
 * every frame it gets in one turn leaves in one write: one system call per socket per turn instead
 * of one per frame. A quiet server sends each frame in the turn it was made (no timer, no added
 * wait); a busy one, whose turns carry many messages, makes fewer and larger writes (issue 16, item 6).
 */
function coalesce(socket: Duplex): void {
  if (corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushCorked);
  }
}

function flushCorked(): void {
  flushScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.clear();
}
