/**
 * Loads a package through its bundle in dist/vendor/ when there is one (scripts/bundle-vendor.mjs,
 * part of `npm run build`), else through the package itself (running from source, as the tests do).
 * The bundle is the package's own CommonJS build joined into one file, which Node 20 loads several
 * times faster than its many small files (issue 7, cold start).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** `name` is the bundle's name (dist/vendor/<name>.cjs), `pkg` the package it is built from. */
export function requireVendored<T>(name: string, pkg: string): T {
  // This module is dist/server/vendor.js once built: the bundles are in dist/vendor/.
  const bundle = fileURLToPath(new URL(`../vendor/${name}.cjs`, import.meta.url));
  return (existsSync(bundle) ? require(bundle) : require(pkg)) as T;
}
