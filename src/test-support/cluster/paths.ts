/** Where the repository and the built server are, and the binaries the multi-node suite needs (PostgreSQL, redis-server, nginx). */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DIST_MAIN = join(REPO_ROOT, 'dist/cli/main.js');
const NGINX_TEMPLATE = join(REPO_ROOT, 'deploy/nginx.conf');

/** An executable by name: an override variable, then PATH, then the sbin directories (Debian puts nginx in /usr/sbin). */
export function findBinary(name: string, override?: string): string | undefined {
  if (override && process.env[override]) return process.env[override];
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export interface ClusterBinaries {
  redisServer: string;
  nginx: string;
}

let warned = false;

/**
 * The binaries when PostgreSQL (CARILLON_TEST_DATABASE_URL), redis-server and nginx are all here;
 * otherwise undefined after a loud skip message, or an Error under CARILLON_REQUIRE_SERVICES=1.
 */
export function clusterBinaries(): ClusterBinaries | undefined {
  const redisServer = findBinary('redis-server', 'CARILLON_REDIS_SERVER');
  const nginx = findBinary('nginx', 'CARILLON_NGINX');
  const missing = [
    !process.env.CARILLON_TEST_DATABASE_URL && 'PostgreSQL (CARILLON_TEST_DATABASE_URL is not set; run: eval "$(scripts/test-services.sh start)")',
    !redisServer && 'redis-server (apt-get install redis-server)',
    !nginx && 'nginx (apt-get install nginx)',
  ].filter((m): m is string => typeof m === 'string');
  if (missing.length === 0) return { redisServer: redisServer!, nginx: nginx! };
  if (process.env.CARILLON_REQUIRE_SERVICES === '1') {
    throw new Error(`CARILLON_REQUIRE_SERVICES=1 but the multi-node suite cannot run without: ${missing.join('; ')}`);
  }
  if (!warned) {
    warned = true;
    process.stderr.write(`\n*** SKIPPED: multi-node tests — missing ${missing.join('; ')} ***\n\n`);
  }
  return undefined;
}

/** The built server entry point; a clear error when `npm run build` has not run. */
export function requireDist(): string {
  if (!existsSync(DIST_MAIN)) {
    throw new Error(`${DIST_MAIN} is missing: the multi-node suite runs the built server. Run \`npm run build\` (or \`npm run build:server\`) first.`);
  }
  const built = statSync(DIST_MAIN).mtimeMs;
  const source = statSync(join(REPO_ROOT, 'src/cli/main.ts')).mtimeMs;
  if (source > built) process.stderr.write(`\n*** WARNING: ${DIST_MAIN} is older than its source; run \`npm run build\` to test the current code ***\n\n`);
  return DIST_MAIN;
}
