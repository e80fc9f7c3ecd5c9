/**
 * The Chime-compatible incoming-webhook endpoint (SPEC 2): `POST /incomingwebhooks/{id}?token=…`.
 *
 * An encapsulated plugin with its own body parser and error handler, because its wire contract is
 * not the API's: the body is JSON whatever the Content-Type says, and every answer — errors from
 * the framework included — is `application/json` `{Code, Message}` with a status from the SPEC 2.3
 * table (AWS's Chime client libraries JSON.parse every response body and crash on anything else;
 * test/fixtures/chime-clients/README.md, rules 1–5). Chime's own description of these webhooks,
 * with its 4 KB message limit and 1 request per second per webhook:
 * https://docs.aws.amazon.com/chime/latest/ug/webhooks.html
 *
 * The checks run in the SPEC 2.3 order, each before any work the next one needs:
 *   onRequest    URL → 403 InvalidWebhook / 404 WebhookNotFound (before the body is read), or 429 once
 *                an address or webhook id is past its budget of such failures (rate-limit/failed-auth.ts)
 *                rate → 429 Throttled + Retry-After (only authenticated requests spend tokens; the
 *                webhook's own rate and burst, issue 15); from here on every answer carries
 *                X-RateLimit-Limit / -Remaining / -Reset (onSend)
 *   preParsing   size → 413 by Content-Length at once, without reading the body
 *   body parser  size → 413 when a chunked body passes 64 KiB while streaming (then the connection closes)
 *   handler      payload → 400 InvalidPayload; Content over 4096 code points → 413;
 *                a bad Idempotency-Key → 400; a repeated one → the first post's 200 (idempotency.ts);
 *                content rules → 400; @All/@Present refused by the webhook's settings → 400
 *                BroadcastNotAllowed, or in a room of more than 50 → 400 TooManyMembers;
 *                store → 200 {MessageId, RoomId} only after the commit, or 503 + Retry-After.
 */
