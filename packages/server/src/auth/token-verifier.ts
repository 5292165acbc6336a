import { createUserTokenVerifier, type TokenKey } from './tokens.js';

export interface TokenVerdict {
  userId: number;
  expiresAt: number;
}

/**
 * Verifies user tokens and remembers each verdict until the token expires, so the UDP hot path pays one HMAC
 * per token, not per packet. Bad tokens are remembered briefly too, so a flood of one bad token stays cheap.
 * Synchronous: a packet never waits in a queue for its verdict.
 */
export class TokenVerifier {
  private readonly verdicts = new Map<string, { verdict: TokenVerdict | null; until: number }>();
  private readonly check: (token: string) => TokenVerdict | null;

  constructor(
    key: TokenKey,
    private readonly clock: () => number = Date.now,
    /** Room for a million online users' tokens and their rotations (about 300 bytes each). */
    private readonly maxEntries = 2_500_000,
    private readonly negativeTtlMs = 10_000,
  ) {
    this.check = createUserTokenVerifier(key);
  }

  /** The token's user and expiry, or null when it is not a valid, unexpired user token. */
  verify(token: string): TokenVerdict | null {
    const now = this.clock();
    const hit = this.verdicts.get(token);
    if (hit !== undefined && hit.until > now) return hit.verdict;
    const verdict = this.check(token);
    if (this.verdicts.size >= this.maxEntries) this.verdicts.clear();
    this.verdicts.set(token, { verdict, until: verdict ? verdict.expiresAt : now + this.negativeTtlMs });
    return verdict !== null && verdict.expiresAt > now ? verdict : null;
  }
}
