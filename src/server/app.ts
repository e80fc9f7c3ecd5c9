/**
 * buildApp(config, deps): the whole HTTP application, without listening, so tests, main.ts and
 * the CLI can build it. Dependencies (store, clock, presence, events, logger) come in from outside.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { fastifyCookie } from '@fastify/cookie';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { AppError } from './errors.js';
import { handleClientError } from './http/client-error.js';
import { handleError, sendAppError } from './http/error-handler.js';
import { installExpectContinue } from './http/expect-continue.js';
import { installRequestHooks } from './http/hooks.js';
import { type Metrics, installMetrics } from './http/metrics.js';
import { recordOpenApiRoutes } from './http/openapi.js';
import { redactUrl } from './http/redact.js';
import { ErrorBody } from './http/schemas.js';
import { DeferredCompiles } from './http/deferred-compiles.js';
import { buildSerializerOnFirstUse } from './http/serialization.js';
import { buildValidator } from './http/validation.js';
import { registerWebClient } from './http/web-client.js';
import { authRoutes } from './routes/auth.js';
import { type Services, makeRouteContext } from './routes/context.js';
import { roomRoutes } from './routes/rooms.js';
import { searchRoutes } from './routes/search.js';
import { messageRoutes } from './routes/messages.js';
import { registerOpsRoutes } from './routes/ops.js';
import { registerStreamRoute } from './routes/stream.js';
import { userRoutes } from './routes/users.js';
import { webhookRoutes } from './routes/webhooks.js';
import { AuthService } from './services/auth-service.js';
import { InProcessBus } from './events/in-process.js';
import type { Bus } from './events/types.js';
import { StreamGateway, type StreamGatewayOptions } from './realtime/gateway.js';
import { InProcessPresence } from './presence/in-process.js';
import type { PresenceTracker } from './presence/types.js';
import { type Clock, type DomainEvent, type EventSink, type ServiceContext, systemClock } from './services/context.js';
import { MessageService } from './services/message-service.js';
import { MessageChangeService } from './services/message-change-service.js';
import { ReadStateService } from './services/read-state.js';
import { RoomService } from './services/room-service.js';
import { SearchService } from './services/search-service.js';
import { UserService } from './services/user-service.js';
import type { Store } from './store/types.js';
import { undecodableWebhookUrlError, webhookEndpoint } from './webhooks/endpoint.js';
import { type FastPath, webhookFastPath } from './webhooks/fast-path.js';
import { WebhookSteps } from './webhooks/steps.js';
import type { WebhookFormatsOptions } from './webhooks/formats/routes.js';
import { MemoryRateLimiter } from './rate-limit/memory.js';
import type { RateLimiter } from './rate-limit/types.js';
import { IdempotencyPurger } from './webhooks/idempotency.js';
import { WebhookService } from './webhooks/webhook-service.js';
import { DeliveryLog } from './webhooks/delivery-log.js';
import { WebhookOpsService } from './webhooks/webhook-ops.js';
import { webhookOpsRoutes } from './routes/webhook-ops.js';
import { EndpointPolicy } from './push/endpoint-policy.js';
import { PushDispatcher, type PushDispatcherOptions, type PushTransport } from './push/dispatcher.js';
import { PushSender } from './push/sender.js';
import { PushService } from './push/push-service.js';
import { type VapidKeys, deriveVapidKeys } from './push/vapid.js';
import { pushRoutes } from './routes/push.js';

/** Slow-client limits for every listener (HTTP here, HTTPS in https-server.ts). */
export const HTTP_TIMEOUTS = Object.freeze({ headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 });

/** The largest request body of the API (webhook URLs have their own 64 KiB limit). */
export const API_BODY_LIMIT = 1024 * 1024;

