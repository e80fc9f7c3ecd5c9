/**
 * The webhook commands of the built CLI (`node dist/cli/main.js`), run as processes against a running
 * server on a temporary DATA_DIR: `webhook create`, `webhook list` (on the same store and secret as
 * the running server) and `post` (over HTTP, honouring Retry-After). The server's rate limiter is
 * scripted, so "throttled" does not depend on how fast a CLI process starts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type TestServer, type TestUser, TEST_SECRET, call, createRoom, setupAdmin, startTestServer } from '../../test-support/server.js';
import { repoRoot } from '../../test-support/shared-dir.js';
import type { RateDecision, RateLimiter } from '../rate-limit/types.js';

const run = promisify(execFile);
const cliPath = join(repoRoot, 'dist', 'cli', 'main.js');

/** Allows everything, except the answers a test scripts for a webhook: throttled, or the limiter down (→ 503). */
class ScriptedLimiter implements RateLimiter {
  readonly script = new Map<string, ('throttle' | 'fail')[]>();
  async take(key: string): Promise<RateDecision> {
    const next = this.script.get(key)?.shift();
    if (next === 'fail') throw new Error('rate limiter unreachable');
    return next === 'throttle' ? { ok: false, retryAfterSeconds: 1, limit: 1, remaining: 0, resetSeconds: 1 } : { ok: true, limit: 1, remaining: 0, resetSeconds: 1 };
  }
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('carillon webhook create / list and carillon post, against a running server', () => {
  const limiter = new ScriptedLimiter();
  let s: TestServer;
  let base: string;
  let admin: TestUser;
  let roomId: string;
  let env: NodeJS.ProcessEnv;

  const cli = async (...args: string[]): Promise<CliResult> => {
    try {
      const { stdout, stderr } = await run(process.execPath, [cliPath, ...args], { env, cwd: repoRoot, timeout: 60_000 });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
    }
  };

  before(async () => {
    // The CLI under test is the built one (package.json "bin"): bundle it first (without tsc's type
    // check, which `npm run build` adds: another part of the tree may not compile yet).
    await run(process.execPath, ['scripts/build-server.mjs'], { cwd: repoRoot, timeout: 300_000 });
    assert.ok(existsSync(cliPath), 'dist/cli was built');
    s = await startTestServer({ rateLimiter: limiter });
    base = s.baseUrl;
    admin = await setupAdmin(base);
    roomId = await createRoom(base, admin, 'Ops');
    // The server's DATA_DIR (its SQLite store) and secret; nothing else inherited from this shell.
    env = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: s.backend.dataDir, SECRET: TEST_SECRET, PUBLIC_URL: base, LOG_LEVEL: 'warn' };
  });
  after(() => s?.close());

  let url: string;
  let ciUrl: string;

  test('webhook create ROOM NAME prints the URL alone; ROOM is a unique name or an id', async () => {
    const byName = await cli('webhook', 'create', 'Ops', 'Deploy bot');
    assert.equal(byName.code, 0, byName.stderr);
    // Exactly the URL and a newline, so WEBHOOK_URL=$(carillon webhook create …) works; the rest is on stderr.
    assert.match(byName.stdout, new RegExp(`^${base.replace(/[.]/g, '\\.')}/incomingwebhooks/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\\?token=[A-Za-z0-9]{72}\n$`));
    url = byName.stdout.slice(0, -1);
    assert.match(byName.stderr, new RegExp(`created webhook "Deploy bot" \\(id [0-9a-f-]{36}\\) in room ${roomId}; .*keep it secret`));
    assert.ok(!byName.stderr.includes(url.split('token=')[1]!), 'the token is printed once, on stdout');
    const byId = await cli('webhook', 'create', roomId, 'CI bot');
    assert.equal(byId.code, 0, byId.stderr);
    assert.match(byId.stdout, /^http:\/\/\S+\n$/);
    ciUrl = byId.stdout.slice(0, -1);
    // The server lists them with the same URLs: one secret, one store.
    const listed = await call(base, 'GET', `/api/v1/rooms/${roomId}/webhooks`, { token: admin.token });
    const tokens = listed.body.webhooks.map((w: { url: string }) => w.url.split('?')[1]);
    assert.deepEqual(tokens, [url.split('?')[1], byId.stdout.trim().split('?')[1]]);
  });

  test('webhook list ROOM prints ID, NAME and URL per line', async () => {
    const r = await cli('webhook', 'list', 'Ops');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.deepEqual(lines.map((l) => l[1]), ['Deploy bot', 'CI bot']);
    assert.equal(lines[0]![2], url);
    assert.ok(url.includes(lines[0]![0]!));
  });

  test('post URL TEXT posts and prints the MessageId alone', async () => {
    const r = await cli('post', url, 'Hello from the CLI');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[0-9a-f-]{36}\n$/);
    const id = r.stdout.trim();
    const messages = (await call(base, 'GET', `/api/v1/rooms/${roomId}/messages`, { token: admin.token })).body.messages;
    const m = messages.find((x: { id: string }) => x.id === id);
    assert.equal(m.content, 'Hello from the CLI');
    assert.deepEqual(m.sender.name, 'Deploy bot');
  });

