/** Users, managed by system administrators (SPEC 6). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '../http/typebox.js';
import { presentUser } from '../presenters.js';
import { NewUserBody, User, errors } from '../http/schemas.js';
import type { RouteContext } from './context.js';

export const userRoutes = (rc: RouteContext): FastifyPluginAsyncTypebox => async (app) => {
  const { users } = rc.services;

  app.post('/users', {
    schema: {
      tags: ['users'],
      summary: 'Create a user (system administrators)',
      body: Type.Object({ ...NewUserBody.properties, isSystemAdmin: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      response: { 201: Type.Object({ user: User }), ...errors(400, 401, 403, 409) },
    },
  }, async (req, reply) => {
    const { user } = await rc.caller(req);
    const created = await users.create(user, req.body);
    return reply.code(201).send({ user: presentUser(created) });
  });

  app.get('/users', {
    schema: { tags: ['users'], summary: 'List users (system administrators)', response: { 200: Type.Object({ users: Type.Array(User) }), ...errors(401, 403) } },
  }, async (req) => {
    const { user } = await rc.caller(req);
    return { users: (await users.list(user)).map(presentUser) };
  });
};
