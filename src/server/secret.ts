/**
 * The server secret: the key from which webhook tokens are derived (SPEC 2.1). From SECRET,
 * SECRET_FILE, or generated on first start into DATA_DIR/secret with mode 0600.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.js';
import { ensureDataDir } from './data-dir.js';

export interface LoadedSecret {
  secret: Buffer;
  source: 'env' | 'file' | 'generated' | 'data-dir';
  path?: string;
}

export function loadSecret(config: Config): LoadedSecret {
  if (config.secret) return { secret: Buffer.from(config.secret, 'utf8'), source: 'env' };
  if (config.secretFile) {
    const text = readFileSync(config.secretFile, 'utf8').trim();
    if (text.length < 32) throw new Error(`SECRET_FILE ${config.secretFile} must hold at least 32 characters; generate one with: openssl rand -base64 48 > ${config.secretFile}`);
    return { secret: Buffer.from(text, 'utf8'), source: 'file', path: config.secretFile };
  }
  ensureDataDir(config.dataDir);
  const path = join(config.dataDir, 'secret');
  if (existsSync(path)) {
    // Keep it private even if someone loosened the mode.
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    return { secret: Buffer.from(readFileSync(path, 'utf8').trim(), 'utf8'), source: 'data-dir', path };
  }
  const text = randomBytes(48).toString('base64url');
  try {
    writeFileSync(path, `${text}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    // Another process (a second `carillon` on the same DATA_DIR) created it first: use theirs.
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadSecret(config);
    throw e;
  }
  return { secret: Buffer.from(text, 'utf8'), source: 'generated', path };
}
