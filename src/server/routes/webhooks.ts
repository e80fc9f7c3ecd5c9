/** Webhook management for room administrators (SPEC 2.5, 6). The rules live in WebhookService. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '../http/typebox.js';
import { LIMITS } from '../../shared/limits.js';
import { RoomIdParams, Uuid, errors } from '../http/schemas.js';
import type { WebhookPatch } from '../../shared/api-types.js';
import type { RouteContext } from './context.js';

const WebhookName = Type.String({ minLength: 1, maxLength: LIMITS.webhookNameMaxChars, description: `1 to ${LIMITS.webhookNameMaxChars} characters, unique in the room ignoring case` });

const Webhook = Type.Object({
  id: Type.String(),
  name: Type.String(),
  url: Type.String({ description: '{PUBLIC_URL}/incomingwebhooks/{id}?token={72 letters and digits}: keep it secret' }),
  createdAt: Type.Integer({ description: 'epoch milliseconds' }),
  settings: Type.Object(
    {
      ratePerSecond: Type.Number({ description: 'posts per second refilled into its token bucket (WEBHOOK_RATE_PER_SECOND unless changed)' }),
      burst: Type.Integer({ description: 'the bucket\'s capacity: the most posts at once (WEBHOOK_BURST unless changed)' }),
      allowBroadcastMentions: Type.Boolean({ description: 'false: posts using @All or @Present are refused with 400 BroadcastNotAllowed' }),
    },
    { description: 'The webhook\'s rate limit and @All/@Present rule, as in effect (never above WEBHOOK_MAX_RATE_PER_SECOND / WEBHOOK_MAX_BURST)' },
  ),
  previousUrlValidUntil: Type.Union([Type.Integer(), Type.Null()], {
    description: 'epoch milliseconds until which the URL before the last regenerate still works (regenerate with keepOldUrlForHours); null: it does not',
  }),
  signingSecret: Type.String({
    description: 'The secret GitHub signs deliveries with (X-Hub-Signature-256) on the /github URL: 64 hex digits, derived like the token; changes when the URL is regenerated. Keep it secret.',
  }),
  failing: Type.Union(
    [
      Type.Object({
        since: Type.Integer({ description: 'the first failure counted, epoch milliseconds' }),
        failures: Type.Integer({ description: '4xx answers in the notice\'s 10-minute window' }),
        lastStatus: Type.Integer(),
        lastCode: Type.String(),
      }),
      Type.Null(),
    ],
    { description: 'set while the webhook is failing: a failure notice (20 or more 4xx answers in 10 minutes) within the last hour, and no 200 since; null otherwise' },
  ),
});

/** The list, with where its URLs point: the web client warns when that is the default http://localhost:PORT. */
const WebhookList = Type.Object({
  webhooks: Type.Array(Webhook),
  publicUrl: Type.String({ description: 'PUBLIC_URL, the base of every webhook URL (no trailing slash)' }),
  publicUrlSet: Type.Boolean({
    description: 'false when PUBLIC_URL is not set and webhook URLs use the default http://localhost:PORT, which works only on the server\'s own machine',
  }),
});

const NameBody = Type.Object({ name: WebhookName }, { additionalProperties: false });

