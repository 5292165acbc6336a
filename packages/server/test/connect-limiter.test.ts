import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { ConnectLimiter } from '../src/transport/ws/connect-limiter.js';

function manualClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('per-address connect limiter', () => {
  it('admits a burst, then the rate, per address, and says how long to wait', () => {
    const clock = manualClock();
    const limiter = new ConnectLimiter({ perSecond: 2, burst: 3 }, clock.now);
    expect([1, 2, 3].map(() => limiter.admit('10.0.0.1'))).toEqual([0, 0, 0]);
    expect(limiter.admit('10.0.0.1')).toBe(500);
    // Another address has its own bucket.
    expect(limiter.admit('10.0.0.2')).toBe(0);
    // A refusal takes no token: waiting what it said is enough.
    clock.advance(499);
    expect(limiter.admit('10.0.0.1')).toBe(1);
    clock.advance(1);
    expect(limiter.admit('10.0.0.1')).toBe(0);
    expect(limiter.admit('10.0.0.1')).toBe(500);
    // Refills at the rate, never above the burst.
    clock.advance(60_000);
    expect([1, 2, 3].map(() => limiter.admit('10.0.0.1'))).toEqual([0, 0, 0]);
    expect(limiter.admit('10.0.0.1')).toBeGreaterThan(0);
  });

  it('forgets addresses whose bucket is full again, so quiet addresses cost nothing', () => {
    const clock = manualClock();
    const limiter = new ConnectLimiter({ perSecond: 10, burst: 5 }, clock.now);
    for (let i = 0; i < 100; i++) limiter.admit(`10.0.1.${i}`);
    expect(limiter.size).toBe(100);
    // 100 ms later every bucket is full: the next admissions sweep them from the old end.
    clock.advance(100);
    for (let i = 0; i < 60; i++) limiter.admit('10.0.2.1');
    expect(limiter.size).toBe(1);
    // The busy one stays while it is not full, and goes once it is.
    expect(limiter.admit('10.0.2.1')).toBeGreaterThan(0);
    clock.advance(10_000);
    limiter.admit('10.0.2.2');
    expect(limiter.size).toBe(1);
  });

  it('holds at most maxAddresses buckets under a flood from many addresses, evicting the stalest', () => {
    const clock = manualClock();
    const limiter = new ConnectLimiter({ perSecond: 1, burst: 2 }, clock.now, 1_000);
    for (let i = 0; i < 20_000; i++) {
      expect(limiter.admit(`fd00::${i.toString(16)}`)).toBe(0);
      expect(limiter.size).toBeLessThanOrEqual(1_000);
    }
    // A busy address seen recently keeps its bucket while strangers come and go.
    limiter.admit('10.9.9.9');
    limiter.admit('10.9.9.9');
    for (let i = 0; i < 500; i++) limiter.admit(`fd01::${i.toString(16)}`);
    expect(limiter.admit('10.9.9.9')).toBeGreaterThan(0);
  });

  it('refuses a rate that could never admit anyone', () => {
    expect(() => new ConnectLimiter({ perSecond: 0, burst: 5 }, Date.now)).toThrow(RangeError);
    expect(() => new ConnectLimiter({ perSecond: 1, burst: 0 }, Date.now)).toThrow(RangeError);
  });
});

describe('connect-rate configuration', () => {
  const errorOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('defaults to 20 per second with a burst of 100, and 0 in both turns it off', () => {
    expect(loadConfig({})).toMatchObject({ maxConnectsPerAddressPerS: 20, maxConnectsPerAddressBurst: 100 });
    expect(
      loadConfig({ MAX_CONNECTS_PER_ADDRESS_PER_S: '0', MAX_CONNECTS_PER_ADDRESS_BURST: '0' }),
    ).toMatchObject({ maxConnectsPerAddressPerS: 0, maxConnectsPerAddressBurst: 0 });
  });

  it('names the variable for a value that is not a whole number, or half a limit', () => {
    expect(errorOf({ MAX_CONNECTS_PER_ADDRESS_PER_S: 'fast' }).variable).toBe(
      'MAX_CONNECTS_PER_ADDRESS_PER_S',
    );
    expect(errorOf({ MAX_CONNECTS_PER_ADDRESS_BURST: '-1' }).variable).toBe('MAX_CONNECTS_PER_ADDRESS_BURST');
    expect(errorOf({ MAX_CONNECTS_PER_ADDRESS_PER_S: '2.5' }).variable).toBe(
      'MAX_CONNECTS_PER_ADDRESS_PER_S',
    );
    const half = errorOf({ MAX_CONNECTS_PER_ADDRESS_PER_S: '0' });
    expect(half.variable).toBe('MAX_CONNECTS_PER_ADDRESS_PER_S');
    expect(half.message).toMatch(/MAX_CONNECTS_PER_ADDRESS_BURST/);
    expect(errorOf({ MAX_CONNECTS_PER_ADDRESS_BURST: '0' }).variable).toBe('MAX_CONNECTS_PER_ADDRESS_BURST');
  });
});
