/**
 * Other senders on the same webhook (issue 15, docs/formats.md):
 *
 *   POST /incomingwebhooks/{id}/slack?token=…         Slack incoming-webhook payloads
 *   POST /incomingwebhooks/{id}/sns?token=…           Amazon SNS HTTP(S) notifications (signed)
 *   POST /incomingwebhooks/{id}/alertmanager?token=…  Prometheus Alertmanager webhook (v4)
 *   POST /incomingwebhooks/{id}/grafana?token=…       Grafana alerting webhook contact point
 *   POST /incomingwebhooks/{id}/github?token=…        GitHub webhooks (X-Hub-Signature-256)
 *
 * Registered inside the Chime endpoint's plugin (endpoint.ts), so each route has the very same
 * pipeline: the URL check (403/404) and the rate (429) in onRequest before the body is read, the
 * same body parser, then the format's own body cap (413), translation (400), the content rules, the
 * @All/@Present 50-member rule and the store (503), through the same `deliver`. What differs per
 * format: the body cap, how the body becomes a message (each folder's translate), and — for Slack
 * only — the shape of the answers, which Slack's clients expect as text (`ok`, `invalid_payload`…).
 * Generated text over 4096 code points is cut with "…" (markdown.ts mdMessage), never refused.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import { LIMITS } from '../../../shared/limits.js';
import { AppError } from '../../errors.js';
import { errorHeaders, httpStatusOf } from '../../http/error-handler.js';
import type { Clock } from '../../services/context.js';
import type { WebhookSender } from '../../services/message-service.js';
import type { MessageRecord } from '../../store/types.js';
import { invalidWebhook, type WebhookService } from '../webhook-service.js';
import { alertmanagerFormat } from './alertmanager/index.js';
import { githubFormat } from './github/index.js';
import { grafanaFormat } from './grafana/index.js';
import { slackFormat } from './slack/index.js';
import { type SnsOptions, snsFormat } from './sns/index.js';
import type { Format, FormatContext, FormatName } from './types.js';

export interface WebhookFormatsOptions {
  /** Amazon SNS: how certificates and subscription confirmations are fetched (tests add a loopback host). */
  sns?: SnsOptions;
}

/** The Chime endpoint's pipeline, as endpoint.ts hands it over. */
export interface FormatPipeline extends WebhookFormatsOptions {
  /** onRequest: URL (403/404), then rate (429); remembers the sender. */
  authenticate: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
  senderOf: (req: FastifyRequest) => WebhookSender | undefined;
  /** Stores the message (content rules, @All rule, 503), or with a key updates this webhook's message with that key. */
  deliver: (req: FastifyRequest, sender: WebhookSender, content: string, key: string | undefined, deliveryId?: string) => Promise<Pick<MessageRecord, 'id' | 'roomId'>>;
  /** Anything thrown → the AppError answered (and counted) on webhook URLs. */
  errorOf: (err: unknown, req: FastifyRequest) => AppError;
  webhooks: WebhookService;
  clock: Clock;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which sender's format a webhook route speaks (issue 15): the delivery log records it. */
    webhookFormat?: FormatName;
  }
}

/** The format of the route a request matched, if it is one of these. */
export function formatOf(req: FastifyRequest): FormatName | undefined {
  return req.routeOptions.config?.webhookFormat;
}

const KIB = 1024;
const size = (bytes: number) => (bytes % (KIB * KIB) === 0 ? `${bytes / KIB / KIB} MiB` : `${bytes / KIB} KiB`);

function tooLarge(format: Format, what: string): AppError {
  return new AppError('PayloadTooLarge', `${what}; the limit for ${format.title} payloads is ${format.bodyLimit} bytes (${size(format.bodyLimit)}).`, { headers: { connection: 'close' } });
}

/**
 * Slack's answers (its incoming-webhook documentation): `ok` for success and an error string in
 * a text/plain body otherwise. The status stays the one the Chime URL answers for the same check;
 * our Code and sentence go in X-Carillon-Code and X-Carillon-Message.
 */