import type { FastifyError, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import type { ErrorCode } from '../../shared/error-codes.js';
import { LIMITS } from '../../shared/limits.js';
import { AppError, isAppError } from '../errors.js';
import { errorHeaders, httpStatusOf, toAppError } from '../http/error-handler.js';
import type { Metrics } from '../http/metrics.js';
import { checkContentSize } from '../services/content.js';
import type { Clock } from '../services/context.js';
import type { MessageService, WebhookSender } from '../services/message-service.js';
import { FailedAuthGuard } from '../rate-limit/failed-auth.js';
import { checkUpdateKey, parseWebhookBody } from './payload.js';
import type { RateDecision, RateLimiter } from '../rate-limit/types.js';
import { idempotencyKeyOf } from './idempotency.js';
import { IdempotentRepeatError } from '../store/types.js';
import { isWebhookId } from './tokens.js';
import { type WebhookService, invalidWebhook } from './webhook-service.js';
import { type WebhookFormatsOptions, webhookFormats } from './formats/routes.js';
import { type DeliveryLog, attributeDelivery, setDeliveryMessage } from './delivery-log.js';

export interface WebhookEndpointOptions {
  webhooks: WebhookService;
  messages: MessageService;
  rateLimiter: RateLimiter;
  metrics: Metrics;
  /** WEBHOOK_RATE_PER_SECOND, for the 429 Message. */
  ratePerSecond: number;
  clock: Clock;
  /** The other senders' formats on the same URL (issue 15, formats/routes.ts): SNS certificate fetching, for tests. */
  formats?: WebhookFormatsOptions;
  /** Each webhook's delivery log and failure notices (issue 15, delivery-log.ts), written after the answer. */
  deliveryLog?: DeliveryLog;
}

const BODY_LIMIT = LIMITS.webhookBodyMaxBytes;

const tooLarge = (what: string) =>
  new AppError(
    'PayloadTooLarge',
    `${what}; the limit is ${BODY_LIMIT} bytes (64 KiB). Send only {"Content": "…"} with at most ${LIMITS.contentMaxCodePoints} characters, and split longer text into several posts.`,
    { headers: { connection: 'close' } },
  );

const methodNotAllowed = (method: string) =>
  new AppError('MethodNotAllowed', `${method} is not allowed on a webhook URL; send a POST with a JSON body such as {"Content": "Hello"}.`, { headers: { allow: 'POST' } });

/** What each request was answered, for the carillon_webhook_posts_total metric. */
const outcomes = new WeakMap<FastifyRequest, ErrorCode>();
/** The webhook each authenticated request posts as. */
const senders = new WeakMap<FastifyRequest, WebhookSender>();
/**
 * The X-RateLimit-* headers of each authenticated request (issue 15), sent with whatever it is
 * answered (200 or any error after the URL check, on every format's route): set by the rate check.
 */
const rateHeaders = new WeakMap<FastifyRequest, Record<string, string>>();
/** Requests answered with an earlier post's ids because of their Idempotency-Key (issue 15). */
const replayed = new WeakSet<FastifyRequest>();

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

/**
 * The answer to anything thrown on a webhook URL, as an AppError with a code from the SPEC 2.3 table
 * (a bug is logged with the request id), recorded for the metrics. The formats (formats/routes.ts)
 * use it too, and answer it in their sender's own way where that is not {Code, Message}.
 */
export function webhookErrorOf(err: unknown, req: FastifyRequest): AppError {
  let app = toWebhookError(err);
  if (!app) {
    // A bug, never client input: logged with the request id (the URL in the log is redacted).
    req.log.error({ err }, 'unexpected error on a webhook URL');
    app = new AppError('InternalError', `Something went wrong on the server (request id ${req.id}); try again, and report this id if it keeps happening.`);
  } else if (httpStatusOf(app.code) >= 500) {
    req.log.warn({ err, code: app.code }, 'webhook post refused: service unavailable');
  }
  outcomes.set(req, app.code);
  return app;
}

function handleWebhookError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const app = webhookErrorOf(err, req);
  // Retry-After (from retryAfterS) and the error's own headers, as on every HTTP answer (error-handler.ts).
  const headers = errorHeaders(app);
  // A body that was never read to its end must not be parsed as the next request on this connection.
  if (!req.raw.complete) headers.connection = 'close';
  return reply.code(httpStatusOf(app.code)).headers(headers).type('application/json').send({ Code: app.code, Message: app.message });
}

/** `token` from the query: a string, or undefined when absent; anything else (repeated, array) fails closed. */
function tokenOf(req: FastifyRequest): unknown {
  const query = req.query as Record<string, unknown> | undefined;
  return query && Object.hasOwn(query, 'token') ? query.token : undefined;
}

/** The webhook id from whichever route matched: `/:webhookId`, `/:webhookId/`, or a catch-all. */
function idOf(req: FastifyRequest): string {
  const params = req.params as Record<string, string | undefined>;
  return params.webhookId ?? params['*'] ?? '';
}

/**
 * The answer for a URL below /incomingwebhooks that the router cannot even decode (bad percent-
 * encoding), used by app.ts's frameworkErrors: still 405 for other methods, else 403.
 */
export function undecodableWebhookUrlError(method: string, url: string): AppError | null {
  if (!/^\/incomingwebhooks(?:[/?]|$)/.test(url)) return null;
  if (method !== 'POST') return methodNotAllowed(method);
  return invalidWebhook('The webhook URL is not valid (it has a broken %-escape); copy the whole URL again.');
}

const ErrorRef = { $ref: 'Error#' };

