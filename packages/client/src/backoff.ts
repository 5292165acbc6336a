/** Reconnect timing: exponential back-off with full jitter. */
export interface BackoffOptions {
  /** Upper bound of the first delay, ms. Default 500. */
  initialDelayMs?: number;
  /** Largest delay, ms. Default 30000. */
  maxDelayMs?: number;
}

export const DEFAULT_INITIAL_DELAY_MS = 500;
export const DEFAULT_MAX_DELAY_MS = 30_000;

/**
 * The delay before reconnect attempt `attempt` (0-based): a uniform random value in
 * [0, min(max, initial * 2^attempt)]. Full jitter spreads a crowd of clients that lost the same server,
 * so they do not all come back in the same instant.
 *
 * @example
 * backoffDelay(3, { initialDelayMs: 100 }); // somewhere in [0, 800]
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random = Math.random): number {
  const initial = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  const max = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  // Capping the exponent keeps 2^attempt finite after a very long outage.
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}
