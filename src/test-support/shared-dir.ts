import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two levels above this file). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * `shared/` (SPEC, test vectors, Chime client fixtures) lives beside the repository:
 * `../shared` from the root. CARILLON_SHARED_DIR overrides it.
 */
export const sharedDir = process.env.CARILLON_SHARED_DIR ?? resolve(repoRoot, '../shared');

export function sharedPath(...parts: string[]): string {
  const p = join(sharedDir, ...parts);
  if (!existsSync(p)) {
    throw new Error(`Missing shared file ${p}: put shared/ beside the repository or set CARILLON_SHARED_DIR`);
  }
  return p;
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

/** Reads one JSON Lines file of ../shared/test-vectors. */
export function loadVectors(file: string): TestVector[] {
  const text = readFileSync(sharedPath('test-vectors', file), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as TestVector);
}

/** The exact request body bytes of a vector. */
export function vectorBody(v: TestVector): Buffer {
  return v.encoding === 'base64' ? Buffer.from(v.body, 'base64') : Buffer.from(v.body, 'utf8');
}
