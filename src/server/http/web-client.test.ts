/**
 * Serving the web client: static files, the SPA fallback, the CSP, and an API-only server without a
 * build; then the real build over real HTTP: precompressed brotli/gzip by Accept-Encoding, cache
 * headers, no source maps, and API/webhook answers left uncompressed (issue 12).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { REPO_ROOT, ensureWebBuild } from '../../test-support/browser.js';
import { type TestServer, call, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import { createWebhook, portOf } from '../../test-support/webhooks.js';
import { WEB_CONTENT_SECURITY_POLICY, registerWebClient } from './web-client.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';

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
    writeFileSync(join(root, 'assets/app.js.br'), brotliCompressSync('console.log(1)'));
    writeFileSync(join(root, 'assets/app.js.gz'), gzipSync('console.log(1)'));
    // Present on disk, yet never served: a source map and the compressed copies by their own names.
    writeFileSync(join(root, 'assets/app.js.map'), '{"version":3,"sources":["secret.ts"]}');
    writeFileSync(join(root, 'app.js.map'), '{"version":3}');
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
    assert.equal(asset.headers['cache-control'], IMMUTABLE);
    assert.equal(asset.headers['content-encoding'], undefined);
    assert.equal(asset.body, 'console.log(1)');
    assert.equal((await app.inject('/manifest.webmanifest')).headers['cache-control'], 'no-cache');
    await app.close();
  });

  test('the precompressed copy by Accept-Encoding, preferences and q=0 included; the file itself otherwise', async () => {
    const { app } = await appWith(root);
    const cases: [string | undefined, string | undefined][] = [
      ['gzip, deflate, br', 'br'],
      ['br', 'br'],
      ['gzip', 'gzip'],
      ['br;q=0, gzip', 'gzip'],
      ['gzip;q=0.5, br;q=0.1', 'gzip'],
      ['*', 'gzip'], // @fastify/static reads "anything" as gzip, the encoding every client decodes
      ['deflate', undefined],
      ['identity', undefined],
      [undefined, undefined],
    ];
    for (const [accept, expected] of cases) {
      const r = await app.inject({ url: '/assets/app.js', headers: accept === undefined ? {} : { 'accept-encoding': accept } });
      assert.equal(r.statusCode, 200, String(accept));
      assert.equal(r.headers['content-encoding'], expected, String(accept));
      assert.match(String(r.headers['content-type']), /^(?:text|application)\/javascript/, String(accept));
      assert.equal(r.headers.vary, 'Accept-Encoding', String(accept));
      assert.equal(r.headers['cache-control'], IMMUTABLE, String(accept));
      const decoded = expected === 'br' ? brotliDecompressSync(r.rawPayload) : expected === 'gzip' ? gunzipSync(r.rawPayload) : r.rawPayload;
      assert.equal(decoded.toString(), 'console.log(1)', String(accept));
    }
    await app.close();
  });

  test('API, webhook, ops and asset URLs never fall back to the page', async () => {
    const { app } = await appWith(root);
    const urls = ['/api/v1/nothing', '/api', '/incomingwebhooks/abc', '/healthz', '/readyz', '/metrics', '/assets/missing.js'];
    // Source maps and the compressed copies exist in this root, and are refused all the same.
    urls.push('/assets/app.js.map', '/app.js.map', '/nothing.map', '/assets/app.js.br', '/assets/app.js.gz', '/index.html.br');
    for (const url of urls) {
      const r = await app.inject(url);
      assert.equal(r.statusCode, 404, url);
      assert.equal(r.json().Code, 'NotFound', url);
    }
    assert.equal((await app.inject({ method: 'POST', url: '/rooms/x' })).statusCode, 404, 'only GET and HEAD');
    await app.close();
  });
});

/** One GET with node:http, which sends no Accept-Encoding unless told and does not decode: the bytes as sent. */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function decode(encoding: string | undefined, body: Buffer): Buffer {
  if (encoding === 'br') return brotliDecompressSync(body);
  if (encoding === 'gzip') return gunzipSync(body);
  assert.equal(encoding, undefined, `unexpected content-encoding ${encoding}`);
  return body;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? filesUnder(join(dir, name)) : [join(dir, name)]));
}

