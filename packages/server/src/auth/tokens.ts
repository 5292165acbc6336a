import { SignJWT } from 'jose';
import { type ClaimRules, keyVerifier, type VerifiedToken } from './claims.js';

export type { VerifiedToken };

/** An HS256 secret, with the issuer and audience its tokens carry (the ones the server requires). */
export interface TokenKey extends ClaimRules {
  secret: Uint8Array;
}

export function tokenKey(secret: string, rules: ClaimRules = {}): TokenKey {
  return { secret: new TextEncoder().encode(secret), issuer: rules.issuer, audience: rules.audience };
}

/**
 * Signs a user token: HS256, `sub` = the user id in decimal, `exp` required (what every client verifies
 * against), and the key's `iss` and `aud` when it has them.
 *
 * @example
 * const token = await signUserToken(tokenKey('a-secret-of-16-characters-or-more'), 42, 3600);
 */
export async function signUserToken(key: TokenKey, userId: number, ttlSeconds: number): Promise<string> {
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(userId))
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds);
  if (key.issuer !== undefined) jwt.setIssuer(key.issuer);
  if (key.audience !== undefined) jwt.setAudience(key.audience);
  return jwt.sign(key.secret);
}

/**
 * A synchronous verifier of HS256 user tokens signed with one key (about 6 µs a token): null when the token
 * is malformed, badly signed, expired, without `exp` or with a `sub` that is not a user id. The server's own
 * verifier (TokenVerifier) adds rotation, JWKS keys and a cache on top.
 *
 * @example
 * const verify = createUserTokenVerifier(tokenKey(secret));
 * verify(token); // { userId: 42, expiresAt: 1764281600000 } or null
 */
export function createUserTokenVerifier(key: TokenKey): (token: string) => VerifiedToken | null {
  return keyVerifier(Buffer.from(key.secret), 'HS256', key);
}
