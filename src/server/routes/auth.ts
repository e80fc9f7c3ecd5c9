/** Setup, sign-in, sign-out and the current user (SPEC 6). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '../http/typebox.js';
import { clearSessionCookie, setSessionCookie } from '../http/auth.js';
import { presentUser } from '../presenters.js';
import { NewUserBody, TokenAndUser, User, errors } from '../http/schemas.js';
import { isAppError } from '../errors.js';
import { SignInThrottle } from '../rate-limit/sign-in-throttle.js';
import type { RouteContext } from './context.js';

export const authRoutes = (rc: RouteContext): FastifyPluginAsyncTypebox => async (app) => {
  const { auth } = rc.services;
  const throttle = new SignInThrottle(rc.clock, (event) =>
    app.log.warn({ securityEvent: 'sign_in_failures', ...event }, 'repeated failed sign-ins: answering 429'),
  );

  app.get('/setup', {
    schema: { tags: ['auth'], summary: 'Whether first-run setup is still open', response: { 200: Type.Object({ needsSetup: Type.Boolean() }) } },
  }, async () => ({ needsSetup: await auth.needsSetup() }));

  app.post('/setup', {
    schema: {
      tags: ['auth'],
      summary: 'Create the first system administrator (only while no user exists)',
      body: NewUserBody,
      response: { 201: TokenAndUser, ...errors(400, 409, 503) },
    },
  }, async (req, reply) => {
    const grant = await auth.setup(req.body);
    setSessionCookie(reply, rc.config, grant.token, grant.expiresAt, rc.clock.now());
    return reply.code(201).send({ token: grant.token, user: presentUser(grant.user) });
  });

  app.post('/auth/login', {
    schema: {
      tags: ['auth'],
      summary: 'Sign in: returns a bearer token and sets the session cookie',
      body: Type.Object({ email: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }),
      response: { 200: TokenAndUser, ...errors(400, 401, 429, 503) },
    },
  }, async (req, reply) => {
    const address = req.socket.remoteAddress ?? 'unknown';
    throttle.check(address, req.body.email);
    let grant;
    try {
      grant = await auth.login(req.body.email, req.body.password);
    } catch (e) {
      if (isAppError(e) && e.code === 'Unauthorized') throttle.failed(address, req.body.email);
      throw e;
    }
    setSessionCookie(reply, rc.config, grant.token, grant.expiresAt, rc.clock.now());
    return { token: grant.token, user: presentUser(grant.user) };
  });

  app.post('/auth/logout', {
    schema: { tags: ['auth'], summary: 'Sign out: revokes the session', response: { 204: Type.Null(), ...errors(401) } },
  }, async (req, reply) => {
    const caller = await rc.caller(req);
    await auth.logout(caller.token);
    clearSessionCookie(reply, rc.config);
    return reply.code(204).send(null);
  });

  app.get('/me', {
    schema: { tags: ['auth'], summary: 'The signed-in user', response: { 200: Type.Object({ user: User }), ...errors(401) } },
  }, async (req) => {
    const caller = await rc.caller(req);
    return { user: presentUser(caller.user) };
  });

};