export interface AppDeps {
  store: Store;
  clock?: Clock;
  /** Who has which room open; default: in this process (presence/in-process.ts). */
  presence?: PresenceTracker;
  /** Where committed events go for live delivery; default: an in-process bus (events/in-process.ts). */
  bus?: Bus;
  /** Also receives every event (besides the bus), e.g. a test recorder. */
  events?: EventSink;
  /** Stream tuning (budget, page size, heartbeat); defaults suit production. */
  stream?: Partial<Pick<StreamGatewayOptions, 'maxBufferedBytes' | 'replayPageSize' | 'heartbeatIntervalMs' | 'firstFrameWaitMs' | 'shutdownGraceMs'>>;
  /** A pino logger; default: Fastify's own at config.logLevel. */
  logger?: Logger;
  /** The server secret webhook tokens are derived from (secret.ts; tests pass TEST_SECRET). */
  secret: Buffer;
  /** Per-webhook rate limit; default: an in-process token bucket from WEBHOOK_RATE_PER_SECOND / WEBHOOK_BURST. */
  rateLimiter?: RateLimiter;
  /**
   * Web Push delivery tuning (push/dispatcher.ts; defaults suit production). `transport` replaces
   * the real sender; `enabled: false` never starts the delivery loops (a node that only serves).
   */
  push?: Partial<PushDispatcherOptions> & { transport?: PushTransport; enabled?: boolean };
  /** The webhook formats (issue 15): e.g. where SNS signing certificates may also come from, in tests. */
  formats?: WebhookFormatsOptions;
}

/** Mutable run state that main.ts flips during shutdown. */
export interface AppState {
  draining: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    carillon: {
      services: Services;
      metrics: Metrics;
      state: AppState;
      context: ServiceContext;
      stream: StreamGateway;
      /** Web Push delivery (started when the server listens, stopped before it closes). */
      push: PushDispatcher;
      /** Route schemas not compiled yet; main.ts compiles them in the background after start-up. */
      schemas: DeferredCompiles;
      /** The request listener of every server (HTTP here, HTTPS in https-server.ts): the webhook fast path, then Fastify. */
      requestListener: (req: IncomingMessage, res: ServerResponse) => void;
    };
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
  // Called only while serving requests, after `app` exists.
  const bus = deps.bus ?? new InProcessBus((err, event) => app.log.error({ err, event: event.type }, 'an event subscriber failed'));
  const presence = deps.presence ?? new InProcessPresence(bus);
  const extra = deps.events;
  // Web Push: the VAPID keys come from the secret (the same on every node), derived on first use.
  let keys: VapidKeys | undefined;
  const vapidKeys = () => (keys ??= deriveVapidKeys(deps.secret));
  const pushPolicy = new EndpointPolicy(config.pushEndpointHosts);
  const context: ServiceContext = {
    config,
    store: deps.store,
    clock,
    presence,
    events: extra ? { publish: (e: DomainEvent) => (bus.publish(e), extra.publish(e)) } : bus,
  };
  const messages = new MessageService(context);
  const services: Services = {
    auth: new AuthService(context),
    users: new UserService(context),
    rooms: new RoomService(context),
    messages,
    messageChanges: new MessageChangeService(context, messages),
    readState: new ReadStateService(context),
    search: new SearchService(context),
    webhooks: new WebhookService(context, deps.secret),
    push: new PushService(context, { keys: vapidKeys, policy: pushPolicy }),
  };

