/**
 * A Web Push service and the browsers subscribed to it, on loopback, for tests (issue 13). It
 * plays both ends of RFC 8030 on `node:http` at 127.0.0.1:
 * - the push service: it checks each request's VAPID Authorization (RFC 8292: `vapid t=<JWT>,
 *   k=<key>`, an ES256 signature by that key, `aud` = this origin, `exp` within 24 h, a `sub`),
 *   and answers what the test scripts (201 by default; 429 with Retry-After, 503, 410, …);
 * - the browser: each subscription has its own P-256 key pair and auth secret, and every push is
 *   decrypted with them (RFC 8291 over RFC 8188 aes128gcm) using node:crypto only, independently
 *   of the web-push library the server encrypts with.
 * A request that fails a check is answered 400 and recorded in `problems`.
 */
import { type ECDH, createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, randomUUID, verify } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface BrowserSubscription {
  /** What PushSubscription.toJSON() gives: POST it to /api/v1/push-subscriptions. */
  json: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
  /** The path segment naming this subscription in the endpoint URL. */
  id: string;
}

export interface ReceivedPush {
  subscriptionId: string;
  /** The decrypted payload, parsed as JSON. */
  payload: any;
  ttl: number;
  urgency: string | undefined;
  /** The VAPID JWT's claims and the key it was signed with. */
  claims: { aud: string; exp: number; sub: string };
  vapidKey: string;
  /** The status this endpoint answered. */
  status: number;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Never answer (the request hangs until the sender gives up or the endpoint stops). */
  hang?: boolean;
}

interface Keys {
  ecdh: ECDH;
  publicKey: Buffer;
  auth: Buffer;
}

export class PushEndpoint {
  private server: http.Server | https.Server | undefined;
  private readonly keys = new Map<string, Keys>();
  private readonly script: ScriptedAnswer[] = [];
  /** Every push received and verified (whatever it was answered). */
  readonly received: ReceivedPush[] = [];
  /** Requests that failed a check (a bad signature, undecryptable body, …). */
  readonly problems: string[] = [];
  /** Requests that arrived at all (including those that failed a check). */
  requests = 0;
  /** When set, only VAPID keys equal to this are accepted. */
  expectedVapidKey: string | undefined;
  port = 0;

  /** `tls`: serve https with this key and certificate (as every real push service does). */
  constructor(private readonly tls?: { key: Buffer; cert: Buffer }) {}

  static async start(port = 0, tls?: { key: Buffer; cert: Buffer }): Promise<PushEndpoint> {
    const e = new PushEndpoint(tls);
    await e.listen(port);
    return e;
  }

  get origin(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** A new browser subscription on this push service. */
  subscribe(): BrowserSubscription {
    const id = randomUUID();
    const ecdh = createECDH('prime256v1');
    const publicKey = ecdh.generateKeys();
    const auth = randomBytes(16);
    this.keys.set(id, { ecdh, publicKey, auth });
    return {
      id,
      json: { endpoint: `${this.origin}/push/${id}`, expirationTime: null, keys: { p256dh: publicKey.toString('base64url'), auth: auth.toString('base64url') } },
    };
  }

  /** The next pushes are answered these ways, in order; then 201 again. */
  answerNext(...answers: ScriptedAnswer[]): void {
    this.script.push(...answers);
  }

  /** Forgets the answers scripted and not yet used. */
  clearScript(): void {
    this.script.length = 0;
  }

  /** Pushes received for one subscription. */
  pushesFor(sub: BrowserSubscription): ReceivedPush[] {
    return this.received.filter((p) => p.subscriptionId === sub.id);
  }

  /** Pushes that were answered 2xx (what the device shows; a hung one has status 0). */
  delivered(sub?: BrowserSubscription): ReceivedPush[] {
    return this.received.filter((p) => p.status >= 200 && p.status < 300 && (!sub || p.subscriptionId === sub.id));
  }

  async listen(port = this.port): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    const server = this.tls ? https.createServer(this.tls, handler) : http.createServer(handler);
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Stops answering (connections refused) until listen() again; subscriptions are kept. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    try {
      const push = this.verify(req, body);
      const answer = this.script.shift() ?? { status: 201 };
      this.received.push({ ...push, status: answer.hang ? 0 : answer.status });
      if (answer.hang) return;
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
      res.end(answer.status === 201 ? '' : `scripted ${answer.status}`);
    } catch (e) {
      this.problems.push(`${req.method} ${req.url}: ${(e as Error).message}`);
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end((e as Error).message);
    }
  }

