/**
 * Redis for tests: CARILLON_TEST_REDIS_URL (CI and scripts/test-services.sh start one). Missing
 * Redis is a loud skip, or a failure under CARILLON_REQUIRE_SERVICES=1.
 */
export const testRedisUrl = process.env.CARILLON_TEST_REDIS_URL;

/**
 * The test Redis with another database selected (1–15; the servers the tests start use 0). For
 * tests that write the node registry (one sorted set per database, shared by every node on it):
 * there, their nodes do not count among other tests' servers, and a test that moves its own clock
 * evicts no one else's nodes. One database per test file, as files run in parallel. Pub/sub
 * ignores databases.
 */
export function testRedisUrlWithDb(db: number): string {
  const url = new URL(testRedisUrl!);
  url.pathname = `/${db}`;
  return url.toString();
}

export function redisAvailable(): boolean {
  if (testRedisUrl) return true;
  if (process.env.CARILLON_REQUIRE_SERVICES === '1') throw new Error('CARILLON_REQUIRE_SERVICES=1 but CARILLON_TEST_REDIS_URL is not set');
  process.stderr.write('\n*** SKIPPED: Redis tests — CARILLON_TEST_REDIS_URL is not set. Run: eval "$(scripts/test-services.sh start)" ***\n\n');
  return false;
}

/**
 * Waits (polling every 10 ms, at most 5 s) for something a Redis round trip makes true: a
 * message through pub/sub, a write another client reads. Fails with `what` if it never happens.
 */
export async function eventually(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}
