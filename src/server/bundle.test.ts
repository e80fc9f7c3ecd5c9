/**
 * The built server is the bundle in dist/cli/ (scripts/build-server.mjs, part of `npm run build`):
 * it starts from there, finds its run-time files (the web client, the SQLite writer thread's
 * module) and loads none of the packages it bundles from node_modules, whose many small files were
 * most of the cold start (issue 16, item 6). Run `npm run build` (or `npm run build:server`) before
 * running this file alone.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../test-support/backends.js';
import { freePort } from '../test-support/net.js';
import { repoRoot } from '../test-support/shared-dir.js';
import { APPEND_WORKER_URL, FROM_SOURCE, WEB_ROOT } from './runtime-files.js';
import { waitForChildServer } from '../test-support/child-server.js';

const bundleDir = join(repoRoot, 'dist/cli');
const bin = join(bundleDir, 'main.js');
const metafilePath = join(bundleDir, 'metafile.json');

interface Metafile {
  inputs: Record<string, unknown>;
  outputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[] }>;
}

/** The package a file belongs to: "fastify", "@fastify/static"; undefined outside node_modules. */
function packageOf(file: string): string | undefined {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file.replaceAll('\\', '/'))?.[1];
}

/**
 * Left out of the bundle on purpose (scripts/build-server.mjs), ws's optional native helpers, and Ajv,
 * which http/validation.ts loads from node_modules at the first validation.
 */
const LEFT_OUT = ['better-sqlite3', 'pg', 'ioredis', 'web-push', '@fastify/swagger', '@fastify/ajv-compiler', '@fastify/fast-json-stringify-compiler', 'bufferutil', 'utf-8-validate', 'ajv', 'ajv-formats'];
/** Needed only with DATABASE_URL, REDIS_URL, push subscriptions or a GET /openapi.json: never at start-up. */
const LAZY = ['pg', 'ioredis', 'web-push', '@fastify/swagger'];

/** The packages that `names` need, themselves included, from their package.json files in node_modules. */
function withDependencies(names: string[]): Set<string> {
  const found = new Set<string>();
  const visit = (name: string) => {
    if (found.has(name)) return;
    found.add(name);
    const manifest = join(repoRoot, 'node_modules', name, 'package.json');
    if (!existsSync(manifest)) return; // an optional dependency not installed
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep);
  };
  names.forEach(visit);
  return found;
}

// Loaded into the server with --import: records every file loaded, ES modules through a load hook
// (in the hooks thread) and CommonJS ones from the require cache at exit.
const HOOKS = `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, next) { appendFileSync(log, url + '\\n'); return next(url, context); }`;
const PRELOAD = `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
const log = process.env.CARILLON_TEST_LOAD_LOG;
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}), { data: { log } });
process.on('exit', () => appendFileSync(log, Object.keys(createRequire(process.cwd() + '/').cache).join('\\n') + '\\n'));`;

test('from source, the run-time files are found in the repository', () => {
  assert.equal(FROM_SOURCE, true);
  assert.equal(WEB_ROOT, join(repoRoot, 'dist/web'));
  assert.ok(existsSync(fileURLToPath(APPEND_WORKER_URL)), `${APPEND_WORKER_URL.href} exists`);
});

describe('the built server (dist/cli)', { skip: !existsSync(metafilePath) && 'run npm run build first' }, () => {
  let metafile: Metafile;
  let dataDir: string;
  before(() => {
    metafile = JSON.parse(readFileSync(metafilePath, 'utf8')) as Metafile;
    dataDir = tempDir('carillon-bundle-');
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('imports no package from node_modules except those left out on purpose', () => {
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const imported = new Set<string>();
    for (const output of Object.values(metafile.outputs)) {
      for (const i of output.imports) if (i.external && !builtins.has(i.path)) imported.add(i.path);
    }
    assert.deepEqual([...imported].filter((p) => !LEFT_OUT.includes(p)), []);
    assert.ok(existsSync(join(bundleDir, 'sqlite-append-worker.js')), 'the writer thread has its own entry');
    // The one-file-per-module output of tsc (before the bundle) is gone.
    assert.ok(!existsSync(join(repoRoot, 'dist/server')), 'no dist/server');
  });

  test('starts from the bundle, serves the web client, stores a post through its writer thread, and loads no bundled package from node_modules', async () => {
    const port = await freePort();
    const env = { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PUBLIC_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: 'warn' };
    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `carillon ${args.join(' ')}: ${r.stderr}`);
      return r.stdout.trim();
    };
    cli('user', 'create', '--email', 'ops@example.com', '--alias', 'ops', '--display-name', 'Ops', '--password', 'correct horse battery', '--system-admin');
    cli('room', 'create', 'Builds', '--admin', 'ops@example.com');
    const webhookUrl = cli('webhook', 'create', 'Builds', 'CI');

    const loadLog = join(dataDir, 'loaded.txt');
    const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(PRELOAD)}`, bin, 'serve'], {
      env: { ...env, PORT: String(port), HOST: '127.0.0.1', CARILLON_TEST_LOAD_LOG: loadLog },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    try {
      await waitForChildServer(`http://127.0.0.1:${port}/readyz`, child);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await page.text(), /<script type="module"/);
      // A webhook post is acknowledged only once the writer thread has committed it.
      const post = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Content: 'built and bundled' }) });
      assert.equal(post.status, 200, await post.clone().text());
      assert.match(((await post.json()) as { MessageId: string }).MessageId, /^[0-9a-f-]{36}$/);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, out);

    const loaded = [...new Set(readFileSync(loadLog, 'utf8').split('\n').filter((f) => f.startsWith('file:') || f.startsWith('/')))].map((f) => (f.startsWith('file:') ? fileURLToPath(f) : f));
    const ours = loaded.filter((f) => !packageOf(f));
    assert.ok(ours.includes(bin), 'dist/cli/main.js was loaded');
    assert.deepEqual(ours.filter((f) => !f.startsWith(bundleDir)), [], 'every file of ours came from dist/cli');
    const bundled = new Set(Object.keys(metafile.inputs).map(packageOf).filter((p) => p !== undefined));
    assert.ok(bundled.has('fastify') && bundled.has('kysely') && bundled.has('pino'), 'the bundle holds the packages');
    const fromNodeModules = new Set(loaded.map(packageOf).filter((p) => p !== undefined));
    // A few small packages are both in the bundle (for Fastify) and loaded for the packages left out
    // (Ajv, the serializer compiler): two copies of stateless helpers, loaded after start-up.
    const leftOut = withDependencies(LEFT_OUT);
    assert.deepEqual([...fromNodeModules].filter((p) => bundled.has(p) && !leftOut.has(p)), [], 'no bundled package was loaded from node_modules');
    assert.deepEqual([...fromNodeModules].filter((p) => LAZY.includes(p)), [], 'the lazy packages were not loaded');
  });
});
