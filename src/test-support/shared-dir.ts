import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two levels above this file). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The test data the suites use lives in the repository: bad and hostile inputs in test/vectors,
 * byte-exact requests of real Chime clients in test/fixtures. CARILLON_VECTORS_DIR and
 * CARILLON_FIXTURES_DIR point the same suites at another copy (CI runs them again against the
 * project's shared test vectors, so vectors added there are exercised: `npm run test:vectors`).
 */
export const vectorsDir = process.env.CARILLON_VECTORS_DIR ? resolve(process.env.CARILLON_VECTORS_DIR) : join(repoRoot, 'test/vectors');
export const fixturesDir = process.env.CARILLON_FIXTURES_DIR ? resolve(process.env.CARILLON_FIXTURES_DIR) : join(repoRoot, 'test/fixtures');
if (process.env.CARILLON_VECTORS_DIR || process.env.CARILLON_FIXTURES_DIR) {
  process.stderr.write(`test data from ${vectorsDir} and ${fixturesDir} (not the repository's test/)\n`);
}

function mustExist(p: string, variable: string): string {
  if (!existsSync(p)) throw new Error(`Missing test data ${p}: it ships in the repository (test/); check ${variable} if it is set`);
  return p;
}

/** A file or folder of the test fixtures (e.g. fixturePath('chime-clients')). */
export function fixturePath(...parts: string[]): string {
  return mustExist(join(fixturesDir, ...parts), 'CARILLON_FIXTURES_DIR');
}

export interface TestVector {
  name: string;
  encoding?: 'utf8' | 'base64';
  body: string;
  expect: string;
  method?: string;
  path?: string;
  headers?: Record<string, string> | [string, string][];
  [key: string]: unknown;
}

/** Reads one JSON Lines file of the test vectors (see test/vectors/README.md). */
export function loadVectors(file: string): TestVector[] {
  const text = readFileSync(mustExist(join(vectorsDir, file), 'CARILLON_VECTORS_DIR'), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as TestVector);
}

/** The exact request body bytes of a vector. */
export function vectorBody(v: TestVector): Buffer {
  return v.encoding === 'base64' ? Buffer.from(v.body, 'base64') : Buffer.from(v.body, 'utf8');
}