const SLACK_ERRORS: Partial<Record<string, string>> = {
  InvalidWebhook: 'invalid_token',
  WebhookNotFound: 'no_service',
  Throttled: 'rate_limited',
  PayloadTooLarge: 'invalid_payload',
  UnsupportedMediaType: 'invalid_payload',
  InvalidPayload: 'invalid_payload',
  TooManyMembers: 'action_prohibited',
  BroadcastNotAllowed: 'action_prohibited',
  ServiceUnavailable: 'rollup_error',
  InternalError: 'rollup_error',
};

export function slackErrorString(err: unknown, code: string): string {
  const specific = (err as { slackError?: unknown } | null)?.slackError;
  return typeof specific === 'string' ? specific : (SLACK_ERRORS[code] ?? 'invalid_payload');
}

/** Header-safe text (visible ASCII), for X-Carillon-Message. */
const asciiHeader = (s: string) => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 500);

/** Every format, in the order of the docs. */
export function makeFormats(ctx: FormatContext): Format[] {
  return [slackFormat(), snsFormat(ctx), alertmanagerFormat(), grafanaFormat(), githubFormat(ctx)];
}

const DESCRIPTIONS: Record<FormatName, string> = {
  slack:
    'A Slack incoming-webhook payload ({"text": "..."} in mrkdwn, "blocks", "attachments"; also the form body payload=<JSON>) becomes one /md message. ' +
    'Answers are Slack\'s: 200 text/plain "ok"; errors are text/plain Slack error strings (invalid_token 403, no_service 404, rate_limited 429 with Retry-After, ' +
    'invalid_payload 400/413, no_text 400, too_many_attachments 400, action_prohibited 400 for @channel/@here in a room of more than 50 members or where the webhook\'s settings forbid them, rollup_error 503), ' +
    'with X-Carillon-Code and X-Carillon-Message.',
  sns:
    'An Amazon SNS HTTP/HTTPS notification (x-amz-sns-message-type). The signature (SignatureVersion 1 or 2) is checked with the certificate at SigningCertURL, ' +
    'which must be https://sns.<region>.amazonaws.com[.cn]/…; a bad signature is 403 InvalidWebhook. SubscriptionConfirmation is confirmed (GET SubscribeURL) and posts a short notice; ' +
    'a CloudWatch alarm Notification becomes a message keyed by the alarm ARN, so the OK state updates the ALARM message; any other Notification posts its Subject and Message.',
  alertmanager:
    'A Prometheus Alertmanager webhook (version 4) notification: one message per alert group, keyed by groupKey, so "resolved" updates the "firing" message.',
  grafana:
    'A Grafana alerting webhook contact point notification: one message per alert group (groupKey, else the alerts\' fingerprints), so "resolved" updates the "firing" message.',
  github:
    'A GitHub webhook delivery (application/json or form). X-Hub-Signature-256 must be the HMAC-SHA256 of the body with the webhook\'s signingSecret (403 InvalidWebhook otherwise). ' +
    'push, pull_request, issues, release and failed workflow_run events post one message; ping and other events answer 200 with MessageId null and a Note.',
};

const ErrorRef = { $ref: 'Error#' };

