/**
 * The OpenAPI document (GET /api/v1/openapi.json), built by @fastify/swagger on its first request
 * rather than at start-up: the plugin and the YAML library it loads cost about a tenth of the cold
 * start (issue 7), for a document few clients ever read.
 *
 * `recordOpenApiRoutes` records the routes and shared schemas as @fastify/swagger's own hooks
 * would (every route added after it; the schemas of every instance registered after it, then the
 * root's). The first `document()` call replays them, without handlers or compiled validators,
 * into a throwaway Fastify instance that has @fastify/swagger registered, and keeps the document
 * it builds: the one the plugin would have built in the app itself.
 */
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifySchema, type RouteOptions } from 'fastify';
import type { ValidatorFactory } from './validation.js';

export interface OpenApiDocument {
  /** The document (the same object on every call); loads @fastify/swagger on the first call. */
  document(): Promise<unknown>;
}

/** Call where @fastify/swagger would be registered: routes added before this call are not documented. */
export function recordOpenApiRoutes(app: FastifyInstance, options: FastifyDynamicSwaggerOptions): OpenApiDocument {
  const routes: RouteOptions[] = [];
  const instances: FastifyInstance[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  app.addHook('onRegister', (instance) => {
    instances.push(instance);
  });

  let built: Promise<unknown> | undefined;
  const build = async (): Promise<unknown> => {
    const { default: fastifySwagger } = await import('@fastify/swagger');
    const doc = Fastify({
      // The HEAD routes the app added beside its GET ones are replayed with the rest (the plugin decides which it shows).
      exposeHeadRoutes: false,
      // Only the schemas are read: nothing is validated or serialized here, so the compilers do nothing.
      schemaController: {
        compilersFactory: {
          buildValidator: (() => () => () => true) as unknown as ValidatorFactory,
          buildSerializer: () => () => (data: unknown) => JSON.stringify(data),
        },
      },
    });
    // The shared schemas as @fastify/swagger collects them when the app is ready: each instance's, then the root's.
    const shared = new Map<string, unknown>();
    for (const instance of [...instances, app]) {
      for (const [id, schema] of Object.entries(instance.getSchemas())) shared.set(id, schema);
    }
    for (const schema of shared.values()) doc.addSchema(schema);
    await doc.register(fastifySwagger, options);
    for (const r of routes) {
      doc.route({
        method: r.method,
        url: r.url,
        ...(r.schema ? { schema: r.schema as FastifySchema } : {}),
        ...(r.config ? { config: r.config } : {}),
        ...(r.constraints ? { constraints: r.constraints } : {}),
        ...(r.links ? { links: r.links } : {}),
        handler: async () => null,
      });
    }
    try {
      await doc.ready();
      return doc.swagger();
    } finally {
      await doc.close();
    }
  };
  return {
    document() {
      built ??= build().catch((e: unknown) => {
        built = undefined; // a failure is not cached: the next request tries again
        throw e;
      });
      return built;
    },
  };
}
