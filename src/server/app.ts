/**
 * buildApp(config, deps): the whole HTTP application, without listening, so tests, main.ts and
 * the CLI can build it. Dependencies (store, clock, presence, events, logger) come in from outside.
 */
import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { AppError } from './errors.js';
import { errorBody, handleError } from './http/error-handler.js';
import { type Metrics, installMetrics } from './http/metrics.js';
import { redactUrl } from './http/redact.js';
import { ErrorBody } from './http/schemas.js';
import { validatorCompiler } from './http/validation.js';
import { authRoutes } from './routes/auth.js';
import { type Services, makeRouteContext } from './routes/context.js';
import { roomRoutes } from './routes/rooms.js';
import { userRoutes } from './routes/users.js';
import { AuthService } from './services/auth-service.js';
import { type Clock, type EventSink, type PresenceReader, type ServiceContext, discardEvents, nobodyPresent, systemClock } from './services/context.js';
import { MessageService } from './services/message-service.js';
import { RoomService } from './services/room-service.js';
import { UserService } from './services/user-service.js';
import type { Store } from './store/types.js';

export interface AppDeps {
  store: Store;
  clock?: Clock;
  presence?: PresenceReader;
  events?: EventSink;
  /** A pino logger; default: Fastify's own at config.logLevel. */
  logger?: Logger;
}

/** Mutable run state that main.ts flips during shutdown. */
export interface AppState {
  draining: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    carillon: { services: Services; metrics: Metrics; state: AppState; context: ServiceContext };
  }
}

export function loggerOptions(config: Config): FastifyServerOptions['logger'] {
  return { level: config.logLevel, serializers: requestSerializers };
}

/** Every logged request goes through here: the URL with its token redacted, never headers or bodies. */
export const requestSerializers = {
  req(req: { method: string; url: string; id?: string; ip?: string; socket?: { remoteAddress?: string } }) {
    return { method: req.method, url: redactUrl(req.url), remoteAddress: req.ip ?? req.socket?.remoteAddress };
  },
};

export async function buildApp(config: Config, deps: AppDeps): Promise<FastifyInstance> {
  const clock = deps.clock ?? systemClock;
  const context: ServiceContext = {
    config,
    store: deps.store,
    clock,
    presence: deps.presence ?? nobodyPresent,
    events: deps.events ?? discardEvents,
  };
  const services: Services = {
    auth: new AuthService(context),
    users: new UserService(context),
    rooms: new RoomService(context),
    messages: new MessageService(context),
  };

  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger.child({}, { serializers: requestSerializers }) as FastifyBaseLogger } : { logger: loggerOptions(config) }),
    genReqId: () => randomUUID(),
    trustProxy: false,
    // We answer 503 ourselves while draining, with the JSON body clients parse.
    return503OnClosing: false,
    // Slow-loris protection: a client gets 10 s to send its headers and 30 s for the whole request.
    connectionTimeout: 0,
    requestTimeout: 30_000,
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.server.headersTimeout = 10_000;

  const state: AppState = { draining: false };
  const metrics = installMetrics(app);
  app.decorate('carillon', { services, metrics, state, context });

  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler((err, req, reply) => handleError(err, req, reply));
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).type('application/json').send(errorBody('NotFound', `Nothing at ${req.method} ${redactUrl(req.url).split('?')[0]}; check the path.`)),
  );

  // While draining after SIGTERM, new requests get a JSON 503 so clients retry elsewhere (SPEC 9).
  app.addHook('onRequest', async (req) => {
    if (state.draining && req.url !== '/healthz') {
      throw new AppError('ServiceUnavailable', 'This server is shutting down; retry in a moment.', { 'retry-after': '1', connection: 'close' });
    }
  });

  // Security headers on everything (RELIABILITY S10): webhook URLs carry secrets, so never leak a referrer.
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    if (req.url.startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  await app.register(fastifyCookie);
  app.addSchema(ErrorBody);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Carillon API',
        version: '1',
        description: 'Team chat with Amazon Chime-compatible incoming webhooks. Errors are {Code, Message}. Authenticate with Authorization: Bearer <token> (from /api/v1/auth/login) or the session cookie.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });

  const rc = makeRouteContext(config, clock, services);
  await app.register(
    async (api) => {
      // Only JSON bodies: a cross-site form can send text/plain without a preflight, never application/json.
      api.removeContentTypeParser('text/plain');
      await api.register(authRoutes(rc));
      await api.register(userRoutes(rc));
      await api.register(roomRoutes(rc));
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: '/api/v1' },
  );

  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['ops'], summary: 'Readiness: storage reachable and not draining' } }, async () => {
    if (state.draining) throw new AppError('ServiceUnavailable', 'This node is shutting down; retry on another node.', { 'retry-after': '1' });
    if (!(await deps.store.ping())) throw new AppError('ServiceUnavailable', 'The database is unreachable; retry after the time in Retry-After.', { 'retry-after': '5' });
    return { status: 'ready' };
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  return app as unknown as FastifyInstance;
}