export const webhookEndpoint = (options: WebhookEndpointOptions): FastifyPluginAsync => async (app: FastifyInstance) => {
  const { webhooks, messages, rateLimiter, metrics, ratePerSecond, clock } = options;

  // The body is JSON whatever the Content-Type says (SPEC 2.2): real clients send application/json,
  // text/plain, application/x-www-form-urlencoded or nothing. One parser for every type (and none)
  // reads the raw bytes, and stops at 64 KiB.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, req, reply) => handleWebhookError(err, req, reply));

  // Hooks that do not wait for anything take Fastify's callback form: no promise per request.
  // Rate-limit headers on every answer to an authenticated request, and the replay marker (issue 15).
  app.addHook('onSend', (req, reply, payload, done) => {
    const headers = rateHeaders.get(req);
    if (headers) reply.headers(headers);
    if (replayed.has(req)) reply.header('idempotent-replayed', 'true');
    done(null, payload);
  });

  app.addHook('onResponse', (req, reply, done) => {
    metrics.webhookPosts.inc({ code: outcomes.get(req) ?? (reply.statusCode === 200 ? 'OK' : String(reply.statusCode)) });
    // The webhook's delivery log (every format: this hook covers the routes registered below too).
    options.deliveryLog?.record(req, reply, outcomes.get(req));
    done();
  });

  // Wrong and expired URLs: past a budget per address and per webhook id, 429 and a security event.
  const failedAuth = new FailedAuthGuard(clock, (event) =>
    app.log.warn({ securityEvent: 'webhook_auth_failures', ...event }, `repeated failed webhook authentication ${event.scope === 'address' ? 'from one address' : 'for one webhook'}: answering 429`),
  );

  // 1. URL, then 2. rate: in onRequest, before a byte of the body is read.
  const authenticate = async (req: FastifyRequest) => {
    let sender: WebhookSender;
    try {
      sender = await webhooks.authenticate(idOf(req), tokenOf(req));
    } catch (e) {
      if (isAppError(e) && (e.code === 'InvalidWebhook' || e.code === 'WebhookNotFound')) {
        const id = idOf(req);
        // An old token proves which webhook it was for: its 404s go to that webhook's log (a deleted one's are dropped there).
        if (e.code === 'WebhookNotFound') attributeDelivery(req, id);
        throw await failedAuth.refuse(req.socket.remoteAddress ?? 'unknown', isWebhookId(id) ? id : null, e);
      }
      throw e;
    }
    attributeDelivery(req, sender.id);
    let decision;
    try {
      // The webhook's own rate and burst (issue 15), or the server's.
      decision = await rateLimiter.take(sender.id, sender.limits);
    } catch (e) {
      req.log.warn({ err: e }, 'rate limiter unavailable');
      throw new AppError('ServiceUnavailable', 'The rate limiter is unavailable right now; retry after the time in Retry-After.', { retryAfterS: 1 });
    }
    rateHeaders.set(req, rateLimitHeaders(decision));
    if (!decision.ok) {
      // Chime allowed one request per second per webhook; so does Carillon (configurable, per webhook too).
      throw new AppError(
        'Throttled',
        `More than ${rateText(sender.limits?.ratePerSecond ?? ratePerSecond)} for this webhook; retry after ${decision.retryAfterSeconds} second${decision.retryAfterSeconds === 1 ? '' : 's'}.`,
        { retryAfterS: decision.retryAfterSeconds },
      );
    }
    senders.set(req, sender);
  };

  // 3. size by Content-Length, and an encoding we cannot read: answered without reading the body.
  const checkBeforeBody = (req: FastifyRequest, _reply: FastifyReply, payload: RequestPayload, done: (err: Error | null, payload?: RequestPayload) => void) => {
    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > BODY_LIMIT) return done(tooLarge(`The request body is ${length} bytes`));
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      // Pinned: no real Chime client compresses; inflating would let a small body expand past every limit.
      return done(new AppError('UnsupportedMediaType', `The body is sent with Content-Encoding: ${encoding.slice(0, 40)}; send it uncompressed (no Content-Encoding).`, { headers: { connection: 'close' } }));
    }
    // The Content-Type is ignored on purpose (SPEC 2.2). Dropping it sends every body, even one with
    // a malformed type such as "application/json wrongtext", to the one catch-all parser, instead
    // of Fastify's 415 for media types it cannot parse.
    delete req.headers['content-type'];
    done(null, payload);
  };

  // 4.–7. payload, content size, content rules, mentions, store.
  const post = async (req: FastifyRequest, reply: FastifyReply) => {
    const sender = senders.get(req);
    if (!sender) throw invalidWebhook('This webhook URL could not be checked; send the request again.');
    const { content, key, rawKey } = parseWebhookBody(req.body as Buffer | undefined);
    checkContentSize(content, key);
    const messageKey = keyOf(req, rawKey === undefined ? undefined : checkUpdateKey(rawKey, "'Key'"));
    const message = await deliver(req, sender, content, messageKey);
    // Exactly 200 (never 201/204): AWS's GitHub Action and Node library fail on anything else.
    return reply.code(200).type('application/json').send({ MessageId: message.id, RoomId: message.roomId });
  };

  /** 7. store, for the Chime URL and every format: a new message, or with a key the update of this webhook's message with that key. */
  const deliver = async (req: FastifyRequest, sender: WebhookSender, content: string, key: string | undefined, deliveryId?: string): Promise<{ id: string; roomId: string }> => {
    const message = await storeOnce(req, sender, content, key, deliveryId);
    setDeliveryMessage(req, message.id);
    return message;
  };

  /**
   * With an Idempotency-Key (issue 15; idempotency.ts): the post this webhook stored with that key
   * in the last 24 hours, else this one, stored with the key. A post without the header costs nothing more.
   * A format whose sender has its own delivery id (SNS, GitHub) uses that when no header is sent.
   */
  const storeOnce = async (req: FastifyRequest, sender: WebhookSender, content: string, key: string | undefined, deliveryId: string | undefined): Promise<{ id: string; roomId: string }> => {
    const idempotencyKey = idempotencyKeyOf(req) ?? deliveryId;
    if (idempotencyKey === undefined) {
      return key === undefined ? messages.postAsWebhook(sender, content) : messages.postKeyedAsWebhook(sender, content, key);
    }
    const replay = (earlier: { messageId: string; roomId: string }) => {
      replayed.add(req);
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
  };

  /** The message key of a post: the body's "Key" or the X-Carillon-Key header (they must agree when both are sent). */
  const keyOf = (req: FastifyRequest, fromBody: string | undefined): string | undefined => {
    const header = req.headers['x-carillon-key'];
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
  };

  const postOptions = { onRequest: authenticate, preParsing: checkBeforeBody, validatorCompiler: () => () => true };
  const hidden = { schema: { hide: true } };

  app.post('/incomingwebhooks/:webhookId', {
    ...postOptions,
    schema: {
      tags: ['incoming webhooks'],
      summary: 'Post a message to a room (Amazon Chime-compatible incoming webhook)',
      description:
        'The URL a room administrator copies. The body is read as UTF-8 JSON whatever the Content-Type; chunked bodies work; ' +
        'unknown keys are ignored. Every answer is application/json: 200 {MessageId, RoomId} after the message is stored, ' +
        'or {Code, Message}. Checks run in this order: URL (403, 404; 429 once a client address or webhook id has had too many of those) → ' +
        'rate (429) → size (413) → payload (400) → mentions (400) → store (503). ' +
        'Every answer after the URL check carries X-RateLimit-Limit (the webhook\'s burst), X-RateLimit-Remaining (posts left now) and X-RateLimit-Reset (seconds until the bucket is full). ' +
        'With an Idempotency-Key header (1–255 printable ASCII), a repeat within 24 hours on the same webhook answers the first post\'s 200 (with Idempotent-Replayed: true) and stores nothing; ' +
        'a repeat sent while the first is being stored waits for it.',
      security: [],
      headers: {
        type: 'object',
        properties: {
          'idempotency-key': {
            type: 'string',
            minLength: 1,
            maxLength: LIMITS.idempotencyKeyMaxChars,
            description: 'the same key on every retry of one post (a UUID): a repeat within 24 hours answers the first post and stores nothing',
          },
          'x-carillon-key': { type: 'string', description: 'as "Key" in the body: the message to update' },
        },
      },
      params: { type: 'object', properties: { webhookId: { type: 'string', format: 'uuid', description: 'lower-case UUID v4' } }, required: ['webhookId'] },
      querystring: {
        type: 'object',
        properties: { token: { type: 'string', pattern: '^[A-Za-z0-9]{72}$', description: '72 letters and digits; other parameters are ignored' } },
        required: ['token'],
      },
      body: {
        type: 'object',
        description:
          '{"Content": "..."}: the message, at most 4096 characters; /md and /code prefixes choose the formatting. ' +
          'With "Key" (or the X-Carillon-Key header), the post replaces the content of this webhook\'s earlier message with the same key (shown as edited; only mentions it adds alert) ' +
          'and the answer names that message; a new key, or one whose message was deleted, posts a new message that carries it.',
        properties: {
          Content: { type: 'string', minLength: 1, maxLength: LIMITS.contentMaxCodePoints },
          Key: { type: 'string', minLength: 1, maxLength: LIMITS.webhookKeyMaxChars, description: 'names the message to update (e.g. an alert\'s fingerprint)' },
        },
        required: ['Content'],
      },
      response: {
        200: {
          type: 'object',
          properties: { MessageId: { type: 'string', format: 'uuid' }, RoomId: { type: 'string', format: 'uuid' } },
          required: ['MessageId', 'RoomId'],
          headers: {
            'X-RateLimit-Limit': { type: 'integer', description: 'the webhook\'s burst: the most posts at once' },
            'X-RateLimit-Remaining': { type: 'integer', description: 'posts it may send right now, after this one' },
            'X-RateLimit-Reset': { type: 'integer', description: 'seconds until its bucket is full again' },
            'Idempotent-Replayed': { type: 'string', enum: ['true'], description: 'the answer of an earlier post with the same Idempotency-Key: nothing was stored' },
          },
        },
        400: ErrorRef,
        403: ErrorRef,
        404: ErrorRef,
        405: ErrorRef,
        413: ErrorRef,
        429: ErrorRef,
        503: ErrorRef,
      },
    },
  }, post);
  // A trailing slash after the id is accepted (SPEC 2.1).
  app.post('/incomingwebhooks/:webhookId/', { ...postOptions, ...hidden }, post);
  // Anything else under /incomingwebhooks is a URL that does not authenticate: 403.
  app.post('/incomingwebhooks/*', { ...postOptions, ...hidden }, post);
  app.post('/incomingwebhooks', { ...postOptions, ...hidden }, post);

  // Any other method, whatever the URL below /incomingwebhooks: 405 with Allow: POST (SPEC 2.3). No
  // CORS headers, ever, and so an OPTIONS preflight gets a 405 too (Chime had no CORS).
  const others = app.supportedMethods.filter((m) => m !== 'POST');
  for (const url of ['/incomingwebhooks', '/incomingwebhooks/*']) {
    app.route({
      method: others,
      url,
      exposeHeadRoute: false,
      ...hidden,
      // In onRequest, before any body is read: a 10 MiB PUT is a 405, not a 413.
      onRequest: async (req) => {
        throw methodNotAllowed(req.method);
      },
      handler: async () => {
        throw new Error('unreachable: onRequest answers every request');
      },
    });
  }

  // Other senders on the same webhook (issue 15): /slack, /sns, /alertmanager, /grafana, /github after
  // the id, with the same URL check, rate, store and error table (formats/routes.ts). Registered last,
  // so it inherits every hook above.
  await app.register(
    webhookFormats({
      authenticate,
      senderOf: (req) => senders.get(req),
      deliver,
      errorOf: webhookErrorOf,
      webhooks,
      clock,
      ...options.formats,
    }),
  );
};
