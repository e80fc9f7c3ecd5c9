#!/usr/bin/env node
// Runs every *.test.ts under src/ (or the files given) with Node's own test runner, loading
// TypeScript through tsx. Each file runs in its own process; files that need PostgreSQL,
// Redis or Chromium skip loudly when those are not available (see src/test-support/).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const args = process.argv.slice(2);
const files = args.length > 0 ? args : walk('src', []).sort();
const concurrency = process.env.TEST_CONCURRENCY ?? '3';
console.log(`Running ${files.length} test files: ${files.map((f) => relative('.', f)).join(' ')}`);
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--enable-source-maps', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(result.status ?? 1);
