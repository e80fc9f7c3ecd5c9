/** Web Push (issue 13): the server's VAPID public key and the caller's own push subscriptions. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '../http/typebox.js';
import { PushPublicKey, PushSubscriptionBody, PushSubscriptionInfo, PushUnsubscribeBody, errors } from '../http/schemas.js';
import type { RouteContext } from './context.js';

export const pushRoutes = (rc: RouteContext): FastifyPluginAsyncTypebox => async (app) => {
  const { push } = rc.services;

  app.get('/push/public-key', {
    schema: {
      tags: ['push'],
      summary: 'The server\'s VAPID public key, for PushManager.subscribe({applicationServerKey}); the same on every node',
      response: { 200: PushPublicKey, ...errors(401) },
    },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return push.publicKey(user);
  });

  app.post('/push-subscriptions', {
    schema: {
      tags: ['push'],
      summary: 'Save this device\'s push subscription (PushSubscription.toJSON()); 201 when new, 200 when refreshed',
      description:
        'One per browser or device; a user may have several (at most 20: past that, the one refreshed longest ago is replaced). ' +
        'Only endpoints of known push services are accepted. The same endpoint sent by another user moves to them. ' +
        'Pushes carry the JSON PushPayload (src/shared/api-types.ts), encrypted (RFC 8291).',
      body: PushSubscriptionBody,
      response: { 200: Type.Object({ subscription: PushSubscriptionInfo }), 201: Type.Object({ subscription: PushSubscriptionInfo }), ...errors(400, 401, 415) },
    },
  }, async (req, reply) => {
    const { user } = await rc.caller(req);
    const { subscription, created } = await push.subscribe(user, req.body);
    return reply.code(created ? 201 : 200).send({ subscription });
  });

  app.delete('/push-subscriptions', {
    schema: {
      tags: ['push'],
      summary: 'Remove this device\'s push subscription, by its endpoint (only the caller\'s own)',
      body: PushUnsubscribeBody,
      response: { 204: Type.Null(), ...errors(400, 401, 404, 415) },
    },
  }, async (req, reply) => {
    const { user } = await rc.caller(req);
    await push.unsubscribe(user, req.body.endpoint);
    return reply.code(204).send(null);
  });
};
