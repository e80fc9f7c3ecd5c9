/**
 * The steps of a webhook post (SPEC 2.3), one implementation shared by the two ways a request
 * reaches them: the Fastify routes of endpoint.ts (every URL shape and format, and app.inject) and
 * the raw `node:http` fast path of fast-path.ts (the Chime URL with a plain body, issue 16). Each
 * step takes a WebhookCall: Fastify's request, or the fast path's own small object, and keeps what
 * it learns about the call (its webhook, rate headers, outcome, replay) in weak maps keyed by it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyBaseLogger, FastifyError } from 'fastify';
import type { ErrorCode } from '../../shared/error-codes.js';
import { LIMITS } from '../../shared/limits.js';
import { AppError, isAppError } from '../errors.js';
import { httpStatusOf, toAppError } from '../http/error-handler.js';
import { checkContentSize } from '../services/content.js';
import type { Clock } from '../services/context.js';
import type { MessageService, WebhookSender } from '../services/message-service.js';
import { IdempotentRepeatError } from '../store/types.js';
import { attributeDelivery, setDeliveryMessage } from './delivery-log.js';
import { FailedAuthGuard } from '../rate-limit/failed-auth.js';
import { idempotencyKeyOf } from './idempotency.js';
import { checkUpdateKey, parseWebhookBody } from './payload.js';
import type { RateDecision, RateLimiter } from '../rate-limit/types.js';
import { isWebhookId } from './tokens.js';
import { type WebhookService, invalidWebhook } from './webhook-service.js';

/** One request on a webhook URL, as the steps see it (a FastifyRequest is one). */
export interface WebhookCall {
  /** The request id (in logs and in a 500's Message). */
  readonly id: string;
  readonly headers: IncomingHttpHeaders;
  readonly log: FastifyBaseLogger;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

export interface WebhookStepsOptions {
  webhooks: WebhookService;
  messages: MessageService;
  rateLimiter: RateLimiter;
  /** WEBHOOK_RATE_PER_SECOND, for the 429 Message. */
  ratePerSecond: number;
  clock: Clock;
  /** For the security event of repeated failed authentication. */
  log: FastifyBaseLogger;
}

export const BODY_LIMIT = LIMITS.webhookBodyMaxBytes;

export const tooLarge = (what: string) =>
  new AppError(
    'PayloadTooLarge',
    `${what}; the limit is ${BODY_LIMIT} bytes (64 KiB). Send only {"Content": "…"} with at most ${LIMITS.contentMaxCodePoints} characters, and split longer text into several posts.`,
    { headers: { connection: 'close' } },
  );

/** X-RateLimit-Limit (the bucket's capacity), -Remaining (whole tokens left after this request), -Reset (whole seconds until it is full). */
const rateLimitHeaders = (d: RateDecision): Record<string, string> => ({
  'x-ratelimit-limit': String(d.limit),
  'x-ratelimit-remaining': String(d.remaining),
  'x-ratelimit-reset': String(d.resetSeconds),
});

const rateText = (perSecond: number) => (perSecond === 1 ? '1 request per second' : `${perSecond} requests per second`);

/** Maps anything thrown on a webhook URL to an AppError with a code from the SPEC 2.3 table. */
function toWebhookError(err: unknown): AppError | null {
  const code = (err as FastifyError | undefined)?.code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return tooLarge('The request body is over 64 KiB');
  if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
    return new AppError('InvalidPayload', 'The body does not match its Content-Length header; send the body with its exact length (or let your HTTP client set it).', { headers: { connection: 'close' } });
  }
  const app = toAppError(err);
  // The API's 400 code is InvalidRequest; on a webhook URL every 400 about the request is InvalidPayload.
  if (app?.code === 'InvalidRequest') return new AppError('InvalidPayload', app.message, app.details);
  return app;
}

