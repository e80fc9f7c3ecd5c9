/**
 * The start-up bundles (scripts/bundle-vendor.mjs, vendor.ts): the built server loads Kysely and
 * TypeBox from dist/vendor/ and never from their many-file packages; from source it loads the packages.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requireVendored } from './vendor.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));

test('the built server loads Kysely and TypeBox from the bundles in dist/vendor only', { skip: !existsSync(join(repo, 'dist/vendor')) && 'run npm run build first' }, () => {
  // Loads the built store and routes, then lists which Kysely/TypeBox files were loaded.
  const script = `
    await import('./dist/server/store/open-store.js');
    await import('./dist/server/routes/rooms.js');
    const { createRequire } = await import('node:module');
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => /kysely|typebox/.test(f));
    console.log(JSON.stringify(loaded.map((f) => f.slice(${JSON.stringify(repo.length)}))));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: repo, encoding: 'utf8' });
  const loaded = JSON.parse(out.trim().split('\n').at(-1)!) as string[];
  assert.deepEqual(loaded.sort(), ['dist/vendor/kysely.cjs', 'dist/vendor/typebox.cjs']);
  // And no compiled module imports either package directly (an ES import would load its ES build too).
  const direct = (readdirSync(join(repo, 'dist/server'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.js'))
    .filter((f) => /\bfrom ['"](kysely|@sinclair\/typebox)['"]|import\(['"](kysely|@sinclair\/typebox)['"]\)/.test(readFileSync(join(repo, 'dist/server', f), 'utf8')));
  assert.deepEqual(direct, []);
});

test('from source (no bundle beside it), the package itself is loaded', () => {
  const kysely = requireVendored<{ Kysely: unknown }>('kysely', 'kysely');
  assert.equal(typeof kysely.Kysely, 'function');
});
