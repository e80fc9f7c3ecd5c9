/**
 * The chat store's side of the stream: the connection itself, the resume sent on every (re)connect,
 * which room the server is told is open here (presence), and gap detection — asking the stream to
 * replay a room whose events stopped short of what the server is known to have. The store (chat-store.ts)
 * holds the rooms and applies the frames; the ordering rules are in lib/room-log.ts.
 */
import { type ServerFrame, StreamConnection, type StreamStatus, streamUrl } from '../lib/stream';

/**
 * How long events may wait past a gap before the client asks the stream to replay the room from
 * its watermark (the stream brings every event in order, so a gap is normally closed at once: it is
 * my own post's answer overtaking the stream, or a room whose first frames came before its entry).
 */
const GAP_WAIT_MS = 1500;
/** Replays asked for one gap before the client waits for the next reconnect instead. */
const GAP_MAX_ASKS = 5;

export interface StreamSyncHost {
  /** A room's watermark (every event up to it is applied), or undefined for a room this client does not hold. */
  watermarkOf(roomId: string): number | undefined;
  /** Every held room's watermark: the resume. */
  watermarks(): Record<string, number>;
  /** The room to tell the server is open here (the active one while the page is visible), or null. */
  roomToOpen(): string | null;
  /** The store was disposed: nothing more to ask. */
  isDisposed(): boolean;
  frame(frame: ServerFrame): void;
  status(status: StreamStatus): void;
  /** The socket cannot even open, again and again. */
  repeatedFailure(): void;
}

export class StreamSync {
  private stream: StreamConnection | null = null;
  /** The room this client last told the server it has open (presence). */
  private openRoomId: string | null = null;
  /** Per room: an event seq the server has that the stream has not brought yet, and how often a replay was asked for. */
  private expected = new Map<string, { seq: number; asks: number }>();
  private gapTimers = new Map<string, number>();

  constructor(private readonly host: StreamSyncHost) {}

  connect(): void {
    this.stream = new StreamConnection(streamUrl(window.location), {
      opened: () => this.sendResume(),
      frame: (f) => this.host.frame(f),
      status: (s) => {
        if (s !== 'live') this.openRoomId = null;
        this.host.status(s);
      },
      repeatedFailure: () => this.host.repeatedFailure(),
    });
    this.stream.start();
  }

  stop(): void {
    this.stream?.stop();
    this.stream = null;
    this.openRoomId = null;
    for (const t of this.gapTimers.values()) window.clearTimeout(t);
    this.gapTimers.clear();
    this.expected.clear();
  }

  /** Reconnect at once if the connection is down (network back, tab visible again). */
  nudge(): void {
    this.stream?.nudge();
  }

  /** The server cannot be reached over HTTP: a socket that still looks connected may be half-open; reconnect it. */
  restartIfConnected(): void {
    if (this.stream?.connected) this.stream.restart();
  }

  /** `ready` (every connect): nothing is open on the new socket yet. */
  ready(): void {
    this.openRoomId = null;
    this.syncOpenRoom();
  }

  /** The room is gone from this client: it is no longer open. */
  roomRemoved(roomId: string): void {
    if (this.openRoomId === roomId) this.openRoomId = null;
  }

  /** Tells the server which room is open here: the active one while the page is visible. */
  syncOpenRoom(): void {
    const want = this.host.roomToOpen();
    if (want === this.openRoomId || !this.stream?.connected) return;
    if (this.openRoomId) this.stream.send({ type: 'close', roomId: this.openRoomId });
    if (want) this.stream.send({ type: 'open', roomId: want });
    this.openRoomId = want;
  }

  /** First frame on every (re)connect: the last seq held per room, so the server replays what was missed. */
  private sendResume(): void {
    this.stream?.send({ type: 'resume', rooms: this.host.watermarks() });
  }

  /** `resumed`: the server has nothing in the room past `lastSeq`, so an expectation beyond it is void. */
  resumed(roomId: string, lastSeq: number): void {
    const want = this.expected.get(roomId);
    if (want && want.seq > lastSeq) this.expected.set(roomId, { ...want, seq: lastSeq });
    this.expect(roomId, lastSeq);
  }

  /**
   * The server has events up to `seq` in the room. The stream brings them all in order; if they
   * have not come a moment later (a gap), ask it to replay the room from the watermark: a `resume`
   * on the open socket restarts that room's replay (what arrives twice is dropped). Events cannot
   * be fetched over HTTP: GET …/messages has the messages, not the changes between them.
   */
  expect(roomId: string, seq: number): void {
    const watermark = this.host.watermarkOf(roomId);
    if (watermark === undefined || seq <= watermark) return;
    const want = this.expected.get(roomId);
    this.expected.set(roomId, { seq: Math.max(want?.seq ?? 0, seq), asks: want?.asks ?? 0 });
    if (!this.gapTimers.has(roomId) && typeof window !== 'undefined') {
      this.gapTimers.set(roomId, window.setTimeout(() => this.checkGap(roomId), GAP_WAIT_MS));
    }
  }

  private checkGap(roomId: string): void {
    this.gapTimers.delete(roomId);
    const watermark = this.host.watermarkOf(roomId);
    const want = this.expected.get(roomId);
    if (watermark === undefined || !want || want.seq <= watermark || this.host.isDisposed()) {
      this.expected.delete(roomId);
      return;
    }
    // Offline: the reconnect's resume brings them. Asked too often: wait for that too.
    if (want.asks >= GAP_MAX_ASKS) return;
    if (this.stream?.connected) {
      this.stream.send({ type: 'resume', rooms: { [roomId]: watermark } });
      this.expected.set(roomId, { ...want, asks: want.asks + 1 });
    }
    this.gapTimers.set(roomId, window.setTimeout(() => this.checkGap(roomId), GAP_WAIT_MS * 2));
  }
}
