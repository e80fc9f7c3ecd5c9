/**
 * Webhooks as an operator sees them: the README's curl command, URLs that survive a restart on the
 * same DATA_DIR, the built-in HTTPS listener, and secrets that never reach a log line, an error body
 * or a byte of the data directory.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { tempDir } from '../../test-support/backends.js';
import { type TestServer, type TestUser, call, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import { StreamClient } from '../../test-support/stream-client.js';
import { fixturePath } from '../../test-support/shared-dir.js';
import {
  FakeClock,
  type RawResponse,
  type TestWebhook,
  createWebhook,
  deleteWebhook,
  portOf,
  rawRequest,
  rawSocket,
  regenerateWebhook,
  sleep,
  storedMessages,
  toTestWebhook,
} from '../../test-support/webhooks.js';
import { loadConfig } from '../config.js';
import { type RunningServer, startServer } from '../main.js';

const execFileAsync = promisify(execFile);
const hasCurl = spawnSync('curl', ['--version']).status === 0;
if (!hasCurl) process.stderr.write('\n*** SKIPPED: the curl test — curl is not installed (apt-get install -y curl) ***\n\n');

describe('the README curl command', () => {
  let s: TestServer;
  let admin: TestUser;
  let roomId: string;
  let hook: TestWebhook;
  before(async () => {
    s = await startTestServer();
    admin = await setupAdmin(s.baseUrl);
    roomId = await createRoom(s.baseUrl, admin, 'Curl');
    hook = await createWebhook(s, admin, roomId, 'Curl bot');
  });
  after(() => s.close());

  test('run as a real curl process, it posts a message', { skip: hasCurl ? false : 'curl is not installed' }, async () => {
    const url = `${s.baseUrl}${hook.path}`;
    // Asynchronously: the server answering curl runs in this very process.
    const { stdout } = await execFileAsync('sh', ['-c', `curl -sS --max-time 20 -X POST -H 'Content-Type: application/json' -d '{"Content":"Hello from curl"}' "$URL"`], {
      env: { ...process.env, URL: url },
      encoding: 'utf8',
    });
    const body = JSON.parse(stdout);
    assert.deepEqual(Object.keys(body).sort(), ['MessageId', 'RoomId']);
    assert.equal(body.RoomId, roomId);
    const messages = await storedMessages(s.backend.store, roomId);
    assert.equal(messages.at(-1)?.id, body.MessageId);
    assert.equal(messages.at(-1)?.content, 'Hello from curl');
  });
});

/** Every file of a directory tree, with its bytes. */
function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const path = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
      return { path, bytes: readFileSync(path) };
    });
}

function assertNoTokenIn(files: { path: string; bytes: Buffer }[], tokens: string[]): void {
  for (const { path, bytes } of files) {
    for (const t of tokens) {
      assert.equal(bytes.includes(Buffer.from(t, 'latin1')), false, `a webhook token is in ${path}`);
      // Also as UTF-16, in case a driver stores text that way.
      assert.equal(bytes.includes(Buffer.from(t, 'utf16le')), false, `a webhook token (UTF-16) is in ${path}`);
    }
  }
}

