/** Helpers for webhook tests: a settable clock, webhooks through the API, raw HTTP and raw sockets. */
import http from 'node:http';
import net from 'node:net';
import type { Clock } from '../server/services/context.js';
import type { MessageRecord, Store } from '../server/store/types.js';
import { type TestServer, type TestUser, call } from './server.js';

/** A clock tests move by hand (STYLE 7: inject the clock instead of sleeping). */
export class FakeClock implements Clock {
  constructor(public t = Date.now()) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface TestWebhook {
  id: string;
  name: string;
  /** The URL as the API gives it (built from PUBLIC_URL). */
  url: string;
  token: string;
  /** Path and query, to send to the test server. */
  path: string;
}

export function toTestWebhook(w: { id: string; name: string; url: string }): TestWebhook {
  const u = new URL(w.url);
  return { id: w.id, name: w.name, url: w.url, token: u.searchParams.get('token') ?? '', path: `${u.pathname}${u.search}` };
}

export async function createWebhook(s: TestServer, admin: TestUser, roomId: string, name: string): Promise<TestWebhook> {
  const r = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token, body: { name } });
  if (r.status !== 201) throw new Error(`create webhook failed: ${r.status} ${r.text}`);
  return toTestWebhook(r.body);
}

export async function regenerateWebhook(s: TestServer, admin: TestUser, roomId: string, webhookId: string): Promise<TestWebhook> {
  const r = await call(s.baseUrl, 'POST', `/api/v1/rooms/${roomId}/webhooks/${webhookId}/regenerate`, { token: admin.token });
  if (r.status !== 200) throw new Error(`regenerate failed: ${r.status} ${r.text}`);
  return toTestWebhook(r.body);
}

export async function deleteWebhook(s: TestServer, admin: TestUser, roomId: string, webhookId: string): Promise<void> {
  const r = await call(s.baseUrl, 'DELETE', `/api/v1/rooms/${roomId}/webhooks/${webhookId}`, { token: admin.token });
  if (r.status !== 204) throw new Error(`delete failed: ${r.status} ${r.text}`);
}

export const portOf = (s: TestServer): number => Number(new URL(s.baseUrl).port);

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

export interface RawRequest {
  method?: string;
  /** Sent exactly as given (no normalisation). */
  path: string;
  /** An object, or [name, value] pairs kept in order and letter case. */
  headers?: Record<string, string> | [string, string][];
  body?: Buffer | string;
  /** Send the body with Transfer-Encoding: chunked (no Content-Length). */
  chunked?: boolean;
}

/** One request with node:http, which (unlike fetch) sends the path, the headers and their case as given. */
/** `localAddress`: the client's address (any 127.x.y.z works on Linux), to test per-address limits. */
export function rawRequest(port: number, req: RawRequest, options: { https?: boolean; agent?: http.Agent; localAddress?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
    const pairs: [string, string][] = Array.isArray(req.headers) ? req.headers : Object.entries(req.headers ?? {});
    // With headers given as a list, node:http adds no Host header of its own (and Node servers refuse requests without one).
    if (!pairs.some(([k]) => k.toLowerCase() === 'host')) pairs.unshift(['Host', `127.0.0.1:${port}`]);
    const hasLength = pairs.some(([k]) => k.toLowerCase() === 'content-length');
    if (body !== undefined && !req.chunked && !hasLength) pairs.push(['Content-Length', String(body.length)]);
    const r = http.request({
      host: '127.0.0.1',
      port,
      method: req.method ?? 'POST',
      path: req.path,
      headers: pairs.flat(),
      agent: options.agent ?? false,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: any;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, text, json });
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    if (body !== undefined) {
      if (req.chunked) r.write(body);
      r.end(req.chunked ? undefined : body);
    } else r.end();
  });
}

export interface SocketResult {
  /** Everything the server sent, as latin1 text (bytes preserved). */
  text: string;
  /** True when the server closed the connection (not our own timeout). */
  closedByServer: boolean;
  /** The status codes of every response head seen, in order (e.g. [413] or [100, 413]). */
  statuses: number[];
  /** The JSON body of the last response, if any. */
  json: any;
}

/**
 * A raw TCP exchange for what no HTTP client will send (conflicting framing, trickled headers, bodies
 * that stop half-way). `write` drives the socket; the result comes when the server closes it, or
 * after `waitMs` of silence.
 */
export function rawSocket(port: number, write: (sock: net.Socket) => unknown, waitMs = 5_000): Promise<SocketResult> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    let closedByServer = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => sock.destroy(), waitMs);
    };
    sock.on('data', (d) => {
      text += d.toString('latin1');
      arm();
    });
    sock.on('end', () => {
      closedByServer = true;
    });
    sock.on('error', () => {
      // A reset after the server answered and closed: the answer is already in `text`.
      closedByServer = true;
    });
    sock.on('close', () => {
      if (timer) clearTimeout(timer);
      const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
      const lastBody = text.slice(text.lastIndexOf('\r\n\r\n') + 4);
      let json: any;
      try {
        json = JSON.parse(Buffer.from(lastBody, 'latin1').toString('utf8'));
      } catch {
        json = undefined;
      }
      resolve({ text, closedByServer, statuses, json });
    });
    sock.on('connect', () => {
      arm();
      void Promise.resolve(write(sock)).catch(() => sock.destroy());
    });
  });
}

/** The messages a room holds, oldest first (up to 100). */
export function storedMessages(store: Store, roomId: string): Promise<MessageRecord[]> {
  return store.listMessages(roomId, { limit: 100 });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
