import assert from 'node:assert/strict';
import { test } from 'node:test';
import fastifySwagger, { type FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import { recordOpenApiRoutes } from './openapi.js';
import { ErrorBody } from './schemas.js';

const options: FastifyDynamicSwaggerOptions = {
  openapi: { openapi: '3.0.3', info: { title: 'T', version: '1' }, components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } },
  refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
};

/** The same app either way: `document` is where @fastify/swagger is registered (or the routes recorded). */
async function build(document: (app: FastifyInstance) => Promise<() => Promise<unknown>>): Promise<unknown> {
  const app = Fastify();
  app.get('/before', async () => 'not documented: added before the plugin');
  app.addSchema(ErrorBody);
  const doc = await document(app);
  const errors = { 400: { $ref: 'Error#' }, 404: { $ref: 'Error#' } };
  await app.register(
    async (api) => {
      api.addSchema({ $id: 'Local', type: 'object', properties: { n: Type.Integer() } });
      api.get('/things', { schema: { tags: ['t'], summary: 'List', querystring: Type.Object({ limit: Type.Optional(Type.Integer()) }), response: { 200: Type.Array(Type.Object({ id: Type.String() })), ...errors } } }, async () => []);
      api.post('/things/:id', { schema: { params: Type.Object({ id: Type.String({ format: 'uuid' }) }), body: Type.Object({ name: Type.String() }, { additionalProperties: false }), response: { 201: { $ref: 'Local#' }, ...errors } } }, async () => ({ n: 1 }));
      api.get('/hidden', { schema: { hide: true } }, async () => 'x');
      api.get('/no-head', { exposeHeadRoute: false, schema: { summary: 'No HEAD' } }, async () => 'x');
      api.get('/doc', { schema: { hide: true } }, async () => doc());
    },
    { prefix: '/api/v1' },
  );
  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));
  await app.ready();
  const body = (await app.inject('/api/v1/doc')).json();
  assert.deepEqual((await app.inject('/api/v1/doc')).json(), body, 'the same document on every request');
  await app.close();
  return body;
}

test('the document built on first request is the one @fastify/swagger builds when registered in the app', async () => {
  const eager = await build(async (app) => {
    await app.register(fastifySwagger, options);
    return async () => app.swagger();
  });
  const lazy = await build(async (app) => {
    const recorded = recordOpenApiRoutes(app, options);
    return () => recorded.document();
  });
  assert.equal(JSON.stringify(lazy), JSON.stringify(eager));
  const paths = Object.keys((lazy as { paths: object }).paths);
  assert.deepEqual(paths, ['/api/v1/things', '/api/v1/things/{id}', '/api/v1/no-head', '/healthz']);
});