function httpsPost(port: number, path: string, body: string | Buffer, ca: Buffer, headers: [string, string][] = []): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const data = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const req = https.request({
      host: '127.0.0.1',
      port,
      path,
      method: 'POST',
      servername: 'localhost',
      ca,
      headers: [...headers, ['Host', `localhost:${port}`], ['Content-Length', String(data.length)]].flat(),
      agent: false,
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, text, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

describe('startServer on a DATA_DIR: restart, generated secret, HTTPS', () => {
  const dir = tempDir('carillon-ops-');
  const dataDir = join(dir, 'data');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const logs: string[] = [];
  const logger = pino(
    { level: 'trace' },
    new Writable({
      write(chunk, _enc, cb) {
        logs.push(String(chunk));
        cb();
      },
    }),
  );
  const config = () =>
    loadConfig({ PORT: '0', HOST: '127.0.0.1', HTTPS_PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'trace', TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile }).config;
  let server: RunningServer | undefined;
  let cert: Buffer;
  let admin: TestUser;
  let roomId: string;
  let hook: TestWebhook;
  const tokens: string[] = [];

  before(() => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', keyFile, '-out', certFile, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    cert = readFileSync(certFile);
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const base = () => `http://127.0.0.1:${server!.port}`;

  test('first start: no SECRET, so a secret is generated into DATA_DIR with mode 0600; a webhook posts over HTTP', async () => {
    server = await startServer(config(), { logger });
    const secretFile = join(dataDir, 'secret');
    assert.equal(statSync(secretFile).mode & 0o777, 0o600);
    admin = await setupAdmin(base());
    roomId = await createRoom(base(), admin, 'Restarts');
    const created = await call(base(), 'POST', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token, body: { name: 'Survivor' } });
    assert.equal(created.status, 201);
    hook = toTestWebhook(created.body);
    tokens.push(hook.token);
    const res = await rawRequest(server.port, { path: hook.path, body: '{"Content": "before the restart"}' });
    assert.equal(res.status, 200, res.text);
  });

  test('the HTTPS listener serves the same app: a post made with node:https (self-signed certificate as CA)', async () => {
    assert.ok(server?.httpsPort, 'HTTPS is listening');
    assert.equal(server.servers.length, 2, 'both servers are listed, for WebSocket upgrades on each');
    // A second webhook, so the rate limit of the first does not interfere.
    const w = toTestWebhook((await call(base(), 'POST', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token, body: { name: 'Over TLS' } })).body);
    tokens.push(w.token);
    // The stream over TLS (wss://) on the same port: frames are written to the TLS socket as they are.
    const stream = await StreamClient.ready(`https://127.0.0.1:${server.httpsPort}`, { token: admin.token, ca: cert });
    try {
      const res = await httpsPost(server.httpsPort, w.path, '{"Content": "over https"}', cert, [['Content-Type', 'application/json']]);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(Object.keys(res.json).sort(), ['MessageId', 'RoomId']);
      const live = await stream.waitFor((f) => f.type === 'message.created' && f.message.id === res.json.MessageId, 'the post, live over wss://');
      assert.ok(live.type === 'message.created' && live.message.content === 'over https');
    } finally {
      await stream.close();
    }
    // The HTTPS-only client (AWS's GitHub Action) as recorded, over TLS.
    const fixture = JSON.parse(readFileSync(fixturePath('chime-clients', 'github-action--plain.json'), 'utf8'));
    await sleep(1100); // the rate limit is real here: one post per second per webhook
    const replay = await httpsPost(
      server.httpsPort,
      w.path,
      Buffer.from(fixture.request.bodyBase64, 'base64'),
      cert,
      fixture.request.headers.filter(([n]: [string, string]) => !['host', 'content-length', 'connection'].includes(n.toLowerCase())),
    );
    assert.equal(replay.status, 200, replay.text);
    // Errors over HTTPS are JSON too.
    const bad = await httpsPost(server.httpsPort, `/incomingwebhooks/${w.id}?token=${'Z'.repeat(72)}`, '{"Content": "x"}', cert);
    assert.equal(bad.status, 403);
    assert.equal(bad.json.Code, 'InvalidWebhook');
  });

  test('after a restart on the same DATA_DIR the existing URL still posts, and the list shows the same URL', async () => {
    const before = filesUnder(dataDir);
    const httpsPort = server!.httpsPort!;
    await server!.close();
    // Both listeners are closed.
    await assert.rejects(httpsPost(httpsPort, hook.path, '{}', cert));
    server = await startServer(config(), { logger });
    assert.ok(before.some((f) => f.path.endsWith('secret')));
    const res = await rawRequest(server.port, { path: hook.path, body: '{"Content": "after the restart"}' });
    assert.equal(res.status, 200, res.text);
    const listed = await call(base(), 'GET', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token });
    assert.equal(listed.body.webhooks.find((w: { id: string }) => w.id === hook.id).url, hook.url);
  });

  test('no token in any byte of the data directory (database, WAL, secret) nor in any log line', async () => {
    const regenerated = toTestWebhook((await call(base(), 'POST', `/api/v1/rooms/${roomId}/webhooks/${hook.id}/regenerate`, { token: admin.token })).body);
    tokens.push(regenerated.token);
    await sleep(1100);
    assert.equal((await rawRequest(server!.port, { path: regenerated.path, body: '{"Content": "regenerated"}' })).status, 200);
    assert.equal((await rawRequest(server!.port, { path: hook.path, body: '{"Content": "old"}' })).status, 404);
    assertNoTokenIn(filesUnder(dataDir), tokens);
    await server!.close();
    server = undefined;
    assertNoTokenIn(filesUnder(dataDir), tokens);
    const all = logs.join('');
    for (const t of tokens) assert.ok(!all.includes(t), 'a token is in the logs');
    assert.ok(all.includes('token=REDACTED'), 'webhook requests were logged, redacted');
  });
});

