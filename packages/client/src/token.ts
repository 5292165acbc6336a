import { parseId } from '@presence/protocol';
import type { TokenSource } from './types.js';

/** Resolves a token source; a string is its own fresh token. */
export async function resolveToken(source: TokenSource): Promise<string> {
  return typeof source === 'string' ? source : await source();
}

/**
 * The user id in a JWT's `sub`, read without checking the signature (the server checks it). The UDP
 * packet must repeat the id next to the token, and this spares callers from passing it twice.
 *
 * @example
 * userIdFromToken(token); // 42 for a token whose `sub` is "42"; null for anything else
 */
export function userIdFromToken(token: string): number | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')));
    return typeof json?.sub === 'string' ? parseId(json.sub) : null;
  } catch {
    return null;
  }
}
