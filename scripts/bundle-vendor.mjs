#!/usr/bin/env node
// Part of `npm run build`: bundles the CommonJS builds of Kysely and TypeBox into one file each,
// dist/vendor/<name>.cjs, which the server loads instead of the packages' few hundred small files
// (src/server/vendor.ts). On Node 20, which has no module compile cache, loading those files was
// about 120 ms each at start-up, and the bundles load in 20–35 ms (issue 7, cold start < 1 s).
// The code is the packages' own, from node_modules, unchanged; only the files are joined.
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);
const VENDORED = { kysely: 'kysely', typebox: '@sinclair/typebox' };

rmSync('dist/vendor', { recursive: true, force: true });
for (const [name, pkg] of Object.entries(VENDORED)) {
  await build({
    entryPoints: [require.resolve(pkg)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: `dist/vendor/${name}.cjs`,
    logLevel: 'warning',
    legalComments: 'inline',
  });
}
console.log(`bundled ${Object.keys(VENDORED).join(', ')} into dist/vendor/`);
