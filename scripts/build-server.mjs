#!/usr/bin/env node
// Part of `npm run build` (after `tsc`, which only type-checks): bundles the server and its CLI with
// esbuild into dist/cli/, whose main.js is the `carillon` bin.
//
// Why: Node 20 has no module compile cache, and loading about 200 of our own modules and several
// hundred package files (resolving, reading, compiling each) was most of the cold start (issue 16,
// item 6). `carillon serve` now loads about twenty files.
//
// What it holds:
// - main.js (the CLI), the files it loads for `serve` and the other commands, and one file per lazily
//   imported module (`import()`: the server for `serve`, the PostgreSQL dialect, the distributed
//   mode, HTTPS). Code splitting keeps those lazy: a package that such a module imports, like pg or
//   ioredis, is loaded only when that module is.
// - sqlite-append-worker.js, the SQLite writer thread's module: a worker thread starts from a file
//   of its own (src/server/runtime-files.ts says where it is).
// - Every file sits directly in dist/cli/: src/server/runtime-files.ts relies on it.
//
// Packages left out, loaded from node_modules when first used (EXTERNAL below).
//
// Each bundled CommonJS package's `require` of a Node built-in (or of a package left out) needs a
// real `require` in an ES module: the banner makes one. `__dirname` is not defined in the bundle:
// the only bundled code that uses it is pino's transports (worker threads started from pino's and
// thread-stream's own files), which Carillon does not use.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// Paths below are from the repository root, wherever this script is run from.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
process.chdir(ROOT);

const OUT = 'dist/cli';
const EXTERNAL = [
  // Native: its .node binary is found from its own package directory.
  'better-sqlite3',
  // Needed only with DATABASE_URL, REDIS_URL or push subscriptions: loaded then, as before.
  'pg',
  'ioredis',
  'web-push',
  // Loaded at the first GET /openapi.json (http/openapi.ts); it also reads its own package.json
  // from its directory at run time.
  '@fastify/swagger',
  // Fastify requires these only when no compilers are given; Carillon gives its own
  // (http/validation.ts, http/serialization.ts), which load Ajv and the serializer compiler from
  // node_modules at first use, after start-up.
  '@fastify/ajv-compiler',
  '@fastify/fast-json-stringify-compiler',
];

// Built beside dist/cli and then put in its place, so that no process started meanwhile (a test,
// a second node) finds a half-written bundle; the chunk names change with their contents, and
// the old ones go with the old directory.
const tmp = `${OUT}.new`;
const old = `${OUT}.old`;
for (const dir of [tmp, old]) rmSync(dir, { recursive: true, force: true });
const result = await build({
  entryPoints: { main: 'src/cli/main.ts', 'sqlite-append-worker': 'src/server/store/dialects/sqlite-append-worker.ts' },
  absWorkingDir: ROOT,
  outdir: tmp,
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  banner: { js: "import { createRequire as __carillonCreateRequire } from 'node:module'; const require = __carillonCreateRequire(import.meta.url);" },
  // For `node --enable-source-maps` (stack traces in src/); Node reads them only with that flag.
  sourcemap: 'linked',
  sourcesContent: false,
  metafile: true,
  logLevel: 'warning',
});
// What the bundle holds (inputs, outputs, imports), for src/server/bundle.test.ts and for analysis.
writeFileSync(join(tmp, 'metafile.json'), JSON.stringify(result.metafile));

mkdirSync(dirname(OUT), { recursive: true });
if (existsSync(OUT)) renameSync(OUT, old);
renameSync(tmp, OUT);
rmSync(old, { recursive: true, force: true });
// tsc's output from builds before the bundle (one file per module), and the Kysely/TypeBox bundles
// of that time: nothing loads them any more.
for (const dir of ['dist/server', 'dist/shared', 'dist/vendor']) rmSync(dir, { recursive: true, force: true });

const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
const bytes = files.reduce((n, f) => n + result.metafile.outputs[f].bytes, 0);
console.log(`bundled the server into ${OUT}/: ${files.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
