import type { RuleConfig } from '../../src/core/rules.js';

/** The rules every conformance suite holds the backends to. */
export const rules: RuleConfig = {
  presenceTimeoutMs: 60_000,
  disconnectGraceMs: 5_000,
  heartbeatMinIntervalMs: 10_000,
};

/** A fixed moment: stores take the time as a parameter, so no suite reads the wall clock. */
export const T = 1_764_278_000_000;
