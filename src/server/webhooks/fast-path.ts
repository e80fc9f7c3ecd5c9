/**
 * The webhook fast path (issue 16): a raw `node:http` request listener that runs ahead of Fastify
 * on the HTTP and HTTPS servers and answers the Chime URL itself, `POST /incomingwebhooks/{id}` (and
 * `{id}/`) with `?token=…`, through the same steps as the Fastify routes (steps.ts: URL check,
 * failed-auth budget, rate, size, payload, keys, idempotency, store, error table), the same
 * headers (security headers, X-RateLimit-*, Idempotent-Replayed, Retry-After, Connection: close
 * on an unread body), metrics, delivery log and access log. What it saves per post is Fastify's
 * routing, hook runners, request/reply objects, content-type parsing and serializer.
 *
 * It takes only requests whose every answer it gives exactly as the routes do, and leaves the rest
 * to Fastify (returns false before touching the request): other methods and URLs (the formats
 * /slack, /sns, … included), URLs with a %-escape or any other character the router would decode,
 * a body without a Content-Length, an empty one, or one over 64 KiB (the routes answer 413 or
 * stream it with its limit), a Content-Encoding, the "Send test message" header, and everything
 * while the server drains.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { parse as parseQuery } from 'fast-querystring';
import type { Metrics } from '../http/metrics.js';
import { errorHeaders, httpStatusOf } from '../http/error-handler.js';
import { SECURITY_HEADERS } from '../http/hooks.js';
import { TEST_DELIVERY_HEADER, type DeliveryLog } from './delivery-log.js';
import { BODY_LIMIT, type WebhookCall, type WebhookSteps } from './steps.js';

export interface WebhookFastPathOptions {
  steps: WebhookSteps;
  metrics: Metrics;
  deliveryLog?: DeliveryLog;
  /** The app's logger (Fastify's, with its serializers): the access log at info, errors. */
  log: FastifyBaseLogger;
  isDraining: () => boolean;
}

/** Answers the request and returns true, or returns false without touching it (then Fastify routes it). */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

// The id as find-my-way would hand it over undecoded: no %-escapes, no other delimiters.
const CHIME_URL = /^\/incomingwebhooks\/([A-Za-z0-9._~-]+)(\/?)(?:\?(.*))?$/s;
const ROUTE = '/incomingwebhooks/:webhookId';
const ROUTE_SLASH = '/incomingwebhooks/:webhookId/';

class FastCall implements WebhookCall {
  private reqId: string | undefined;
  private childLog: FastifyBaseLogger | undefined;
  readonly started = performance.now();

  constructor(
    readonly raw: IncomingMessage,
    private readonly root: FastifyBaseLogger,
  ) {}

  get headers(): IncomingHttpHeaders {
    return this.raw.headers;
  }

  get socket() {
    return this.raw.socket;
  }

  /** As Fastify's genReqId (app.ts), made only when a log line or a 500 needs it. */
  get id(): string {
    return (this.reqId ??= randomUUID());
  }

  get log(): FastifyBaseLogger {
    return (this.childLog ??= this.root.child({ reqId: this.id }));
  }
}

export function webhookFastPath(options: WebhookFastPathOptions): FastPath {
  const { steps, metrics, deliveryLog, log, isDraining } = options;
  // Fastify's access log ("incoming request", "request completed") is at info: checked per request, as the level can change.
  const logsInfo = (): boolean => (log as Partial<Pick<Logger, 'isLevelEnabled'>>).isLevelEnabled?.('info') ?? true;

  const answer = (call: FastCall, res: ServerResponse, route: string, status: number, payload: string, extra: Record<string, string> | undefined, bodyBytes: number) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS };
    const rate = steps.rateHeadersOf(call);
    if (rate) Object.assign(headers, rate);
    if (steps.isReplayed(call)) headers['idempotent-replayed'] = 'true';
    if (extra) Object.assign(headers, extra);
    headers['content-length'] = Buffer.byteLength(payload);
    res.writeHead(status, headers);
    res.end(payload);
    const elapsed = performance.now() - call.started;
    const code = steps.outcomeOf(call);
    metrics.recordRequest('POST', route, status, elapsed / 1000);
    metrics.countWebhookPost(code ?? (status === 200 ? 'OK' : String(status)));
    deliveryLog?.recordAnswer(call, { headers: call.headers, status, bytes: bodyBytes, latencyMs: elapsed, route }, code);
    if (logsInfo()) call.log.info({ res: { statusCode: status }, responseTime: elapsed }, 'request completed');
  };

  const fail = (call: FastCall, res: ServerResponse, route: string, err: unknown, bodyBytes: number) => {
    const e = steps.errorOf(err, call);
    // Retry-After (from retryAfterS) and the error's own headers, as on every HTTP answer (error-handler.ts).
    const headers = errorHeaders(e);
    // A body that was never read to its end must not be parsed as the next request on this connection.
    if (!call.raw.complete) headers.connection = 'close';
    answer(call, res, route, httpStatusOf(e.code), JSON.stringify({ Code: e.code, Message: e.message }), headers, bodyBytes);
  };

  const readBody = (req: IncomingMessage, length: number): Promise<Buffer | null> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
      });
      // Node's parser delivers exactly Content-Length bytes; anything else is a connection that broke (no answer).
      req.once('end', () => resolve(received === length ? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)) : null));
      req.once('error', () => resolve(null));
    });

  const handle = async (call: FastCall, res: ServerResponse, route: string, id: string, query: string | undefined, length: number) => {
    const req = call.raw;
    let bodyBytes = length;
    try {
      // 1. URL, 2. rate (steps.ts), before a byte of the body is read.
      const params = query === undefined || query.length === 0 ? {} : (parseQuery(query) as Record<string, unknown>);
      await steps.authenticate(call, id, Object.hasOwn(params, 'token') ? params.token : undefined);
      // 3. (size and encoding were checked before this path took the request)
      const body = await readBody(req, length);
      if (body === null) {
        res.destroy();
        return;
      }
      bodyBytes = body.length;
      // 4.–7.
      const message = await steps.post(call, body);
      // Exactly 200 (never 201/204): AWS's GitHub Action and Node library fail on anything else.
      answer(call, res, route, 200, JSON.stringify({ MessageId: message.id, RoomId: message.roomId }), undefined, bodyBytes);
    } catch (err) {
      if (res.headersSent || res.destroyed) return;
      fail(call, res, route, err, bodyBytes);
    }
  };

  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url;
    if (url === undefined || !url.startsWith('/incomingwebhooks/')) return false;
    const match = CHIME_URL.exec(url);
    if (!match) return false;
    const headers = req.headers;
    const lengthHeader = headers['content-length'];
    if (lengthHeader === undefined || headers['transfer-encoding'] !== undefined || headers['content-encoding'] !== undefined) return false;
    const length = Number(lengthHeader);
    if (!(length > 0 && length <= BODY_LIMIT)) return false;
    if (headers[TEST_DELIVERY_HEADER] !== undefined || isDraining()) return false;
    const call = new FastCall(req, log);
    if (logsInfo()) call.log.info({ req }, 'incoming request');
    void handle(call, res, match[2] ? ROUTE_SLASH : ROUTE, match[1]!, match[3], length);
    return true;
  };
}
