/** Serving the web client: static files, the SPA fallback, the CSP, and an API-only server without a build. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { WEB_CONTENT_SECURITY_POLICY, registerWebClient } from './web-client.js';

async function appWith(root: string): Promise<{ app: FastifyInstance; served: boolean }> {
  const app = Fastify({ logger: false });
  const web = await registerWebClient(app, root);
  app.get('/api/v1/ping', async () => ({ ok: true }));
  app.setNotFoundHandler((req, reply) => {
    if (web?.serveFallback(req, reply)) return reply;
    return reply.code(404).send({ Code: 'NotFound', Message: 'nothing here' });
  });
  await app.ready();
  return { app, served: web !== null };
}

describe('web client serving', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'carillon-web-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Carillon</title><script type="module" src="/assets/app.js"></script>');
    writeFileSync(join(root, 'assets/app.js'), 'console.log(1)');
    writeFileSync(join(root, 'manifest.webmanifest'), '{"name":"Carillon"}');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('without a build, nothing is registered and the API still answers', async () => {
    const { app, served } = await appWith(join(root, 'missing'));
    assert.equal(served, false);
    assert.equal((await app.inject('/api/v1/ping')).statusCode, 200);
    const page = await app.inject('/');
    assert.equal(page.statusCode, 404);
    await app.close();
  });

  test('index.html at / and for page URLs, with the strict CSP; hashed assets are immutable', async () => {
    const { app } = await appWith(root);
    for (const url of ['/', '/rooms/0b7f3d2e-8f64-4b1e-9a57-2f1c3e4d5a6b', '/anything/else?x=1']) {
      const r = await app.inject(url);
      assert.equal(r.statusCode, 200, url);
      assert.match(String(r.headers['content-type']), /^text\/html/, url);
      assert.equal(r.headers['content-security-policy'], WEB_CONTENT_SECURITY_POLICY, url);
      assert.match(r.body, /<title>Carillon<\/title>/);
    }
    const asset = await app.inject('/assets/app.js');
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal((await app.inject('/manifest.webmanifest')).headers['cache-control'], 'no-cache');
    await app.close();
  });

  test('API, webhook, ops and asset URLs never fall back to the page', async () => {
    const { app } = await appWith(root);
    for (const url of ['/api/v1/nothing', '/api', '/incomingwebhooks/abc', '/healthz', '/readyz', '/metrics', '/assets/missing.js']) {
      const r = await app.inject(url);
      assert.equal(r.statusCode, 404, url);
      assert.equal(r.json().Code, 'NotFound', url);
    }
    assert.equal((await app.inject({ method: 'POST', url: '/rooms/x' })).statusCode, 404, 'only GET and HEAD');
    await app.close();
  });
});
