import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { ClaimRules } from './claims.js';
import { JwksKeys } from './jwks.js';
import { signingKey, tokenSecrets } from './secret.js';
import { createTokenCheck } from './token-check.js';
import { TokenVerifier } from './token-verifier.js';
import type { TokenKey } from './tokens.js';

export interface TokenAuth {
  verifier: TokenVerifier;
  /** Signs the tokens the server mints (demo, tests, `presence token`). */
  signingKey: TokenKey;
  close(): void;
}

/**
 * Everything that judges user tokens, from the configuration: the shared secrets, the identity provider's
 * JWKS (fetched before this resolves; a failed fetch is logged and retried, not fatal) and the claim rules.
 *
 * @example
 * const auth = await openTokenAuth(config, { clock: Date.now, logger });
 * auth.verifier.verify(token); // { userId, expiresAt } or null
 * auth.close();
 */
export async function openTokenAuth(
  config: Config,
  { clock, logger }: { clock: () => number; logger: Logger },
): Promise<TokenAuth> {
  const secrets = await tokenSecrets(config);
  const rules: ClaimRules = { issuer: config.authIssuer, audience: config.authAudience };
  const jwks =
    config.authJwksUrl === undefined
      ? undefined
      : new JwksKeys({ url: config.authJwksUrl, rules, clock, logger });
  await jwks?.start();
  return {
    verifier: new TokenVerifier(createTokenCheck({ secrets, jwks, rules }), { clock }),
    signingKey: signingKey(config, secrets),
    close: () => jwks?.close(),
  };
}
