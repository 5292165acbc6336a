import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { type TokenKey, tokenKey } from './tokens.js';

/**
 * The key for user tokens: AUTH_SECRET, or in demo mode a random secret generated once and kept in
 * DATA_DIR so tokens survive a restart. loadConfig already refused a missing secret outside demo mode.
 */
export async function tokenSecret(config: Config): Promise<TokenKey> {
  if (config.authSecret !== undefined) return tokenKey(config.authSecret);
  if (config.dataDir.startsWith('memory://')) return tokenKey(randomBytes(32).toString('hex'));
  const file = join(config.dataDir, 'auth-secret');
  try {
    return tokenKey((await readFile(file, 'utf8')).trim());
  } catch {
    const secret = randomBytes(32).toString('hex');
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' }).catch(async () => {
      // Another process wrote it first: use theirs.
    });
    return tokenKey((await readFile(file, 'utf8')).trim());
  }
}