  private verify(req: http.IncomingMessage, body: Buffer): Omit<ReceivedPush, 'status'> {
    if (req.method !== 'POST') throw new Error(`method ${req.method}, expected POST`);
    const id = /^\/push\/([0-9a-f-]{36})$/.exec(req.url ?? '')?.[1];
    const keys = id ? this.keys.get(id) : undefined;
    if (!id || !keys) throw new Error('unknown subscription');
    const ttl = Number(req.headers.ttl);
    if (!/^\d+$/.test(String(req.headers.ttl ?? ''))) throw new Error(`TTL header missing or not a number: ${req.headers.ttl}`);
    if (req.headers['content-encoding'] !== 'aes128gcm') throw new Error(`Content-Encoding ${req.headers['content-encoding']}, expected aes128gcm`);
    const { claims, vapidKey } = this.verifyVapid(String(req.headers.authorization ?? ''));
    const payload = JSON.parse(decryptAes128gcm(body, keys).toString('utf8'));
    return { subscriptionId: id, payload, ttl, urgency: req.headers.urgency as string | undefined, claims, vapidKey };
  }

  /** RFC 8292 §3: `vapid t=<JWT>, k=<public key>`; the JWT signed ES256 by that key, for this origin. */
  private verifyVapid(header: string): { claims: ReceivedPush['claims']; vapidKey: string } {
    const m = /^vapid t=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+), k=([A-Za-z0-9_-]+)$/.exec(header);
    if (!m) throw new Error(`Authorization is not "vapid t=<jwt>, k=<key>": ${header.slice(0, 40)}`);
    const [jwt, k] = [m[1]!, m[2]!];
    if (this.expectedVapidKey && k !== this.expectedVapidKey) throw new Error('VAPID key is not the server\'s public key');
    const point = Buffer.from(k, 'base64url');
    if (point.length !== 65 || point[0] !== 4) throw new Error('VAPID key is not an uncompressed P-256 point');
    const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
    const [h, p, sig] = jwt.split('.') as [string, string, string];
    const head = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    if (head.alg !== 'ES256') throw new Error(`JWT alg ${head.alg}, expected ES256`);
    if (!verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'))) throw new Error('VAPID JWT signature does not verify');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as ReceivedPush['claims'];
    if (claims.aud !== this.origin) throw new Error(`JWT aud ${claims.aud}, expected ${this.origin}`);
    const now = Math.floor(Date.now() / 1000);
    if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) throw new Error(`JWT exp ${claims.exp} is not within the next 24 h`);
    if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) throw new Error(`JWT sub ${claims.sub} is not mailto: or https:`);
    return { claims, vapidKey: k };
  }
}

/** RFC 8291 §3.4 / RFC 8188 §2: the user agent's side of aes128gcm. */
function decryptAes128gcm(body: Buffer, keys: Keys): Buffer {
  if (body.length < 21) throw new Error('body shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  if (idlen !== 65) throw new Error(`keyid of ${idlen} bytes, expected the 65-byte application server key`);
  const ecdhSecret = keys.ecdh.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), keys.publicKey, asPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, keys.auth, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const baseNonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const records = body.subarray(21 + idlen);
  const out: Buffer[] = [];
  let seq = 0;
  for (let at = 0; at < records.length; at += rs, seq++) {
    const record = records.subarray(at, at + rs);
    const nonce = Buffer.from(baseNonce);
    // The record sequence number XORed into the nonce's low bytes (RFC 8188 §2.3; fewer than 2^32 records here).
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ seq) >>> 0, 8);
    const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    // Padding: the data, a delimiter (2 in the last record, 1 before), then zeros.
    let end = plain.length - 1;
    while (end >= 0 && plain[end] === 0) end--;
    const last = at + rs >= records.length;
    if (end < 0 || plain[end] !== (last ? 2 : 1)) throw new Error('bad aes128gcm padding delimiter');
    out.push(plain.subarray(0, end));
  }
  return Buffer.concat(out);
}
