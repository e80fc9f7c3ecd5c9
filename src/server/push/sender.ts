/**
 * Sends one push message (RFC 8030) with the `web-push` library doing the protocol: the payload
 * encrypted for the subscription (RFC 8291, aes128gcm) and the request's headers. The VAPID
 * Authorization (RFC 8292) is signed by web-push too, once per push service origin and reused for
 * an hour (the JWT is valid for 12 h), rather than an ECDSA signature per message.
 *
 * The HTTP request is ours, not web-push's sendNotification: keep-alive connections shared by all
 * sends (one TLS handshake per push service, not per message), an overall deadline, Retry-After
 * read from the answer, and plain http for the origins PUSH_ENDPOINT_HOSTS names explicitly (a
 * loopback endpoint in tests); sendNotification speaks https only.
 */
import http from 'node:http';
import type https from 'node:https';
import type * as WebPush from 'web-push';
import type { SendResult } from './retry.js';
import type { VapidKeys } from './vapid.js';

export interface PushMessageRequest {
  endpoint: string;
  p256dh: string;
  auth: string;
  payload: string;
  urgency: 'high' | 'normal';
  /** How long the push service should keep it for an offline device. */
  ttlSeconds: number;
}

export interface PushSenderOptions {
  keys: () => VapidKeys;
  /** The VAPID `sub` claim: mailto: or https: (config PUSH_SUBJECT). */
  subject: string;
  timeoutMs: number;
  /** Connections per push service origin. */
  maxSockets: number;
  /** Certificate authorities to trust instead of Node's (tests: a push service with its own certificate). */
  ca?: string | Buffer;
}

/** web-push (and asn1.js and jws under it) is loaded with the first push, not at start-up (issue 7, cold start). */
type WebPushLib = Pick<typeof WebPush, 'generateRequestDetails' | 'getVapidHeaders'>;
let webPush: Promise<WebPushLib> | undefined;
function loadWebPush(): Promise<WebPushLib> {
  // CommonJS: its module.exports is the default export.
  webPush ??= import('web-push').then((m) => m.default as WebPushLib);
  return webPush;
}

const VAPID_REUSE_MS = 3600_000;

export class PushSender {
  private readonly vapid = new Map<string, { header: string; signedAt: number }>();
  /** node:https (and TLS under it) is loaded with the first push too. */
  private https: Promise<{ module: typeof https; agent: https.Agent }> | undefined;
  private readonly httpAgent: http.Agent;

  constructor(private readonly options: PushSenderOptions) {
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets, timeout: options.timeoutMs });
  }

  private loadHttps(): Promise<{ module: typeof https; agent: https.Agent }> {
    this.https ??= import('node:https').then((m) => ({
      module: m.default,
      agent: new m.default.Agent({ keepAlive: true, maxSockets: this.options.maxSockets, timeout: this.options.timeoutMs, ...(this.options.ca ? { ca: this.options.ca } : {}) }),
    }));
    return this.https;
  }

  private async authorization(wp: WebPushLib, origin: string): Promise<string> {
    const now = Date.now();
    const cached = this.vapid.get(origin);
    if (cached && now - cached.signedAt < VAPID_REUSE_MS) return cached.header;
    const keys = this.options.keys();
    // `aud` is the push service's origin; `exp` is web-push's default, 12 h from now.
    const header = wp.getVapidHeaders(origin, this.options.subject, keys.publicKey, keys.privateKey, 'aes128gcm').Authorization;
    this.vapid.set(origin, { header, signedAt: now });
    return header;
  }

  async send(message: PushMessageRequest): Promise<SendResult> {
    let url: URL;
    let details: WebPush.RequestDetails;
    try {
      const wp = await loadWebPush();
      url = new URL(message.endpoint);
      details = wp.generateRequestDetails(
        { endpoint: message.endpoint, keys: { p256dh: message.p256dh, auth: message.auth } },
        message.payload,
        {
          TTL: message.ttlSeconds,
          urgency: message.urgency,
          contentEncoding: 'aes128gcm',
          headers: { Authorization: await this.authorization(wp, url.origin) },
        },
      );
    } catch (e) {
      // Bad keys slipped past validation, or the library refused: retrying cannot help.
      return { kind: 'invalid', message: e instanceof Error ? e.message : String(e) };
    }
    const secure = url.protocol === 'https:' ? await this.loadHttps() : undefined;
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      let deadline: NodeJS.Timeout | undefined;
      const done = (r: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(r);
      };
      const req = (secure ? secure.module : http).request(
        url,
        { method: 'POST', headers: details.headers as http.OutgoingHttpHeaders, agent: secure ? secure.agent : this.httpAgent },
        (res) => {
          const retryAfter = res.headers['retry-after'];
          // The body is not needed; read it to the end so the connection can be reused.
          res.resume();
          res.on('end', () => done({ kind: 'response', status: res.statusCode ?? 0, retryAfter }));
          res.on('error', (e) => done({ kind: 'error', message: describe(e) }));
        },
      );
      // One deadline for the whole exchange (a plain timer: an AbortSignal per push cost more).
      deadline = setTimeout(() => {
        done({ kind: 'error', message: 'no answer within the send timeout' });
        req.destroy();
      }, this.options.timeoutMs);
      req.on('error', (e) => done({ kind: 'error', message: describe(e) }));
      req.end(details.body ?? undefined);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    void this.https?.then((h) => h.agent.destroy());
  }
}

/** A network error as a short phrase, without the URL (an endpoint is a capability: never logged). */
function describe(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code ? `network error ${code}` : `network error: ${e.message.replace(/https?:\/\/\S+/g, '<endpoint>')}`;
}
