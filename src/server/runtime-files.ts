/**
 * Where the files that the server opens at run time are: the web client (dist/web) and the module of
 * the SQLite writer thread. This is the one module that knows both ways the server runs:
 *
 * - from source, under tsx (the tests, the bench harness): this file is src/server/runtime-files.ts;
 * - built (`npm run build`, scripts/build-server.mjs): its code is in one of the bundle's files, all
 *   of which sit directly in dist/cli/, beside the writer thread's own entry.
 *
 * Other modules must not locate files from their own `import.meta.url`: in the bundle that is the
 * URL of whichever file esbuild put their code in. (Resolving a package from it, with createRequire,
 * is fine: node_modules is found from any directory of the installation.)
 */
import { fileURLToPath } from 'node:url';

/** Running from source under tsx: only source files end in .ts (the bundle's are .js). */
export const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** dist/ at the root of the repository (or installation): src/server/ → ../../dist/; dist/cli/ → ../. */
const DIST = new URL(FROM_SOURCE ? '../../dist/' : '../', import.meta.url);

/** The web client that Vite builds (vite.config.ts), served at / (http/web-client.ts). */
export const WEB_ROOT = fileURLToPath(new URL('web', DIST));

/**
 * The SQLite writer thread's module (store/dialects/sqlite-appender.ts): its source, or its own entry
 * of the bundle. A worker thread starts from a file, so it is never part of another one.
 */
export const APPEND_WORKER_URL = FROM_SOURCE
  ? new URL('./store/dialects/sqlite-append-worker.ts', import.meta.url)
  : new URL('cli/sqlite-append-worker.js', DIST);