  // The routes' schemas compile on first use, or in the background after start-up (main.ts).
  const schemas = new DeferredCompiles();
  // The webhook fast path (webhooks/fast-path.ts, issue 16) sees each request before Fastify's
  // routing does; it is set once the webhook steps exist, below.
  let fastPath: FastPath | undefined;
  let route: (req: IncomingMessage, res: ServerResponse) => void = () => {
    throw new Error('unreachable: requests arrive only after the app is built');
  };
  const requestListener = (req: IncomingMessage, res: ServerResponse) => {
    if (!fastPath?.(req, res)) route(req, res);
  };
  const app = Fastify({
    // The HTTP server as Fastify would make it (lib/server.js), with the fast path ahead of its handler.
    serverFactory: (handler, opts) => {
      route = handler;
      const server = createServer({ ...HTTP_TIMEOUTS }, requestListener);
      server.keepAliveTimeout = (opts as { keepAliveTimeout?: number }).keepAliveTimeout ?? 72_000;
      server.requestTimeout = HTTP_TIMEOUTS.requestTimeout;
      server.setTimeout(0);
      return server;
    },
    ...(deps.logger ? { loggerInstance: deps.logger.child({}, { serializers: requestSerializers }) as FastifyBaseLogger } : { logger: loggerOptions(config) }),
    genReqId: () => randomUUID(),
    trustProxy: false,
    // We answer 503 ourselves while draining, with the JSON body clients parse.
    return503OnClosing: false,
    // Slow-loris protection: a client gets 10 s to send its headers and 30 s for the whole request.
    connectionTimeout: 0,
    requestTimeout: HTTP_TIMEOUTS.requestTimeout,
    // Node (20) honours requestTimeout only when given to http.createServer: set as a property
    // afterwards, as Fastify does with its own option, a request whose body stalls is never timed
    // out. And it checks both timeouts only every connectionsCheckingInterval (30 s by default, so
    // a 10 s header timeout could take 40 s); check every second.
    http: { ...HTTP_TIMEOUTS },
    bodyLimit: API_BODY_LIMIT,
    // Our validator compiler (http/validation.ts) and Fastify's serializer compiler, both compiling a
    // route's schemas on first use (issue 7, cold start). Given here, not with setValidatorCompiler,
    // Fastify does not load its default Ajv compiler either.
    schemaController: { compilersFactory: { buildValidator: buildValidator(schemas), buildSerializer: buildSerializerOnFirstUse(schemas) } },
    // Requests the HTTP parser refuses still get a JSON {Code, Message} body (webhook clients parse every body).
    clientErrorHandler(this: FastifyInstance, err, socket) {
      handleClientError(err, socket, this.log);
    },
    // A URL the router cannot decode (bad %-escape) gets a {Code, Message} body too, not Fastify's own.
    frameworkErrors(err, req, reply) {
      const e =
        undecodableWebhookUrlError(req.method, req.url) ??
        new AppError('InvalidRequest', `The URL cannot be decoded (${err.code === 'FST_ERR_BAD_URL' ? 'a broken %-escape' : 'malformed'}); check it.`);
      void sendAppError(reply as unknown as FastifyReply, e);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.server.headersTimeout = HTTP_TIMEOUTS.headersTimeout;
  // No "100 Continue" for a body over the limit: the 413 comes first and the body is never sent.
  installExpectContinue(app.server, API_BODY_LIMIT);

  const state: AppState = { draining: false };
  const metrics = installMetrics(app);
  // The live stream (SPEC 5) on this server; main.ts attaches it to the HTTPS server too.
  const stream = new StreamGateway({
    config,
    store: deps.store,
    bus,
    presence,
    auth: services.auth,
    logger: app.log,
    isDraining: () => state.draining,
    parseCookie: (header) => fastifyCookie.parse(header),
    registry: metrics.registry,
    ...deps.stream,
  });
  stream.attach(app.server);
  // Open WebSockets would keep app.close() waiting: close them (1012, reconnect) before the server stops.
  app.addHook('preClose', async () => {
    await stream.close();
  });
  // Web Push delivery (issue 13): woken by every stored message, on any node; runs while the server listens.
  const { transport, enabled = true, ...pushOptions } = deps.push ?? {};
  const push = new PushDispatcher({
    store: deps.store.push,
    presence,
    clock,
    logger: app.log,
    registry: metrics.registry,
    policy: pushPolicy,
    transport:
      transport ??
      new PushSender({ keys: vapidKeys, subject: config.pushSubject, timeoutMs: pushOptions.sendTimeoutMs ?? 10_000, maxSockets: pushOptions.concurrency ?? 8 }),
    options: pushOptions,
  });
  bus.subscribe((event) => {
    if (event.type === 'message.created') push.notify(event.message.roomId);
  });
  if (enabled) app.addHook('onListen', (done) => (push.start(), done()));
  // Claimed, unsent pushes go back to the outbox and in-flight ones finish (bounded) before the store closes.
  app.addHook('preClose', async () => {
    await push.stop();
  });
  // Webhook Idempotency-Keys older than 24 hours (issue 15), purged in bounded batches while the server listens.
  const idempotencyPurger = new IdempotencyPurger({ store: deps.store, clock, logger: app.log });
  app.addHook('onListen', (done) => (idempotencyPurger.start(), done()));
  app.addHook('preClose', async () => {
    await idempotencyPurger.stop();
  });
  // Webhook delivery logs and failure notices (issue 15): rows written after the answers, in batches;
  // what is queued is written when the app closes (after the last request was answered).
  const deliveryLog = new DeliveryLog({ store: deps.store, clock, events: context.events, logger: app.log, registry: metrics.registry });
  app.addHook('onClose', async () => {
    await deliveryLog.close();
  });
  // "Send test message" posts through the webhook's own URL, inside this app.
  const webhookOps = new WebhookOpsService(context, services.webhooks, deliveryLog, ({ path, headers, body }) =>
    app.inject({ method: 'POST', url: path, headers, payload: body }),
  );
  app.decorate('carillon', { services, metrics, state, context, stream, schemas, push, requestListener });

  app.setErrorHandler((err, req, reply) => handleError(err, req, reply));
  // The web client (SPEC 7): static files at /, and index.html for page URLs no route matched.
  const web = await registerWebClient(app);
  app.setNotFoundHandler((req, reply) => {
    if (web?.serveFallback(req, reply)) return reply;
    return sendAppError(reply, new AppError('NotFound', `Nothing at ${req.method} ${redactUrl(req.url).split('?')[0]}; check the path.`));
  });

  installRequestHooks(app, () => state.draining);

  app.addSchema(ErrorBody);
  // The OpenAPI document of every route added from here on, built by @fastify/swagger on its first request.
  const openApi = recordOpenApiRoutes(app, {
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
      // Cookies (the web client's session) matter to the API only: webhook URLs and static files
      // never run the cookie plugin's hooks.
      await api.register(fastifyCookie);
      await api.register(authRoutes(rc));
      await api.register(userRoutes(rc));
      await api.register(roomRoutes(rc));
      await api.register(searchRoutes(rc));
      await api.register(messageRoutes(rc));
      await api.register(webhookRoutes(rc));
      await api.register(webhookOpsRoutes(rc, webhookOps));
      await api.register(pushRoutes(rc));
      api.get('/openapi.json', { schema: { hide: true } }, async () => openApi.document());
      registerStreamRoute(api);
    },
    { prefix: '/api/v1' },
  );

  // The Chime-compatible webhook endpoint: its own body parser and error handler (SPEC 2).
  // The steps of a webhook post, shared by its Fastify routes and the fast path (webhooks/steps.ts).
  const webhookSteps = new WebhookSteps({
    webhooks: services.webhooks,
    messages: services.messages,
    rateLimiter: deps.rateLimiter ?? new MemoryRateLimiter({ clock, ratePerSecond: config.webhookRatePerSecond, burst: config.webhookBurst }),
    ratePerSecond: config.webhookRatePerSecond,
    clock,
    log: app.log,
  });
  await app.register(
    webhookEndpoint({
      steps: webhookSteps,
      webhooks: services.webhooks,
      metrics,
      clock,
      deliveryLog,
      ...(deps.formats ? { formats: deps.formats } : {}),
    }),
  );
  fastPath = webhookFastPath({ steps: webhookSteps, metrics, deliveryLog, log: app.log, isDraining: () => state.draining });

  registerOpsRoutes(app, { store: deps.store, metrics, isDraining: () => state.draining });

  return app as unknown as FastifyInstance;
}
