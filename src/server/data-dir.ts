/**
 * DATA_DIR: created on first use (mode 0700), with an error that says what to fix when it cannot be.
 *
 * Not `mkdirSync(dir, { recursive: true })`: Node's recursive mkdir reads ENOENT as "the parent is
 * missing", makes the parent (EEXIST), and tries the child again, forever, where the parent exists
 * but cannot hold it (procfs and sysfs answer ENOENT, as does a dangling symlink): `DATA_DIR=/proc/x`
 * spun one core at 100 % and never started nor failed. This walk makes each missing parent once,
 * and an ENOENT after its parent exists is final.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from './config.js';

const problem = (dir: string, e: unknown): ConfigError => {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'EACCES' || code === 'EPERM'
      ? 'this user may not create or open it'
      : code === 'ENOTDIR' || code === 'EEXIST'
        ? 'a file (not a directory) is in the way'
        : code === 'EROFS'
          ? 'its filesystem is read-only'
          : code === 'ENOENT'
            ? 'its parent cannot hold directories (a dangling symlink, or a filesystem such as /proc)'
            : (e as Error).message;
  return new ConfigError([`DATA_DIR ${dir} cannot be created (${code ?? 'error'}: ${why}); set DATA_DIR (or --data-dir) to a directory this user can create and write.`]);
};

function make(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      return;
    }
    if (code !== 'ENOENT') throw e;
  }
  const parent = dirname(dir);
  // The root always exists; ENOENT there is final.
  if (parent === dir) throw Object.assign(new Error('no such directory'), { code: 'ENOENT' });
  make(parent);
  // The parent exists now: a second ENOENT means it cannot hold this directory, and is thrown.
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** Creates DATA_DIR and its missing parents (mode 0700), or throws a ConfigError that says what to fix. */
export function ensureDataDir(dir: string): void {
  const path = resolve(dir);
  try {
    make(path);
  } catch (e) {
    throw problem(dir, e);
  }
}
