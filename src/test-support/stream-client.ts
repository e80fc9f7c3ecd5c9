/**
 * A real `ws` client of the stream (/api/v1/stream) for tests: records every frame, waits for
 * frames by predicate (never by time), and uses ping → pong as a barrier: the server answers a
 * ping after every frame it sent before, so after the pong, anything it was going to send is here.
 */
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import type { Message } from '../shared/api-types.js';
import type { ServerFrame } from '../shared/stream-protocol.js';

export interface StreamConnectOptions {
  token?: string;
  /** Raw Cookie header value, e.g. "carillon_session=…". */
  cookie?: string;
  origin?: string;
  /** Default true; false makes a client that never answers the server's WebSocket pings. */
  autoPong?: boolean;
  /** Extra query string, e.g. "?access_token=…" (which must not authenticate). */
  query?: string;
  /** Extra request headers, e.g. the Host a browser addressed when a proxy is in front of the server. */
  headers?: Record<string, string>;
  /** For wss:// (an https:// base URL): the certificate to trust, e.g. a test's self-signed one. */
  ca?: Buffer;
}

type StreamMessage = Message & { alert: boolean };

interface Waiter {
  test: (f: ServerFrame) => boolean;
  resolve: (f: ServerFrame) => void;
  reject: (e: Error) => void;
  what: string;
}

export class StreamClient {
  readonly frames: ServerFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Waiter[] = [];
  private pongs = 0;
  private isClosed = false;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.isClosed = true;
        for (const w of this.waiters) w.reject(new Error(`stream closed (${code} ${reason.toString()}) while waiting for ${w.what}`));
        this.waiters = [];
        resolve({ code, reason: reason.toString() });
      });
    });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ServerFrame;
      if (frame.type === 'pong') this.pongs++;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
  }

  static connect(baseUrl: string, options: StreamConnectOptions = {}): Promise<StreamClient> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/v1/stream${options.query ?? ''}`, {
      headers: {
        ...options.headers,
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...(options.cookie ? { cookie: options.cookie } : {}),
      },
      ...(options.origin ? { origin: options.origin } : {}),
      ...(options.ca ? { ca: options.ca } : {}),
      autoPong: options.autoPong ?? true,
    });
    const client = new StreamClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Connects and waits for `ready`. */
  static async ready(baseUrl: string, options: StreamConnectOptions = {}): Promise<StreamClient> {
    const c = await StreamClient.connect(baseUrl, options);
    await c.waitFor((f) => f.type === 'ready', 'ready');
    return c;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (already received or to come) that matches. */
  waitFor<T extends ServerFrame = ServerFrame>(test: (f: ServerFrame) => boolean, what = 'a frame'): Promise<T> {
    const seen = this.frames.find(test);
    if (seen) return Promise.resolve(seen as T);
    if (this.isClosed) return Promise.reject(new Error(`stream closed while waiting for ${what}`));
    return new Promise((resolve, reject) => this.waiters.push({ test, resolve: resolve as (f: ServerFrame) => void, reject, what }));
  }

  /** Waits until this room's messages include `seq`. */
  waitForSeq(roomId: string, seq: number): Promise<ServerFrame> {
    return this.waitFor((f) => f.type === 'message.created' && f.message.roomId === roomId && f.message.seq >= seq, `seq ${seq} in ${roomId}`);
  }

  /** Everything the server sent before this call has arrived when this resolves. */
  async barrier(): Promise<void> {
    const target = this.pongs + 1;
    this.send({ type: 'ping' });
    await this.waitFor(() => this.pongs >= target, 'pong');
  }

  messages(roomId?: string): StreamMessage[] {
    return this.frames.flatMap((f) => (f.type === 'message.created' && (roomId === undefined || f.message.roomId === roomId) ? [f.message] : []));
  }

  seqs(roomId: string): number[] {
    return this.messages(roomId).map((m) => m.seq);
  }

  ofType<K extends ServerFrame['type']>(type: K): Extract<ServerFrame, { type: K }>[] {
    return this.frames.filter((f): f is Extract<ServerFrame, { type: K }> => f.type === type);
  }

  async close(): Promise<void> {
    if (!this.isClosed) this.ws.close();
    await this.closed;
  }
}

/** Tries an upgrade that should be refused; the HTTP status and JSON body of the refusal. */
export function refusedUpgrade(baseUrl: string, options: StreamConnectOptions = {}): Promise<{ status: number; body: any }> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/v1/stream${options.query ?? ''}`, {
    headers: {
      ...options.headers,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.cookie ? { cookie: options.cookie } : {}),
    },
    ...(options.origin ? { origin: options.origin } : {}),
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('unexpected-response', (_req, res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        ws.terminate();
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    ws.once('error', () => {});
  });
}
