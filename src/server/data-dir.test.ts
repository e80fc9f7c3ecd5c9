import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tempDir } from '../test-support/backends.js';
import { ConfigError } from './config.js';
import { ensureDataDir } from './data-dir.js';

describe('ensureDataDir', () => {
  let root: string;
  before(() => {
    root = tempDir('carillon-data-dir-');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('creates the directory and its missing parents, private (0700); an existing one is kept', () => {
    const dir = join(root, 'a', 'b', 'data');
    ensureDataDir(dir);
    assert.ok(statSync(dir).isDirectory());
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    writeFileSync(join(dir, 'kept'), 'x');
    ensureDataDir(dir);
    assert.ok(existsSync(join(dir, 'kept')));
    // A relative path is taken from the working directory, as the server's other paths are.
    mkdirSync(join(root, 'rel'));
    const cwd = process.cwd();
    process.chdir(join(root, 'rel'));
    try {
      ensureDataDir('data/x');
    } finally {
      process.chdir(cwd);
    }
    assert.ok(statSync(join(root, 'rel', 'data', 'x')).isDirectory());
  });

  const refused = (dir: string, why: RegExp) =>
    assert.throws(
      () => ensureDataDir(dir),
      (e: unknown) => e instanceof ConfigError && e.message.includes(`DATA_DIR ${dir} cannot be created`) && why.test(e.message) && /set DATA_DIR \(or --data-dir\)/.test(e.message),
    );

  test('a file in the way: a ConfigError that says so', () => {
    writeFileSync(join(root, 'file'), 'x');
    refused(join(root, 'file'), /ENOTDIR: a file \(not a directory\) is in the way/);
    refused(join(root, 'file', 'data'), /ENOTDIR/);
  });

  test('under a dangling symlink: a ConfigError at once (Node\'s recursive mkdir loops here)', () => {
    symlinkSync(join(root, 'nowhere'), join(root, 'dangling'));
    refused(join(root, 'dangling', 'data'), /ENOENT: its parent cannot hold directories/);
  });

  test('under /proc: a ConfigError at once', { skip: existsSync('/proc/self') ? false : 'no procfs on this machine' }, () => {
    refused('/proc/carillon-test/data', /ENOENT/);
  });
});