export class WebhookSteps {
  /** What each request was answered, for the carillon_webhook_posts_total metric. */
  private readonly outcomes = new WeakMap<object, ErrorCode>();
  /** The webhook each authenticated request posts as. */
  private readonly senders = new WeakMap<object, WebhookSender>();
  /**
   * The X-RateLimit-* headers of each authenticated request (issue 15), sent with whatever it is
   * answered (200 or any error after the URL check, on every format's route): set by the rate check.
   */
  private readonly rateHeaders = new WeakMap<object, Record<string, string>>();
  /** Requests answered with an earlier post's ids because of their Idempotency-Key (issue 15). */
  private readonly replayed = new WeakSet<object>();
  /** Wrong and expired URLs: past a budget per address and per webhook id, 429 and a security event. */
  private readonly failedAuth: FailedAuthGuard;

  constructor(private readonly options: WebhookStepsOptions) {
    this.failedAuth = new FailedAuthGuard(options.clock, (event) =>
      options.log.warn(
        { securityEvent: 'webhook_auth_failures', ...event },
        `repeated failed webhook authentication ${event.scope === 'address' ? 'from one address' : 'for one webhook'}: answering 429`,
      ),
    );
  }

  senderOf(call: object): WebhookSender | undefined {
    return this.senders.get(call);
  }

  rateHeadersOf(call: object): Record<string, string> | undefined {
    return this.rateHeaders.get(call);
  }

  isReplayed(call: object): boolean {
    return this.replayed.has(call);
  }

  outcomeOf(call: object): ErrorCode | undefined {
    return this.outcomes.get(call);
  }

  /**
   * The answer to anything thrown on a webhook URL, as an AppError with a code from the SPEC 2.3 table
   * (a bug is logged with the request id), recorded for the metrics.
   */
  errorOf(err: unknown, call: WebhookCall): AppError {
    let app = toWebhookError(err);
    if (!app) {
      // A bug, never client input: logged with the request id (the URL in the log is redacted).
      call.log.error({ err }, 'unexpected error on a webhook URL');
      app = new AppError('InternalError', `Something went wrong on the server (request id ${call.id}); try again, and report this id if it keeps happening.`);
    } else if (httpStatusOf(app.code) >= 500) {
      call.log.warn({ err, code: app.code }, 'webhook post refused: service unavailable');
    }
    this.outcomes.set(call, app.code);
    return app;
  }

  /** 1. URL, then 2. rate: before a byte of the body is read. */
  async authenticate(call: WebhookCall, id: string, token: unknown): Promise<void> {
    const { webhooks, rateLimiter, ratePerSecond } = this.options;
    let sender: WebhookSender;
    try {
      sender = await webhooks.authenticate(id, token);
    } catch (e) {
      if (isAppError(e) && (e.code === 'InvalidWebhook' || e.code === 'WebhookNotFound')) {
        // An old token proves which webhook it was for: its 404s go to that webhook's log (a deleted one's are dropped there).
        if (e.code === 'WebhookNotFound') attributeDelivery(call, id);
        throw await this.failedAuth.refuse(call.socket.remoteAddress ?? 'unknown', isWebhookId(id) ? id : null, e);
      }
      throw e;
    }
    attributeDelivery(call, sender.id);
    let decision;
    try {
      // The webhook's own rate and burst (issue 15), or the server's.
      decision = await rateLimiter.take(sender.id, sender.limits);
    } catch (e) {
      call.log.warn({ err: e }, 'rate limiter unavailable');
      throw new AppError('ServiceUnavailable', 'The rate limiter is unavailable right now; retry after the time in Retry-After.', { retryAfterS: 1 });
    }
    this.rateHeaders.set(call, rateLimitHeaders(decision));
    if (!decision.ok) {
      // Chime allowed one request per second per webhook; so does Carillon (configurable, per webhook too).
      throw new AppError(
        'Throttled',
        `More than ${rateText(sender.limits?.ratePerSecond ?? ratePerSecond)} for this webhook; retry after ${decision.retryAfterSeconds} second${decision.retryAfterSeconds === 1 ? '' : 's'}.`,
        { retryAfterS: decision.retryAfterSeconds },
      );
    }
    this.senders.set(call, sender);
  }