  test('post --key KEY updates the message posted with that key (same MessageId, new text, edited)', async () => {
    const first = await cli('post', '--key', 'backup-nightly', url, ':hourglass: backup running');
    assert.equal(first.code, 0, first.stderr);
    const second = await cli('post', url, ':white_check_mark: backup done', '--key', 'backup-nightly');
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, first.stdout, 'the same message');
    const m = (await call(base, 'GET', `/api/v1/rooms/${roomId}/messages/${first.stdout.trim()}`, { token: admin.token })).body.message;
    assert.equal(m.content, ':white_check_mark: backup done');
    assert.equal(typeof m.editedAt, 'number');
    const bad = await cli('post', '--key', '', url, 'x');
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--key must be 1 to 128 characters/);
  });

  test('throttled: with --retries 0 it exits 1 with the server\'s Message; by default it waits Retry-After and posts', async () => {
    const id = new URL(url).pathname.split('/').at(-1)!;
    limiter.script.set(id, ['throttle']);
    const refused = await cli('post', '--retries', '0', url, 'too soon');
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /More than 1 request per second for this webhook.*\(429 Throttled\)/);
    assert.equal(refused.stdout, '');
    limiter.script.set(id, ['throttle', 'fail']);
    const waited = await cli('post', url, 'after waiting');
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stderr, /429 Throttled: .* Retrying in 1 s \(1\/3\)/);
    assert.match(waited.stderr, /503 ServiceUnavailable: .* Retrying in 1 s \(2\/3\)/);
    assert.match(waited.stdout.trim(), /^[0-9a-f-]{36}$/);
    const messages = (await call(base, 'GET', `/api/v1/rooms/${roomId}/messages`, { token: admin.token })).body.messages;
    assert.equal(messages.find((x: { id: string }) => x.id === waited.stdout.trim()).content, 'after waiting');
    assert.ok(!messages.some((x: { content: string }) => x.content === 'too soon'));
  });

  test('retries are bounded: still throttled after --retries N → exit 1', async () => {
    const id = new URL(url).pathname.split('/').at(-1)!;
    limiter.script.set(id, ['throttle', 'throttle', 'throttle']);
    const r = await cli('post', '--retries', '2', url, 'never');
    assert.equal(r.code, 1);
    assert.equal((r.stderr.match(/Retrying in/g) ?? []).length, 2);
    assert.match(r.stderr, /\(429 Throttled\)\n$/);
  });

  test('refused posts exit 1 with the server\'s Message, never the token', async () => {
    const wrong = url.replace(/token=.*/, `token=${'Q'.repeat(72)}`);
    const r = await cli('post', wrong, 'x');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /does not match any webhook.*\(403 InvalidWebhook\)/);
    const tooLong = await cli('post', ciUrl, 'x'.repeat(4097));
    assert.equal(tooLong.code, 1);
    assert.match(tooLong.stderr, /limit is 4096 characters.*\(413 PayloadTooLarge\)/);
    const unreachable = await cli('post', `http://127.0.0.1:1/incomingwebhooks/x?token=${'R'.repeat(72)}`, 'x');
    assert.equal(unreachable.code, 1);
    assert.ok(!unreachable.stderr.includes('R'.repeat(72)), 'the token is not printed');
    assert.match(unreachable.stderr, /could not post to .*token=REDACTED/);
  });

  test('usage errors exit 2 with a sentence', async () => {
    const noRoom = await cli('webhook', 'create', 'No such room', 'x');
    assert.equal(noRoom.code, 2);
    assert.match(noRoom.stderr, /no room with id or name "No such room"/);
    const blank = await cli('webhook', 'create', 'Ops', '   ');
    assert.equal(blank.code, 2);
    assert.match(blank.stderr, /name must not be blank/);
    const missing = await cli('post', url);
    assert.equal(missing.code, 2);
    const notUrl = await cli('post', 'not a url', 'x');
    assert.equal(notUrl.code, 2);
  });

  test('every command has --help, and carillon --help lists them', async () => {
    for (const [args, usage] of [
      [['webhook', 'create', '--help'], /^Usage: carillon webhook create ROOM NAME/],
      [['webhook', 'list', '--help'], /^Usage: carillon webhook list ROOM/],
      [['post', '--help'], /^Usage: carillon post URL TEXT/],
    ] as const) {
      const r = await cli(...args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, usage);
    }
    // The output the help promises is the output the tests above check.
    assert.match((await cli('webhook', 'create', '--help')).stdout, /prints its URL alone on\nstandard output/);
    assert.match((await cli('post', '--help')).stdout, /prints the MessageId alone on standard output/);
    const main = await cli('--help');
    for (const line of [/webhook create ROOM NAME/, /webhook list ROOM/, /post URL TEXT/]) assert.match(main.stdout, line);
  });
});