export const webhookFormats = (p: FormatPipeline): FastifyPluginAsync => async (app) => {
  const formats = new Map<FormatName, Format>(makeFormats({ webhooks: p.webhooks, clock: p.clock, ...(p.sns ? { sns: p.sns } : {}) }).map((f) => [f.name, f]));

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const format = formats.get(formatOf(req) ?? 'slack');
    let thrown: unknown = err;
    if (format && err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') thrown = tooLarge(format, `The request body is over ${size(format.bodyLimit)}`);
    const e = p.errorOf(thrown, req);
    const headers = errorHeaders(e);
    if (!req.raw.complete) headers.connection = 'close';
    if (formatOf(req) === 'slack') {
      headers['x-carillon-code'] = e.code;
      headers['x-carillon-message'] = asciiHeader(e.message);
      return reply.code(httpStatusOf(e.code)).headers(headers).type('text/plain; charset=utf-8').send(slackErrorString(thrown, e.code));
    }
    return reply.code(httpStatusOf(e.code)).headers(headers).type('application/json').send({ Code: e.code, Message: e.message });
  });

  for (const format of formats.values()) {
    // 3. size by Content-Length and Content-Encoding, before the body is read (as on the Chime URL).
    const beforeBody = (req: FastifyRequest, _reply: FastifyReply, payload: RequestPayload, done: (err: Error | null, payload?: RequestPayload) => void) => {
      const length = req.headers['content-length'];
      if (length !== undefined && Number(length) > format.bodyLimit) return done(tooLarge(format, `The request body is ${length} bytes`));
      const encoding = req.headers['content-encoding'];
      if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
        return done(new AppError('UnsupportedMediaType', `The body is sent with Content-Encoding: ${encoding.slice(0, 40)}; send it uncompressed (no Content-Encoding).`, { headers: { connection: 'close' } }));
      }
      // Every sender's body is read as bytes whatever its Content-Type (SNS sends text/plain, GitHub may send a form).
      delete req.headers['content-type'];
      done(null, payload);
    };

    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      const sender = p.senderOf(req);
      if (!sender) throw invalidWebhook('This webhook URL could not be checked; send the request again.');
      const outcome = await format.translate({ body: (req.body as Buffer | undefined) ?? Buffer.alloc(0), headers: req.headers, webhook: sender });
      if (outcome.kind === 'ignore') {
        if (format.name === 'slack') return reply.code(200).type('text/plain; charset=utf-8').send('ok');
        return reply.code(200).type('application/json').send({ MessageId: null, RoomId: sender.roomId, Note: outcome.note });
      }
      const message = await p.deliver(req, sender, outcome.content, outcome.key, outcome.deliveryId);
      if (format.name === 'slack') return reply.code(200).type('text/plain; charset=utf-8').send('ok');
      return reply.code(200).type('application/json').send({ MessageId: message.id, RoomId: message.roomId });
    };

    const options = {
      onRequest: p.authenticate,
      preParsing: beforeBody,
      bodyLimit: format.bodyLimit,
      config: { webhookFormat: format.name },
      validatorCompiler: () => () => true,
    };
    const json200 = {
      type: 'object',
      properties: {
        MessageId: { type: 'string', format: 'uuid', nullable: true, description: 'the message posted or updated; null when nothing was posted (see Note)' },
        RoomId: { type: 'string', format: 'uuid' },
        Note: { type: 'string', description: 'why nothing was posted (GitHub ping, an event that is not shown)' },
      },
      required: ['MessageId', 'RoomId'],
    };
    const slack200 = { type: 'string', description: 'ok (text/plain)' };
    app.post(`/incomingwebhooks/:webhookId/${format.name}`, {
      ...options,
      schema: {
        tags: ['incoming webhooks'],
        summary: `Post a ${format.title} payload to a room (same URL and token as the Chime-compatible webhook, with /${format.name})`,
        description: `${DESCRIPTIONS[format.name]} Same URL check (403, 404), rate (429), @All/@Present rule (400 TooManyMembers) and store (503) as the Chime-compatible URL; the body may be up to ${size(format.bodyLimit)}; text over ${LIMITS.contentMaxCodePoints} characters is cut with "…". See docs/formats.md.`,
        security: [],
        params: { type: 'object', properties: { webhookId: { type: 'string', format: 'uuid', description: 'lower-case UUID v4' } }, required: ['webhookId'] },
        querystring: {
          type: 'object',
          properties: { token: { type: 'string', pattern: '^[A-Za-z0-9]{72}$', description: 'the webhook URL\'s token' } },
          required: ['token'],
        },
        body: { type: 'object', description: `the ${format.title} payload, as the sender sends it`, additionalProperties: true },
        response:
          format.name === 'slack'
            ? { 200: slack200, 400: slack200, 403: slack200, 404: slack200, 413: slack200, 429: slack200, 503: slack200 }
            : { 200: json200, 400: ErrorRef, 403: ErrorRef, 404: ErrorRef, 413: ErrorRef, 429: ErrorRef, 503: ErrorRef },
      },
    }, handler);
    app.post(`/incomingwebhooks/:webhookId/${format.name}/`, { ...options, schema: { hide: true } }, handler);
  }
};
