import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { Logger } from '../logger.js';
import { type ClaimRules, type KeyVerifier, keyVerifier } from './claims.js';

/** One verification key of the identity provider's set. */
export interface JwksKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly pem: string;
  readonly verify: KeyVerifier;
  /** Set once a fetched set no longer holds this key: verdicts it gave stop counting. */
  retired: boolean;
}

export interface JwksOptions {
  url: string;
  rules: ClaimRules;
  clock: () => number;
  logger: Logger;
  /** At most one refetch for unknown `kid`s this often. */
  refetchIntervalMs?: number;
  /** How long one fetch may take. */
  timeoutMs?: number;
  /** First retry delay while no set has loaded yet; it doubles up to `retryMaxMs`. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/** A flood of made-up `kid`s must not become a flood of requests to the identity provider. */
export const JWKS_REFETCH_INTERVAL_MS = 60_000;
const JWKS_TIMEOUT_MS = 5_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;
/** Shorter RSA moduli are forgeable with enough money; such a key is skipped, not trusted. */
const MIN_RSA_BITS = 2048;

/**
 * The identity provider's keys (a JWKS fetched over HTTP), held in memory so that looking a key up never
 * waits: a UDP packet needs its verdict now. Fetched at start; an unknown `kid` asks for a refetch in the
 * background, at most one a minute; a failed fetch keeps the keys already held.
 */
export class JwksKeys {
  private keys = new Map<string, JwksKey>();
  private lastRefetchAt = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | null = null;
  private loaded = false;
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private request: AbortController | null = null;
  private closed = false;
  private readonly host: string;

  constructor(private readonly options: JwksOptions) {
    this.retryMs = options.retryMinMs ?? RETRY_MIN_MS;
    this.host = new URL(options.url).host;
  }

  get size(): number {
    return this.keys.size;
  }

  /**
   * The first fetch. A failure is logged, not thrown: the server still starts, HS256 tokens keep working and
   * RS256/ES256 ones are refused until a retry (1 s, doubling up to a minute) loads the set.
   */
  start(): Promise<void> {
    return this.fetch('start');
  }

  /** The key for a `kid`, or undefined; an unknown one asks for a refetch that the caller does not wait for. */
  get(kid: string): JwksKey | undefined {
    const key = this.keys.get(kid);
    if (key === undefined) void this.refetch();
    return key;
  }

  /** Refetches unless an unknown `kid` already did within the interval; resolves once the fetch settles. */
  refetch(): Promise<void> {
    if (this.inflight !== null) return this.inflight;
    const now = this.options.clock();
    if (now - this.lastRefetchAt < (this.options.refetchIntervalMs ?? JWKS_REFETCH_INTERVAL_MS)) {
      return Promise.resolve();
    }
    this.lastRefetchAt = now;
    return this.fetch('unknown_kid');
  }

  /** Resolves once no fetch is in flight: every request sent by then has been answered and applied. */
  settled(): Promise<void> {
    return this.inflight ?? Promise.resolve();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.request?.abort();
  }

  private fetch(reason: 'start' | 'retry' | 'unknown_kid'): Promise<void> {
    if (this.inflight !== null) return this.inflight;
    this.inflight = this.download()
      .then((body) => this.install(body, reason))
      .catch((error: unknown) => this.failed(error, reason))
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  private async download(): Promise<unknown> {
    const request = new AbortController();
    this.request = request;
    const timer = setTimeout(
      () => request.abort(new Error('timed out')),
      this.options.timeoutMs ?? JWKS_TIMEOUT_MS,
    );
    try {
      const response = await fetch(this.options.url, {
        headers: { accept: 'application/json' },
        signal: request.signal,
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return await response.json();
    } finally {
      clearTimeout(timer);
      this.request = null;
    }
  }

  private install(body: unknown, reason: string): void {
    const { keys, skipped } = parseJwks(body, this.options.rules, this.keys);
    for (const [kid, key] of this.keys) if (keys.get(kid) !== key) key.retired = true;
    this.keys = keys;
    this.loaded = true;
    clearTimeout(this.retryTimer);
    this.options.logger.info({ jwks: this.host, keys: keys.size, skipped, reason }, 'jwks loaded');
  }

  private failed(error: unknown, reason: string): void {
    if (this.closed) return;
    if (this.loaded) {
      this.options.logger.warn(
        { err: error, jwks: this.host, keys: this.keys.size, reason },
        'jwks fetch failed; keeping the keys already loaded',
      );
      return;
    }
    const retryInMs = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.options.retryMaxMs ?? RETRY_MAX_MS);
    this.options.logger.error(
      { err: error, jwks: this.host, reason, retryInMs },
      'jwks fetch failed; RS256 and ES256 tokens are refused until it loads',
    );
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.fetch('retry'), retryInMs);
    this.retryTimer.unref();
  }
}

/**
 * The usable keys of a JWKS document: RSA (RS256, at least 2048 bits) and P-256 (ES256) signing keys with a
 * `kid`; others are counted as skipped. A key already held under the same `kid` with the same material is
 * kept as is, so the verdicts it gave stay valid.
 */
export function parseJwks(
  body: unknown,
  rules: ClaimRules,
  previous: ReadonlyMap<string, JwksKey> = new Map(),
): { keys: Map<string, JwksKey>; skipped: number } {
  const list = typeof body === 'object' && body !== null ? (body as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(list)) throw new Error('not a JWKS: no "keys" array');
  const keys = new Map<string, JwksKey>();
  let skipped = 0;
  for (const jwk of list) {
    const key = readKey(jwk, rules, previous);
    if (key === null || keys.has(key.kid)) skipped += 1;
    else keys.set(key.kid, key);
  }
  return { keys, skipped };
}

function readKey(jwk: unknown, rules: ClaimRules, previous: ReadonlyMap<string, JwksKey>): JwksKey | null {
  if (typeof jwk !== 'object' || jwk === null) return null;
  const { kid, kty, crv, alg, use } = jwk as Record<string, unknown>;
  if (typeof kid !== 'string' || kid === '' || (use !== undefined && use !== 'sig')) return null;
  const algorithm = kty === 'RSA' ? 'RS256' : kty === 'EC' && crv === 'P-256' ? 'ES256' : null;
  if (algorithm === null || (alg !== undefined && alg !== algorithm)) return null;
  let pem: string;
  try {
    const key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    if (algorithm === 'RS256' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) return null;
    pem = key.export({ type: 'spki', format: 'pem' }) as string;
  } catch {
    return null;
  }
  const known = previous.get(kid);
  if (known !== undefined && known.alg === algorithm && known.pem === pem) return known;
  return { kid, alg: algorithm, pem, verify: keyVerifier(pem, algorithm, rules), retired: false };
}
