/** Webhook management for room administrators (SPEC 2.5, 6). The rules live in WebhookService. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '../http/typebox.js';
import { LIMITS } from '../../shared/limits.js';
import { RoomIdParams, Uuid, errors } from '../http/schemas.js';
import type { RouteContext } from './context.js';

const WebhookName = Type.String({ minLength: 1, maxLength: LIMITS.webhookNameMaxChars, description: `1 to ${LIMITS.webhookNameMaxChars} characters, unique in the room ignoring case` });

const Webhook = Type.Object({
  id: Type.String(),
  name: Type.String(),
  url: Type.String({ description: '{PUBLIC_URL}/incomingwebhooks/{id}?token={72 letters and digits}: keep it secret' }),
  createdAt: Type.Integer({ description: 'epoch milliseconds' }),
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
      summary: 'Rename a webhook (room administrators); earlier posts keep the old name',
      params: WebhookParams,
      body: NameBody,
      response: { 200: Webhook, ...errors(400, 401, 403, 404, 409) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return webhooks.rename(user, req.params.roomId, req.params.webhookId, req.body.name);
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
      summary: 'Give a webhook a new URL (room administrators); the old URL then answers 404',
      params: WebhookParams,
      response: { 200: Webhook, ...errors(401, 403, 404) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return webhooks.regenerate(user, req.params.roomId, req.params.webhookId);
  });
};
