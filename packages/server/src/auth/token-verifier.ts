import { type TokenKey, verifyUserToken } from './tokens.js';

export interface TokenVerdict {
  userId: number;
  expiresAt: number;
}

/**
 * Verifies user tokens and remembers each verdict until the token expires, so the UDP hot path pays one HMAC
 * per token, not per packet. Bad tokens are remembered briefly too, so a flood of one bad token stays cheap.
 */
export class TokenVerifier {
  private readonly verdicts = new Map<string, { verdict: TokenVerdict | null; until: number }>();
  /** Verifications under way: a burst of packets with one new token costs one HMAC, not one each. */
  private readonly pending = new Map<string, Promise<TokenVerdict | null>>();

  constructor(
    private readonly key: TokenKey,
    private readonly clock: () => number = Date.now,
    /** Room for a million online users' tokens and their rotations (about 300 bytes each). */
    private readonly maxEntries = 2_500_000,
    private readonly negativeTtlMs = 10_000,
  ) {}

  /** The cached verdict, or undefined when the token must be verified (then call `verify`). */
  cached(token: string): TokenVerdict | null | undefined {
    const hit = this.verdicts.get(token);
    if (hit === undefined) return undefined;
    if (hit.until <= this.clock()) {
      this.verdicts.delete(token);
      return undefined;
    }
    return hit.verdict;
  }

  /** The token's user and expiry, or null when it is not a valid, unexpired user token. */
  async verify(token: string): Promise<TokenVerdict | null> {
    const known = this.cached(token);
    if (known !== undefined) return known;
    let pending = this.pending.get(token);
    if (pending === undefined) {
      pending = verifyUserToken(this.key, token).then((verdict) => {
        if (this.verdicts.size >= this.maxEntries) this.verdicts.clear();
        const until = verdict ? verdict.expiresAt : this.clock() + this.negativeTtlMs;
        this.verdicts.set(token, { verdict, until });
        return verdict;
      });
      this.pending.set(token, pending);
      pending.finally(() => this.pending.delete(token)).catch(() => {});
    }
    const verdict = await pending;
    return verdict !== null && verdict.expiresAt > this.clock() ? verdict : null;
  }
}
