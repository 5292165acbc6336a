/** The rate of new WebSocket connections one remote address may open: `burst` at once, `perSecond` after. */
export interface ConnectRate {
  perSecond: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Addresses tracked at most; beyond it the least recently seen is forgotten (it gets a full bucket back). */
export const DEFAULT_MAX_ADDRESSES = 50_000;
/** Idle buckets dropped from the oldest end on each admission, so the map shrinks as traffic moves on. */
const SWEEP_PER_ADMIT = 2;

/**
 * A token bucket per remote address for new connections, on a clock the caller owns. Buckets live in a map
 * kept in least-recently-seen order and bounded: a bucket back to full is the same as no bucket, so idle
 * ones are dropped from the old end as admissions come, and the map never holds more than `maxAddresses`
 * (a flood from many addresses evicts the stalest, never grows memory).
 *
 * @example
 * const limiter = new ConnectLimiter({ perSecond: 20, burst: 100 }, Date.now);
 * const waitMs = limiter.admit(request.socket.remoteAddress ?? '');
 * if (waitMs > 0) refuse429(Math.ceil(waitMs / 1000));
 */
export class ConnectLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly rate: ConnectRate,
    private readonly clock: () => number,
    private readonly maxAddresses = DEFAULT_MAX_ADDRESSES,
  ) {
    if (!(rate.perSecond > 0) || !(rate.burst >= 1)) {
      throw new RangeError('a connect rate needs perSecond above 0 and a burst of at least 1');
    }
  }

  /** Addresses with a bucket that is not full. */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes a token for one new connection from `address`: 0 when admitted, else the ms until one is back. */
  admit(address: string): number {
    const now = this.clock();
    const bucket = this.buckets.get(address);
    const tokens = bucket === undefined ? this.rate.burst : this.refilled(bucket, now);
    this.buckets.delete(address);
    this.sweep(now);
    if (tokens < 1) {
      this.buckets.set(address, { tokens, updatedAt: now });
      // Less a hair of floating-point noise, so 499 ms into a 500 ms wait says 1, not 2.
      return Math.max(1, Math.ceil(((1 - tokens) / this.rate.perSecond) * 1_000 - 1e-6));
    }
    if (this.buckets.size >= this.maxAddresses) {
      const stalest = this.buckets.keys().next().value as string;
      this.buckets.delete(stalest);
    }
    this.buckets.set(address, { tokens: tokens - 1, updatedAt: now });
    return 0;
  }

  private refilled(bucket: Bucket, now: number): number {
    const elapsed = Math.max(0, now - bucket.updatedAt);
    return Math.min(this.rate.burst, bucket.tokens + (elapsed / 1_000) * this.rate.perSecond);
  }

  /** Drops full buckets from the least recently seen end, a few per call. */
  private sweep(now: number): void {
    let left = SWEEP_PER_ADMIT;
    for (const [address, bucket] of this.buckets) {
      if (left-- === 0 || this.refilled(bucket, now) < this.rate.burst) return;
      this.buckets.delete(address);
    }
  }
}
