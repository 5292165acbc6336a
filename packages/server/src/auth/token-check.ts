import { type ClaimRules, type KeyVerifier, keyVerifier, type VerifiedToken } from './claims.js';
import type { JwksKey, JwksKeys } from './jwks.js';

export interface CheckedToken extends VerifiedToken {
  /** The JWKS key that verified it (null for a shared secret), so a verdict can die with its key. */
  key: JwksKey | null;
}

/**
 * A verified token; `bad` for any fault; `unknown_key` when it names a `kid` the JWKS does not hold (yet:
 * a refetch may bring it, so that verdict is not worth remembering).
 */
export type CheckResult = CheckedToken | 'bad' | 'unknown_key';

export type TokenCheck = (token: string) => CheckResult;

export interface TokenCheckOptions {
  /** HS256 secrets; a token signed with any of them verifies. */
  secrets: readonly string[];
  /** The identity provider's keys, for RS256 and ES256 tokens. */
  jwks?: JwksKeys | undefined;
  rules: ClaimRules;
}

/**
 * Verifies a token against the key its header names: HS256 against each shared secret in turn, RS256 and
 * ES256 against the JWKS key of its `kid`. The header's `alg` only picks among keys of that algorithm, so a
 * token can never get a public key used as an HMAC secret.
 */
export function createTokenCheck({ secrets, jwks, rules }: TokenCheckOptions): TokenCheck {
  const hmac: KeyVerifier[] = secrets.map((secret) => keyVerifier(Buffer.from(secret), 'HS256', rules));
  return (token) => {
    const header = headerOf(token);
    if (header === null) return 'bad';
    if (header.alg === 'HS256') {
      for (const verify of hmac) {
        const verified = verify(token);
        if (verified !== null) return { ...verified, key: null };
      }
      return 'bad';
    }
    if ((header.alg !== 'RS256' && header.alg !== 'ES256') || jwks === undefined) return 'bad';
    if (typeof header.kid !== 'string') return 'bad';
    const key = jwks.get(header.kid);
    if (key === undefined) return 'unknown_key';
    // The key's verifier accepts its own algorithm only, whatever the header claims.
    const verified = key.verify(token);
    return verified === null ? 'bad' : { ...verified, key };
  };
}

function headerOf(token: string): { alg?: unknown; kid?: unknown } | null {
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null ? header : null;
  } catch {
    return null;
  }
}