describe('no token in any log line or error body, on every path (LOG_LEVEL trace)', () => {
  let s: TestServer;
  let clock: FakeClock;
  let admin: TestUser;
  let roomId: string;
  const tokens: string[] = [];
  const bodies: string[] = [];

  before(async () => {
    clock = new FakeClock();
    s = await startTestServer({ clock });
    s.app.log.level = 'trace';
    admin = await setupAdmin(s.baseUrl);
    roomId = await createRoom(s.baseUrl, admin, 'Secrets');
  });
  after(() => s.close());

  test('success, 403, 404, 405, 413 (length and chunked), 429, 400, 431, 408, parser errors, broken URLs and draining', async () => {
    const port = portOf(s);
    const hook = await createWebhook(s, admin, roomId, 'Secret keeper');
    const old = await createWebhook(s, admin, roomId, 'Old one');
    const current = await regenerateWebhook(s, admin, roomId, old.id);
    const gone = await createWebhook(s, admin, roomId, 'Gone');
    await deleteWebhook(s, admin, roomId, gone.id);
    tokens.push(hook.token, old.token, current.token, gone.token);
    const [path, query] = hook.path.split('?') as [string, string];
    const send = async (r: Parameters<typeof rawRequest>[1]) => {
      clock.advance(1000);
      const res = await rawRequest(port, r);
      bodies.push(res.text);
      return res;
    };
    const statuses: number[] = [];
    statuses.push((await send({ path: hook.path, body: '{"Content": "fine"}' })).status);
    statuses.push((await send({ path: `${path}?token=${hook.token.slice(0, 71)}`, body: '{}' })).status);
    statuses.push((await send({ path: old.path, body: '{"Content": "old"}' })).status);
    statuses.push((await send({ path: gone.path, body: '{"Content": "gone"}' })).status);
    statuses.push((await send({ method: 'GET', path: hook.path })).status);
    statuses.push((await send({ path: hook.path, body: 'x'.repeat(70_000) })).status);
    statuses.push((await send({ path: hook.path, body: 'x'.repeat(70_000), chunked: true })).status);
    statuses.push((await send({ path: hook.path, body: 'not json' })).status);
    statuses.push((await rawRequest(port, { path: hook.path, body: '{"Content": "throttled"}' })).status);
    statuses.push((await send({ path: `${path}?Token=${hook.token}&token[a]=${hook.token}&x=${hook.token}`, body: '{}' })).status);
    statuses.push((await send({ path: `${path}%3F${query}`, body: '{}' })).status);
    statuses.push((await send({ path: `/incomingwebhooks/%zz?${query}`, body: '{}' })).status);
    statuses.push((await send({ path: `/api/v1/nothing?${query}`, body: '{}' })).status);
    s.app.carillon.state.draining = true;
    statuses.push((await send({ path: hook.path, body: '{"Content": "draining"}' })).status);
    s.app.carillon.state.draining = false;
    assert.deepEqual(statuses, [200, 403, 404, 404, 405, 413, 413, 400, 429, 403, 403, 403, 404, 503]);

    // Paths the HTTP parser answers itself, with the token on the request line.
    const raw = async (text: string, waitMs?: number) => {
      const r = await rawSocket(port, (sock) => sock.write(text), waitMs);
      bodies.push(r.text);
      return r.statuses;
    };
    assert.deepEqual(await raw(`POST ${hook.path}&pad=${'A'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), [431]);
    assert.deepEqual(await raw(`POST ${hook.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`), [400]);
    clock.advance(1000);
    const smuggled = await raw(`POST ${hook.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n{GARBAGE ${hook.token}\r\n\r\n`);
    assert.ok(smuggled.length > 0 && smuggled.every((st) => st === 400), `statuses ${smuggled}`);
    // A slow request: the request line (token included) arrives, the headers never finish; the
    // header timeout (shortened here from 10 s) answers 408 through the parser's error path.
    const saved = s.app.server.headersTimeout;
    s.app.server.headersTimeout = 1_000;
    try {
      assert.deepEqual(await raw(`POST ${hook.path} HTTP/1.1\r\nHost: x\r\nX-Slow: 1`, 15_000), [408]);
    } finally {
      s.app.server.headersTimeout = saved;
    }

    const logs = s.logs.join('');
    assert.ok(logs.includes('"level":10') || logs.includes('"level":20'), 'trace and debug lines were written');
    for (const t of tokens) {
      assert.ok(!logs.includes(t), 'a token is in a log line');
      for (const b of bodies) assert.ok(!b.includes(t), `a token is in an answer: ${b.slice(0, 200)}`);
    }
    assertNoTokenIn(filesUnder(s.backend.dataDir), tokens);
  });
});
