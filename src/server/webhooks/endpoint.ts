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
 *                an address or webhook id is past its budget of such failures (failed-auth.ts)
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
 *
 * The steps themselves live in steps.ts, shared with the raw `node:http` fast path (fast-path.ts,
 * issue 16), which answers the plain Chime post (`POST /incomingwebhooks/{id}` with a
 * Content-Length body) ahead of Fastify; these routes answer everything else, and app.inject.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import { LIMITS } from '../../shared/limits.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../http/metrics.js';
import { errorHeaders, httpStatusOf } from '../http/error-handler.js';
import { type WebhookFormatsOptions, webhookFormats } from './formats/routes.js';
import type { DeliveryLog } from './delivery-log.js';
import { BODY_LIMIT, WebhookSteps } from './steps.js';
import type { WebhookService } from './webhook-service.js';
import { invalidWebhook } from './webhook-service.js';
import type { Clock } from '../services/context.js';

export interface WebhookEndpointOptions {
  /** The steps of a post (steps.ts), shared with the raw fast path (fast-path.ts). */
  steps: WebhookSteps;
  webhooks: WebhookService;
  metrics: Metrics;
  clock: Clock;
  /** The other senders' formats on the same URL (issue 15, formats/routes.ts): SNS certificate fetching, for tests. */
  formats?: WebhookFormatsOptions;
  /** Each webhook's delivery log and failure notices (issue 15, delivery-log.ts), written after the answer. */
  deliveryLog?: DeliveryLog;
}

export const methodNotAllowed = (method: string) =>
  new AppError('MethodNotAllowed', `${method} is not allowed on a webhook URL; send a POST with a JSON body such as {"Content": "Hello"}.`, { headers: { allow: 'POST' } });

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
  const { steps, webhooks, metrics, clock } = options;

  // The body is JSON whatever the Content-Type says (SPEC 2.2): real clients send application/json,
  // text/plain, application/x-www-form-urlencoded or nothing. One parser for every type (and none)
  // reads the raw bytes, and stops at 64 KiB.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, req, reply) => {
    const e = steps.errorOf(err, req);
    // Retry-After (from retryAfterS) and the error's own headers, as on every HTTP answer (error-handler.ts).
    const headers = errorHeaders(e);
    // A body that was never read to its end must not be parsed as the next request on this connection.
    if (!req.raw.complete) headers.connection = 'close';
    return reply.code(httpStatusOf(e.code)).headers(headers).type('application/json').send({ Code: e.code, Message: e.message });
  });

  // Hooks that do not wait for anything take Fastify's callback form: no promise per request.
  // Rate-limit headers on every answer to an authenticated request, and the replay marker (issue 15).
  app.addHook('onSend', (req, reply, payload, done) => {
    const headers = steps.rateHeadersOf(req);
    if (headers) reply.headers(headers);
    if (steps.isReplayed(req)) reply.header('idempotent-replayed', 'true');
    done(null, payload);
  });

  app.addHook('onResponse', (req, reply, done) => {
    const code = steps.outcomeOf(req);
    metrics.countWebhookPost(code ?? (reply.statusCode === 200 ? 'OK' : String(reply.statusCode)));
    // The webhook's delivery log (every format: this hook covers the routes registered below too).
    options.deliveryLog?.record(req, reply, code);
    done();
  });

  // 1. URL, then 2. rate: in onRequest, before a byte of the body is read.
  const authenticate = (req: FastifyRequest) => steps.authenticate(req, idOf(req), tokenOf(req));

  // 3. size by Content-Length, and an encoding we cannot read: answered without reading the body.
  const checkBeforeBody = (req: FastifyRequest, _reply: FastifyReply, payload: RequestPayload, done: (err: Error | null, payload?: RequestPayload) => void) => {
    const refused = steps.checkBeforeBody(req.headers);
    if (refused) return done(refused);
    // The Content-Type is ignored on purpose (SPEC 2.2). Dropping it sends every body, even one with
    // a malformed type such as "application/json wrongtext", to the one catch-all parser, instead
    // of Fastify's 415 for media types it cannot parse.
    delete req.headers['content-type'];
    done(null, payload);
  };

  // 4.–7. payload, content size, content rules, mentions, store.
  const post = async (req: FastifyRequest, reply: FastifyReply) => {
    const message = await steps.post(req, req.body as Buffer | undefined);
    // Exactly 200 (never 201/204): AWS's GitHub Action and Node library fail on anything else.
    return reply.code(200).type('application/json').send({ MessageId: message.id, RoomId: message.roomId });
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
      senderOf: (req) => steps.senderOf(req),
      deliver: (req, sender, content, key, deliveryId) => steps.deliver(req, sender, content, key, deliveryId),
      errorOf: (err, req) => steps.errorOf(err, req),
      webhooks,
      clock,
      ...options.formats,
    }),
  );
};
