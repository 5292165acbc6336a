import { parseId } from '@presence/protocol';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

export type TokenKey = Uint8Array;

export function tokenKey(secret: string): TokenKey {
  return new TextEncoder().encode(secret);
}

/**
 * Signs a user token as contract section 3 says: HS256, `sub` = the user id in decimal, `exp` required.
 *
 * @example
 * const token = await signUserToken(tokenKey(process.env.AUTH_SECRET!), 42, 3600);
 */
export async function signUserToken(key: TokenKey, userId: number, ttlSeconds: number): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(userId))
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(key);
}

export interface VerifiedToken {
  userId: number;
  /** Expiry, epoch ms. */
  expiresAt: number;
}

/** Verifies a user token; null when it is malformed, badly signed, expired, without `exp` or with a bad `sub`. */
export async function verifyUserToken(key: TokenKey, token: string): Promise<VerifiedToken | null> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'sub'],
    });
    const userId = typeof payload.sub === 'string' ? parseId(payload.sub) : null;
    if (userId === null || typeof payload.exp !== 'number') return null;
    return { userId, expiresAt: payload.exp * 1000 };
  } catch (error) {
    if (error instanceof joseErrors.JOSEError || error instanceof TypeError) return null;
    throw error;
  }
}