/** PATCH: a new name, new settings, or both (issue 15). The maximums are the server's, checked by WebhookService. */
const PatchBody = Type.Object(
  {
    name: Type.Optional(WebhookName),
    settings: Type.Optional(
      Type.Object(
        {
          // A number or null (back to the server's default); the maximums are checked by WebhookService.
          ratePerSecond: Type.Optional(
            Type.Unsafe<number | null>({
              type: ['number', 'null'],
              minimum: LIMITS.webhookMinRatePerSecond,
              description: `posts per second, ${LIMITS.webhookMinRatePerSecond} to WEBHOOK_MAX_RATE_PER_SECOND (default 10); null: the server's WEBHOOK_RATE_PER_SECOND`,
            }),
          ),
          burst: Type.Optional(
            Type.Unsafe<number | null>({
              type: ['integer', 'null'],
              minimum: 1,
              description: 'posts at once, 1 to WEBHOOK_MAX_BURST (default 20); null: the server\'s WEBHOOK_BURST',
            }),
          ),
          allowBroadcastMentions: Type.Optional(Type.Boolean({ description: 'false refuses posts using @All or @Present (400 BroadcastNotAllowed)' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Regenerate (issue 15): the body is optional; without it the old URL answers 404 at once, as in Chime. */
const RegenerateBody = Type.Object(
  {
    keepOldUrlForHours: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: LIMITS.webhookKeepOldUrlMaxHours,
        description: `hours the old URL keeps working, 0 to ${LIMITS.webhookKeepOldUrlMaxHours} (default 0: 404 at once); a later regenerate ends it`,
      }),
    ),
  },
  { additionalProperties: false },
);
const WebhookParams = Type.Object({ roomId: Uuid, webhookId: Uuid });

export const webhookRoutes = (rc: RouteContext): FastifyPluginAsyncTypebox => async (app) => {
  const { webhooks } = rc.services;

  app.get('/rooms/:roomId/webhooks', {
    schema: {
      tags: ['webhooks'],
      summary: 'The room\'s webhooks with their URLs (room administrators)',
      params: RoomIdParams,
      response: { 200: WebhookList, ...errors(401, 403, 404) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return { webhooks: await webhooks.list(user, req.params.roomId), publicUrl: rc.config.publicUrl, publicUrlSet: rc.config.publicUrlSet };
  });

  app.post('/rooms/:roomId/webhooks', {
    schema: {
      tags: ['webhooks'],
      summary: `Create a webhook (room administrators; at most ${LIMITS.webhooksPerRoom} per room)`,
      params: RoomIdParams,
      body: NameBody,
      response: { 201: Webhook, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req, reply) => {
    const { user } = await rc.caller(req);
    return reply.code(201).send(await webhooks.create(user, req.params.roomId, req.body.name));
  });

  app.patch('/rooms/:roomId/webhooks/:webhookId', {
    schema: {
      tags: ['webhooks'],
      summary: 'Rename a webhook or change its settings (room administrators); earlier posts keep the old name',
      description:
        'Body {name?, settings?: {ratePerSecond?, burst?, allowBroadcastMentions?}}. ratePerSecond above WEBHOOK_MAX_RATE_PER_SECOND or burst above WEBHOOK_MAX_BURST → 400 InvalidRequest naming the maximum. ' +
        'A change applies to the next post on this server at once, and on other servers within a second.',
      params: WebhookParams,
      body: PatchBody,
      response: { 200: Webhook, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    // The schema checked the shape (ratePerSecond and burst: number or null); WebhookService checks the bounds.
    return webhooks.update(user, req.params.roomId, req.params.webhookId, req.body as WebhookPatch);
  });

  app.delete('/rooms/:roomId/webhooks/:webhookId', {
    schema: {
      tags: ['webhooks'],
      summary: 'Delete a webhook (room administrators); its URL then answers 404',
      params: WebhookParams,
      response: { 204: Type.Null(), ...errors(401, 403, 404) },
    },
  }, async (req, reply) => {
    const { user } = await rc.caller(req);
    await webhooks.delete(user, req.params.roomId, req.params.webhookId);
    return reply.code(204).send(null);
  });

  app.post('/rooms/:roomId/webhooks/:webhookId/regenerate', {
    schema: {
      tags: ['webhooks'],
      summary: 'Give a webhook a new URL (room administrators); the old URL then answers 404, or keeps working for keepOldUrlForHours',
      description:
        'The body may be left out (the same as {"keepOldUrlForHours": 0}: the old URL answers 404 at once, as in Chime). With 1–24 hours, the URL before this one keeps posting until previousUrlValidUntil; ' +
        'only that one: a later regenerate ends its overlap.',
      params: WebhookParams,
      body: RegenerateBody,
      response: { 200: Webhook, ...errors(400, 401, 403, 404) },
    },
    // No body at all is the Chime-like default ({}), not a validation error.
    preValidation: (req, _reply, done) => {
      if (req.body === undefined || req.body === null) (req as { body: unknown }).body = {};
      done();
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return webhooks.regenerate(user, req.params.roomId, req.params.webhookId, req.body.keepOldUrlForHours ?? 0);
  });
};
