/** Webhook operations for room administrators (issue 15): delivery log, test message, audit trail. Rules in webhooks/webhook-ops.ts. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '../http/typebox.js';
import { RoomIdParams, Uuid, errors } from '../http/schemas.js';
import type { WebhookOpsService } from '../webhooks/webhook-ops.js';
import { AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, TEST_MESSAGE } from '../webhooks/webhook-ops.js';
import type { RouteContext } from './context.js';

const WebhookParams = Type.Object({ roomId: Uuid, webhookId: Uuid });

const DeliveryFormat = Type.Unsafe<'chime' | 'slack' | 'sns' | 'alertmanager' | 'grafana' | 'github' | 'test'>({
  type: 'string',
  enum: ['chime', 'slack', 'sns', 'alertmanager', 'grafana', 'github', 'test'],
  description: 'the URL it came to: chime (/incomingwebhooks/{id}), slack, sns, alertmanager, grafana, github (…/{id}/{format}), or test (Send test message)',
});

export const WebhookDelivery = Type.Object(
  {
    id: Type.String({ description: 'time-ordered (UUID v7)' }),
    at: Type.Integer({ description: 'when it was answered, epoch milliseconds' }),
    status: Type.Integer({ description: 'the HTTP status answered' }),
    code: Type.Union([Type.String(), Type.Null()], { description: 'the error Code answered; null for 200' }),
    bytes: Type.Integer({ description: 'request body size in bytes (its Content-Length when refused unread)' }),
    latencyMs: Type.Number({ description: 'time to answer, milliseconds' }),
    messageId: Type.Union([Type.String(), Type.Null()], { description: 'the message stored (or updated by key); null when nothing was stored' }),
    format: DeliveryFormat,
  },
  { description: 'One attempt on an authenticated webhook URL. Never the token, never the body.' },
);

const AuditEntry = Type.Object({
  id: Type.String({ description: 'time-ordered (UUID v7): pass the last one as before= for the next page' }),
  at: Type.Integer({ description: 'epoch milliseconds' }),
  actor: Type.Object({
    type: Type.Unsafe<'user' | 'server'>({ type: 'string', enum: ['user', 'server'], description: 'server: the command line (carillon webhook create)' }),
    id: Type.Union([Type.String(), Type.Null()], { description: 'the user id; null for the server' }),
    name: Type.String({ description: 'the user\'s display name at the time' }),
  }),
  action: Type.Unsafe<'webhook.created' | 'webhook.renamed' | 'webhook.regenerated' | 'webhook.deleted' | 'webhook.settings'>({
    type: 'string',
    enum: ['webhook.created', 'webhook.renamed', 'webhook.regenerated', 'webhook.deleted', 'webhook.settings'],
  }),
  webhookId: Type.String(),
  webhookName: Type.String({ description: 'its name after the action (its last name, for a deletion)' }),
  details: Type.Object({}, {
    additionalProperties: true,
    description: 'renamed: {from, to}; regenerated: {keepOldUrlForHours}; settings: {changes: {field: {from, to}}}; created, deleted: {}',
  }),
});

export const webhookOpsRoutes = (rc: RouteContext, ops: WebhookOpsService): FastifyPluginAsyncTypebox => async (app) => {
  app.get('/rooms/:roomId/webhooks/:webhookId/deliveries', {
    schema: {
      tags: ['webhooks'],
      summary: 'A webhook\'s delivery log: its last 100 attempts, newest first (room administrators)',
      description:
        'Every answer on the webhook\'s URLs (every format), 200s and errors, including 404s for the URL before a regenerate; ' +
        'not 403s (a URL that does not authenticate names no webhook). Written shortly after each answer; a node that crashes may lose its last fraction of a second of rows.',
      params: WebhookParams,
      response: { 200: Type.Object({ deliveries: Type.Array(WebhookDelivery) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return { deliveries: await ops.deliveries(user, req.params.roomId, req.params.webhookId) };
  });

  app.post('/rooms/:roomId/webhooks/:webhookId/test', {
    schema: {
      tags: ['webhooks'],
      summary: 'Send test message (room administrators)',
      description:
        `Posts "${TEST_MESSAGE}" through the webhook's own URL: the same checks, rate limit (it spends one of the webhook's tokens) and store as a real post, ` +
        'logged in the delivery log with format "test". Answers 200 either way: messageId is null and delivery says why when the post was refused (e.g. 429).',
      params: WebhookParams,
      response: {
        200: Type.Object({ messageId: Type.Union([Type.String(), Type.Null()]), delivery: WebhookDelivery }),
        ...errors(400, 401, 403, 404),
      },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return ops.sendTest(user, req.params.roomId, req.params.webhookId);
  });

  app.get('/rooms/:roomId/audit', {
    schema: {
      tags: ['webhooks'],
      summary: 'The room\'s audit trail of webhook changes, newest first (room administrators)',
      description: 'Who created, renamed, regenerated, deleted or changed the settings of which webhook, and when; changes made with the command line show the server as actor.',
      params: RoomIdParams,
      querystring: Type.Object(
        {
          before: Type.Optional(Type.String({ format: 'uuid', description: 'must be an entry id: only older entries (the next page)' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: AUDIT_PAGE_MAX, description: `entries per page (default ${AUDIT_PAGE_DEFAULT})` })),
        },
        { additionalProperties: false },
      ),
      response: { 200: Type.Object({ entries: Type.Array(AuditEntry) }), ...errors(400, 401, 403, 404) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return { entries: await ops.audit(user, req.params.roomId, req.query) };
  });
};
