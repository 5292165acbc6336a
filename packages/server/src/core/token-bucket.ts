/**
 * A token bucket on a clock the caller owns: `burst` tokens at most, `perSecond` coming back. Each allowed
 * action takes one.
 *
 * @example
 * const bucket = new TokenBucket({ perSecond: 2, burst: 10 }, Date.now);
 * if (!bucket.take()) refuse();
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly rate: { perSecond: number; burst: number },
    private readonly clock: () => number,
  ) {
    this.tokens = rate.burst;
    this.updatedAt = clock();
  }

  /** Takes a token if there is one. */
  take(): boolean {
    const now = this.clock();
    const refilled = ((now - this.updatedAt) / 1_000) * this.rate.perSecond;
    this.tokens = Math.min(this.rate.burst, this.tokens + Math.max(0, refilled));
    this.updatedAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
