/**
 * Response serialization: Fastify's own serializer compiler (fast-json-stringify), but each
 * route's serializers are compiled on their first use rather than when the app starts. Compiling
 * every route's response schemas, and loading fast-json-stringify and Ajv to do it, was about a
 * tenth of the cold start (issue 7); the first response of each route and status pays for its own
 * now (a few milliseconds).
 */
import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';
import type { DeferredCompiles } from './deferred-compiles.js';

type SerializerFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildSerializer'] & {};
type SerializerCompiler = ReturnType<SerializerFactory>;

// The serializer compiler package Fastify itself uses by default, resolved from Fastify's own
// location so that it is always the same copy and version. The built server bundles Fastify but
// not this package (scripts/build-server.mjs), so there too it comes from node_modules.
const requireFromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));

/**
 * For the `schemaController.compilersFactory.buildSerializer` option of Fastify; with `deferred`,
 * the compilations can also be run ahead of first use (DeferredCompiles).
 */
export const buildSerializerOnFirstUse =
  (deferred?: DeferredCompiles): SerializerFactory =>
  (externalSchemas, options) => {
    let compiler: SerializerCompiler | undefined;
    const compile: SerializerCompiler = (route) => {
      compiler ??= (requireFromFastify('@fastify/fast-json-stringify-compiler') as () => SerializerFactory)()(externalSchemas, options);
      return compiler(route);
    };
    return (route) => {
      let serialize: ((data: unknown) => string) | undefined;
      const ahead = () => {
        serialize ??= compile(route);
      };
      deferred?.defer(ahead);
      return (data) => {
        if (!serialize) {
          deferred?.done(ahead);
          serialize = compile(route);
        }
        return serialize(data);
      };
    };
  };
