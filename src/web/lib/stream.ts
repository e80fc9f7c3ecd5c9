/**
 * The WebSocket at /api/v1/stream (SPEC 5): one connection, re-opened with backoff whenever it
 * drops (4008 too slow, 1012 restarting, network loss). What to send after each (re)connect is
 * the caller's: `resume` as the first frame when the socket opens, `open` once `ready` arrived.
 * The frames are those of src/shared/stream-protocol.ts.
 */
import type { ClientFrame, ServerFrame } from '../../shared/stream-protocol';
import { CLOSE_SIGNED_OUT } from '../../shared/stream-protocol';
import { reconnectDelay } from './backoff';

export type { ClientFrame, ServerFrame };

export type StreamStatus = 'connecting' | 'live' | 'offline';

export interface StreamHandlers {
  /** The socket is open: send `resume` now, as the first frame (the server holds live messages until then). */
  opened(): void;
  frame(frame: ServerFrame): void;
  status(status: StreamStatus, retryInMs?: number): void;
  /** The socket failed to open several times in a row: the session may have ended. */
  repeatedFailure(): void;
}

const PING_INTERVAL_MS = 25_000;

export function streamUrl(location: Location): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/v1/stream`;
}

export class StreamConnection {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private failuresBeforeOpen = 0;
  private retryTimer: number | undefined;
  private pingTimer: number | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly handlers: StreamHandlers,
  ) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.retryTimer);
    window.clearInterval(this.pingTimer);
    const s = this.socket;
    this.socket = null;
    if (s && s.readyState <= WebSocket.OPEN) s.close(1000, 'signed out');
  }

  /** Reconnects now instead of waiting for the backoff (the browser came back online, the tab is visible again). */
  nudge(): void {
    if (this.stopped || this.socket) return;
    window.clearTimeout(this.retryTimer);
    this.connect();
  }

  /** Drops the connection and reconnects (used when the client knows it missed something). */
  restart(): void {
    const s = this.socket;
    if (s) s.close(4000, 'client restart');
  }

  send(frame: ClientFrame): boolean {
    const s = this.socket;
    if (!s || s.readyState !== WebSocket.OPEN) return false;
    s.send(JSON.stringify(frame));
    return true;
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  private connect(): void {
    this.handlers.status('connecting');
    let opened = false;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
      this.failuresBeforeOpen = 0;
      window.clearInterval(this.pingTimer);
      this.pingTimer = window.setInterval(() => this.send({ type: 'ping' }), PING_INTERVAL_MS);
      this.handlers.opened();
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      let frame: ServerFrame;
      try {
        frame = JSON.parse(ev.data) as ServerFrame;
      } catch {
        return;
      }
      if (frame.type === 'ready') {
        this.attempt = 0;
        this.handlers.status('live');
      }
      this.handlers.frame(frame);
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      window.clearInterval(this.pingTimer);
      if (this.stopped) return;
      // Signed out (in another tab, or on another device with the same session): check at once.
      if (ev.code === CLOSE_SIGNED_OUT.code) this.handlers.repeatedFailure();
      if (!opened && ++this.failuresBeforeOpen >= 2) this.handlers.repeatedFailure();
      const delay = reconnectDelay(this.attempt++);
      this.handlers.status('offline', delay);
      this.retryTimer = window.setTimeout(() => this.connect(), delay);
    };
    // onerror is always followed by onclose, which does the work.
    socket.onerror = () => {};
  }
}
