import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { authSecrets, type Config } from '../config.js';
import { type TokenKey, tokenKey } from './tokens.js';

/**
 * The HS256 secrets for user tokens, the signing one first: AUTH_SECRET's comma-separated list, or in demo
 * mode a random secret generated once and kept in DATA_DIR so tokens survive a restart. loadConfig already
 * refused a missing secret outside demo mode.
 */
export async function tokenSecrets(config: Config): Promise<string[]> {
  if (config.authSecret !== undefined) return authSecrets(config.authSecret);
  if (config.dataDir.startsWith('memory://')) return [randomBytes(32).toString('hex')];
  const file = join(config.dataDir, 'auth-secret');
  try {
    return [(await readFile(file, 'utf8')).trim()];
  } catch {
    const secret = randomBytes(32).toString('hex');
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' }).catch(async () => {
      // Another process wrote it first: use theirs.
    });
    return [(await readFile(file, 'utf8')).trim()];
  }
}

/** The key that signs user tokens: the first secret, stamping the configured issuer and audience. */
export function signingKey(config: Config, secrets: readonly string[]): TokenKey {
  return tokenKey(secrets[0] as string, { issuer: config.authIssuer, audience: config.authAudience });
}

/** The signing key alone (`presence token`). */
export async function tokenSecret(config: Config): Promise<TokenKey> {
  return signingKey(config, await tokenSecrets(config));
}
