import { parseId } from '@presence/protocol';
import { createVerifier } from 'fast-jwt';

/** Claims every accepted token must carry beyond `sub` and `exp`; unset means not checked. */
export interface ClaimRules {
  issuer?: string | undefined;
  audience?: string | undefined;
}

export type SignatureAlgorithm = 'HS256' | 'RS256' | 'ES256';

export interface VerifiedToken {
  userId: number;
  /** Expiry, epoch ms. */
  expiresAt: number;
}

/** Verifies one token against one key: the user and expiry, or null for any fault. */
export type KeyVerifier = (token: string) => VerifiedToken | null;

/**
 * A synchronous verifier for one key and one algorithm (fast-jwt over node:crypto): null when the token is
 * malformed, signed otherwise, expired, not yet valid, without `exp`, with a `sub` that is not a user id, or
 * with an `iss`/`aud` other than the rules ask for.
 *
 * @param key an HS256 secret, or a public key in PEM
 */
export function keyVerifier(
  key: Buffer | string,
  algorithm: SignatureAlgorithm,
  rules: ClaimRules,
): KeyVerifier {
  const requiredClaims = ['exp', 'sub'];
  // fast-jwt skips an allowed-value check when the claim is absent, so a checked claim must also be required.
  if (rules.issuer !== undefined) requiredClaims.push('iss');
  if (rules.audience !== undefined) requiredClaims.push('aud');
  const verify = createVerifier({
    key,
    algorithms: [algorithm],
    requiredClaims,
    allowedIss: rules.issuer,
    allowedAud: rules.audience,
    cache: false,
  });
  return (token) => {
    let payload: { sub?: unknown; exp?: unknown };
    try {
      payload = verify(token);
    } catch {
      return null;
    }
    const userId = typeof payload.sub === 'string' ? parseId(payload.sub) : null;
    if (userId === null || typeof payload.exp !== 'number') return null;
    return { userId, expiresAt: payload.exp * 1000 };
  };
}
