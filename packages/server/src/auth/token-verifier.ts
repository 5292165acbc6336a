import { BoundedCache, type CacheBounds } from './bounded-cache.js';
import type { CheckedToken, TokenCheck } from './token-check.js';

export interface TokenVerdict {
  userId: number;
  expiresAt: number;
}

/** Longer tokens are refused unread: verifying attacker-sized input is work an attacker chooses for us. */
export const MAX_TOKEN_LENGTH = 4096;

export interface VerifierOptions {
  clock?: () => number;
  /** Good verdicts, kept until their token expires. */
  good?: CacheBounds;
  /** Bad verdicts, kept `badTtlMs`, in their own small cache so that a flood of them evicts no good one. */
  bad?: CacheBounds;
  badTtlMs?: number;
}

/**
 * Room for a million users' HS256 or ES256 tokens (about 235 and 280 bytes an entry); with RS256 (2048-bit,
 * about 535 bytes) the bytes bound keeps about 620,000.
 */
export const GOOD_VERDICTS: CacheBounds = { maxEntries: 1_000_000, maxBytes: 320 * 1024 * 1024 };
/** Enough to make a replayed bad token cheap; a flood of distinct ones just cycles through it. */
export const BAD_VERDICTS: CacheBounds = { maxEntries: 10_000, maxBytes: 8 * 1024 * 1024 };
const BAD_TTL_MS = 10_000;

/** The signature part of a compact JWS: base64url, nothing else. */
const SIGNATURE = /^[A-Za-z0-9_-]+$/;

/**
 * Verifies user tokens and remembers verdicts, so the UDP hot path pays one signature check per token, not per
 * packet. Synchronous: a packet never waits for its verdict (an unknown JWKS `kid` is refused now and fetched
 * in the background).
 *
 * Verdicts are keyed by the token's signature alone. That is safe: a signature can only be presented by
 * someone holding the token it came from, and a hit returns that token's verdict, so a forged header or
 * payload in front of a known signature gains nothing.
 */
export class TokenVerifier {
  private readonly clock: () => number;
  private readonly good: BoundedCache<CheckedToken>;
  private readonly bad: BoundedCache<true>;
  private readonly badTtlMs: number;

  constructor(
    private readonly check: TokenCheck,
    options: VerifierOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.good = new BoundedCache(options.good ?? GOOD_VERDICTS);
    this.bad = new BoundedCache(options.bad ?? BAD_VERDICTS);
    this.badTtlMs = options.badTtlMs ?? BAD_TTL_MS;
  }

  /** Entries and estimated bytes of both caches (metrics and tests). */
  get cacheSize(): { good: number; goodBytes: number; bad: number; badBytes: number } {
    return { good: this.good.size, goodBytes: this.good.bytes, bad: this.bad.size, badBytes: this.bad.bytes };
  }

  /** The token's user and expiry, or null when it is not a valid, unexpired user token. */
  verify(token: string): TokenVerdict | null {
    if (token.length > MAX_TOKEN_LENGTH) return null;
    const signature = token.slice(token.lastIndexOf('.') + 1);
    const now = this.clock();
    const hit = this.good.get(signature, now);
    if (hit !== undefined) {
      if (hit.key === null || !hit.key.retired) return hit;
      // The JWKS dropped the key that verified it: judge the token again against the keys held now.
      this.good.delete(signature);
    } else if (this.bad.get(signature, now) !== undefined) return null;
    if (!SIGNATURE.test(signature) || signature.length === token.length) return null;

    const result = this.check(token);
    if (result === 'unknown_key') return null;
    // A copy, because a slice of the token would keep the whole token alive as the cache key.
    const key = Buffer.from(signature, 'latin1').toString('latin1');
    if (result === 'bad' || result.expiresAt <= now) {
      this.bad.set(key, true, now + this.badTtlMs, now);
      return null;
    }
    this.good.set(key, result, result.expiresAt, now);
    return result;
  }
}