  /** 3. size by Content-Length, and an encoding we cannot read: answered without reading the body. */
  checkBeforeBody(headers: IncomingHttpHeaders): AppError | null {
    const length = headers['content-length'];
    if (length !== undefined && Number(length) > BODY_LIMIT) return tooLarge(`The request body is ${length} bytes`);
    const encoding = headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      // Pinned: no real Chime client compresses; inflating would let a small body expand past every limit.
      return new AppError('UnsupportedMediaType', `The body is sent with Content-Encoding: ${encoding.slice(0, 40)}; send it uncompressed (no Content-Encoding).`, { headers: { connection: 'close' } });
    }
    return null;
  }

  /** 4.–7. payload, content size, content rules, mentions, store: the Chime URL's post. */
  async post(call: WebhookCall, body: Buffer | undefined): Promise<{ id: string; roomId: string }> {
    const sender = this.senders.get(call);
    if (!sender) throw invalidWebhook('This webhook URL could not be checked; send the request again.');
    const { content, key, rawKey } = parseWebhookBody(body);
    checkContentSize(content, key);
    const messageKey = this.keyOf(call, rawKey === undefined ? undefined : checkUpdateKey(rawKey, "'Key'"));
    return this.deliver(call, sender, content, messageKey);
  }

  /** 7. store, for the Chime URL and every format: a new message, or with a key the update of this webhook's message with that key. */
  async deliver(call: WebhookCall, sender: WebhookSender, content: string, key: string | undefined, deliveryId?: string): Promise<{ id: string; roomId: string }> {
    const message = await this.storeOnce(call, sender, content, key, deliveryId);
    setDeliveryMessage(call, message.id);
    return message;
  }

  /**
   * With an Idempotency-Key (issue 15; idempotency.ts): the post this webhook stored with that key
   * in the last 24 hours, else this one, stored with the key. A post without the header costs nothing more.
   * A format whose sender has its own delivery id (SNS, GitHub) uses that when no header is sent.
   */
  private async storeOnce(call: WebhookCall, sender: WebhookSender, content: string, key: string | undefined, deliveryId: string | undefined): Promise<{ id: string; roomId: string }> {
    const { messages } = this.options;
    const idempotencyKey = idempotencyKeyOf(call) ?? deliveryId;
    if (idempotencyKey === undefined) {
      return key === undefined ? messages.postAsWebhook(sender, content) : messages.postKeyedAsWebhook(sender, content, key);
    }
    const replay = (earlier: { messageId: string; roomId: string }) => {
      this.replayed.add(call);
      return { id: earlier.messageId, roomId: earlier.roomId };
    };
    const earlier = await messages.idempotentPost(sender, idempotencyKey);
    if (earlier) return replay(earlier);
    try {
      const options = { idempotencyKey };
      return key === undefined ? await messages.postAsWebhook(sender, content, options) : await messages.postKeyedAsWebhook(sender, content, key, options);
    } catch (e) {
      // The same key committed meanwhile (a concurrent repeat, on any node): its answer is this one's.
      if (e instanceof IdempotentRepeatError) return replay(e.post);
      throw e;
    }
  }

  /** The message key of a post: the body's "Key" or the X-Carillon-Key header (they must agree when both are sent). */
  private keyOf(call: WebhookCall, fromBody: string | undefined): string | undefined {
    const header = call.headers['x-carillon-key'];
    if (header === undefined) return fromBody;
    const value = Array.isArray(header) ? header.join(', ') : header;
    // Node reads header bytes as Latin-1: only visible ASCII keeps its meaning there.
    if (!/^[\x20-\x7e]*$/.test(value)) {
      throw new AppError('InvalidPayload', 'The X-Carillon-Key header must be printable ASCII; send a key with other characters as "Key" in the JSON body.');
    }
    const fromHeader = checkUpdateKey(value, 'The X-Carillon-Key header');
    if (fromBody !== undefined && fromBody !== fromHeader) {
      throw new AppError('InvalidPayload', 'The body\'s "Key" and the X-Carillon-Key header differ; send the key once.');
    }
    return fromHeader;
  }
}
