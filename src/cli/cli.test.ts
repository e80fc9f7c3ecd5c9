/**
 * The built CLI (dist/cli/main.js), run as a real process against a temporary DATA_DIR.
 * `npm test` builds first; run `npm run build:server` before running this file alone.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../test-support/backends.js';
import { freePort } from '../test-support/net.js';
import { repoRoot } from '../test-support/shared-dir.js';
import { waitForChildServer } from '../test-support/child-server.js';

const bin = join(repoRoot, 'dist/cli/main.js');

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}


describe('carillon CLI', () => {
  let dataDir: string;
  before(() => {
    assert.ok(existsSync(bin), `${bin} is missing: run npm run build:server (npm test builds)`);
    dataDir = tempDir('carillon-cli-');
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('--help lists every command; each command has its own --help', () => {
    const main = run(['--help']);
    assert.equal(main.code, 0);
    for (const c of ['serve', 'user create', 'room create', 'room add-member', 'backup FILE', 'PORT', 'DATABASE_URL', 'WEBHOOK_RATE_PER_SECOND']) assert.ok(main.out.includes(c), `--help mentions ${c}`);
    for (const args of [['serve', '--help'], ['user', 'create', '--help'], ['room', 'create', '--help'], ['room', 'add-member', '--help'], ['backup', '--help']]) {
      const r = run(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
      assert.match(r.out, /^Usage: carillon/);
    }
    // What the help promises about output is what the next test checks.
    assert.match(run(['user', 'create', '--help']).out, /prints its id alone on standard output/);
    assert.match(run(['room', 'create', '--help']).out, /Prints the room id alone on\nstandard output/);
  });

  test('bad configuration: every problem listed in one message, exit 1', () => {
    const r = run(['--help'], { PORT: 'eighty', WEBHOOK_RATE_PER_SECOND: '0', DATABASE_URL: 'mysql://u:pw@h/db' });
    assert.equal(r.code, 1);
    assert.match(r.err, /PORT \(--port\) must be a port number/);
    assert.match(r.err, /WEBHOOK_RATE_PER_SECOND .* must be a number above 0/);
    assert.match(r.err, /DATABASE_URL .* must be a postgres:\/\/ URL/);
    assert.ok(!r.err.includes(':pw@'), 'passwords in URLs are not echoed');
  });

  test('a DATA_DIR that cannot be created: a sentence and exit 1 at once, for serve and for the admin commands', () => {
    const file = join(dataDir, 'a-file');
    writeFileSync(file, 'x');
    const cases: [string, RegExp][] = [
      // Node's recursive mkdir spun here forever (procfs answers ENOENT under an existing parent).
      ...(existsSync('/proc/self') ? [['/proc/carillon-test/data', /ENOENT: its parent cannot hold directories/] as [string, RegExp]] : []),
      [join(file, 'data'), /ENOTDIR: a file \(not a directory\) is in the way/],
    ];
    for (const [dir, why] of cases) {
      for (const args of [['serve', '--port', '0'], ['room', 'create', 'ops', '--admin', 'ops@example.com']]) {
        const r = run(args, { DATA_DIR: dir });
        assert.equal(r.code, 1, `${args[0]} with DATA_DIR=${dir} ends (status ${r.code}): ${r.err}`);
        assert.match(r.err, new RegExp(`DATA_DIR ${dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} cannot be created`));
        assert.match(r.err, why);
        assert.match(r.err, /set DATA_DIR \(or --data-dir\) to a directory this user can create and write/);
        assert.ok(!r.err.includes('    at '), 'no stack trace');
      }
    }
  });

  test('user create, room create and room add-member work on the data directory', () => {
    const env = { DATA_DIR: dataDir };
    const u1 = run(['user', 'create', '--email', 'Ops@Example.com', '--alias', 'ops', '--display-name', 'Ops Lead', '--password', 'correct horse battery', '--system-admin'], env);
    assert.equal(u1.code, 0, u1.err);
    // stdout is the id alone (USER_ID=$(carillon user create …)); the description is on stderr.
    assert.match(u1.out, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/);
    assert.match(u1.err, /created user ops <ops@example.com> \(system administrator\)/);
    const u2 = run(['user', 'create', '--email', 'dev@example.com', '--alias', 'dev', '--display-name', 'Dev'], { ...env, CARILLON_PASSWORD: 'another good password' });
    assert.equal(u2.code, 0, u2.err);
    assert.match(u2.out, /^[0-9a-f-]{36}\n$/);
    assert.notEqual(u2.out, u1.out);
    const dup = run(['user', 'create', '--email', 'x@example.com', '--alias', 'dev', '--display-name', 'X', '--password', 'correct horse battery'], env);
    assert.equal(dup.code, 2);
    assert.match(dup.err, /alias is already taken/);
    const bad = run(['user', 'create', '--email', 'nope', '--alias', 'Nope', '--display-name', 'X', '--password', 'correct horse battery'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /email/);
    const missing = run(['user', 'create', '--email', 'a@example.com'], env);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /missing --alias, --display-name, --password/);

    const room = run(['room', 'create', 'Deployments', '--admin', 'ops@example.com'], env);
    assert.equal(room.code, 0, room.err);
    // What its --help promises: the room id alone, so ROOM=$(carillon room create …) works.
    assert.match(room.out, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/);
    assert.match(room.err, /created room "Deployments" administered by ops@example.com/);
    const roomId = room.out.trim();
    const add = run(['room', 'add-member', 'Deployments', 'dev@example.com'], env);
    assert.equal(add.code, 0, add.err);
    assert.match(add.out, /added dev@example.com as member/);
    // The id it printed is a room id the other commands take.
    const again = run(['room', 'add-member', roomId, 'dev@example.com'], env);
    assert.equal(again.code, 2);
    assert.match(again.err, /already a member/);
    const noRoom = run(['room', 'add-member', 'Nope', 'dev@example.com'], env);
    assert.equal(noRoom.code, 2);
    assert.match(noRoom.err, /no room with id or name "Nope"/);
    const unknown = run(['frobnicate'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown command/);
  });

  test('serve: starts on the data directory, serves the users the CLI made, drains on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--host', '127.0.0.1'], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    try {
      await waitForChildServer(`http://127.0.0.1:${port}/readyz`, child);
      const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'dev@example.com', password: 'another good password' }),
      });
      assert.equal(login.status, 200);
      const { token } = (await login.json()) as { token: string };
      const rooms = (await (await fetch(`http://127.0.0.1:${port}/api/v1/rooms`, { headers: { authorization: `Bearer ${token}` } })).json()) as { rooms: { name: string; role: string }[] };
      assert.deepEqual(rooms.rooms.map((r) => [r.name, r.role]), [['Deployments', 'member']]);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, out);
  });

  test('serve on an empty data directory says how to finish setup', async () => {
    const fresh = tempDir('carillon-cli-fresh-');
    const port = await freePort();
    const child = spawn(process.execPath, [bin], { env: { PATH: process.env.PATH ?? '', DATA_DIR: fresh, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    try {
      await waitForChildServer(`http://127.0.0.1:${port}/readyz`, child);
      for (let i = 0; i < 50 && !out.includes('create the first administrator'); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, new RegExp(`Open http://localhost:${port}/ in a browser to create the first administrator`));
      assert.ok(existsSync(join(fresh, 'carillon.db')));
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.on('exit', resolve));
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