describe('the built web client over HTTP (issue 12)', () => {
  const webRoot = join(REPO_ROOT, 'dist/web');
  let s: TestServer;
  let port: number;
  /** The hashed script and stylesheet index.html loads, e.g. /assets/index-abc123.js. */
  let js: string;
  let css: string;

  before(async () => {
    await ensureWebBuild();
    s = await startTestServer({ env: { LOG_LEVEL: 'warn' } });
    port = portOf(s);
    const html = readFileSync(join(webRoot, 'index.html'), 'utf8');
    js = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1] ?? assert.fail(`no script in ${html}`);
    css = /<link[^>]+href="(\/assets\/[^"]+\.css)"/.exec(html)?.[1] ?? assert.fail(`no stylesheet in ${html}`);
  });
  after(() => s?.close());

  test('script and stylesheet: brotli or gzip by Accept-Encoding, identity without; the same bytes; immutable; Vary', async () => {
    for (const asset of [js, css]) {
      const file = readFileSync(join(webRoot, asset));
      for (const [accept, expected] of [
        ['gzip, deflate, br, zstd', 'br'],
        ['gzip, deflate', 'gzip'],
        ['identity', undefined],
        [undefined, undefined],
      ] as const) {
        const what = `${asset} with Accept-Encoding: ${accept ?? '(none)'}`;
        const r = await get(port, asset, accept ? { 'accept-encoding': accept } : {});
        assert.equal(r.status, 200, what);
        assert.equal(r.headers['content-encoding'], expected, what);
        assert.equal(r.headers['cache-control'], IMMUTABLE, what);
        assert.match(String(r.headers.vary), /accept-encoding/i, what);
        assert.match(String(r.headers['content-type']), asset.endsWith('.js') ? /javascript/ : /^text\/css/, what);
        assert.equal(Number(r.headers['content-length']), r.body.length, what);
        if (expected) assert.ok(r.body.length < file.length / 2, `${what}: ${r.body.length} bytes sent for ${file.length}`);
        assert.ok(decode(expected, r.body).equals(file), `${what}: the decoded bytes are the file's`);
      }
    }
  });

  test('index.html, the page fallback, the manifest and icons: compressed, no-cache; the CSP on HTML', async () => {
    const index = readFileSync(join(webRoot, 'index.html'));
    for (const [path, accept, expected] of [
      ['/', 'gzip, deflate, br', 'br'],
      ['/rooms/0b7f3d2e-8f64-4b1e-9a57-2f1c3e4d5a6b', 'gzip', 'gzip'],
      ['/rooms/0b7f3d2e-8f64-4b1e-9a57-2f1c3e4d5a6b', undefined, undefined],
    ] as const) {
      const r = await get(port, path, accept ? { 'accept-encoding': accept } : {});
      assert.equal(r.status, 200, path);
      assert.equal(r.headers['content-encoding'], expected, path);
      assert.equal(r.headers['cache-control'], 'no-cache', path);
      assert.equal(r.headers['content-security-policy'], WEB_CONTENT_SECURITY_POLICY, path);
      assert.match(String(r.headers['content-type']), /^text\/html/, path);
      assert.ok(decode(expected, r.body).equals(index), `${path}: index.html`);
    }
    const manifest = await get(port, '/manifest.webmanifest', { 'accept-encoding': 'br' });
    assert.equal(manifest.headers['content-encoding'], 'br');
    assert.equal(manifest.headers['cache-control'], 'no-cache');
    assert.equal(JSON.parse(decode('br', manifest.body).toString()).name, 'Carillon');
    // PNG icons are compressed already: sent as they are, whatever the client accepts.
    const icon = await get(port, '/icons/icon-192.png', { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(icon.status, 200);
    assert.equal(icon.headers['content-encoding'], undefined);
    assert.equal(icon.headers['cache-control'], 'no-cache');
    assert.ok(icon.body.equals(readFileSync(join(webRoot, 'icons/icon-192.png'))));
  });

  test('no source maps are served: none in dist/web, no sourceMappingURL in the JS, and *.map answers a JSON 404', async () => {
    const files = filesUnder(webRoot);
    assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'dist/web holds no source map');
    const scripts = files.filter((f) => f.endsWith('.js'));
    assert.ok(scripts.length > 0);
    for (const f of scripts) assert.doesNotMatch(readFileSync(f, 'utf8'), /sourceMappingURL/, f);
    // Developers keep them outside the served directory.
    assert.ok(existsSync(join(REPO_ROOT, 'dist/web-sourcemaps', `${js}.map`)), 'the map of the script is in dist/web-sourcemaps');
    const name = js.slice('/assets/'.length);
    for (const path of [`${js}.map`, `/${name}.map`, '/main.tsx.map', `${js}.br`, `${css}.gz`]) {
      const r = await get(port, path, { 'accept-encoding': 'gzip, deflate, br' });
      assert.equal(r.status, 404, path);
      assert.match(String(r.headers['content-type']), /^application\/json/, path);
      assert.equal(r.headers['content-encoding'], undefined, path);
      const body = JSON.parse(r.body.toString()) as { Code: string; Message: string };
      assert.equal(body.Code, 'NotFound', path);
      assert.equal(typeof body.Message, 'string', path);
    }
  });

  test('API and webhook answers are never compressed, whatever Accept-Encoding says', async () => {
    const admin = await setupAdmin(s.baseUrl);
    const roomId = await createRoom(s.baseUrl, admin, 'Deployments');
    const hook = await createWebhook(s, admin, roomId, 'CI');
    const all = 'gzip, deflate, br';
    const api = await get(port, '/api/v1/setup', { 'accept-encoding': all });
    assert.equal(api.status, 200);
    assert.equal(api.headers['content-encoding'], undefined);
    assert.equal(api.headers.vary, undefined);
    assert.deepEqual(JSON.parse(api.body.toString()), { needsSetup: false });
    const post = await call(s.baseUrl, 'POST', hook.path, { body: { Content: 'hello' }, headers: { 'accept-encoding': all } });
    assert.equal(post.status, 200, post.text);
    assert.equal(post.headers.get('content-encoding'), null);
    assert.equal(post.headers.get('vary'), null);
    assert.equal(post.body.RoomId, roomId);
  });
});
