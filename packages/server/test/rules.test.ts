import { describe, expect, it } from 'vitest';
import * as rules from '../src/core/rules.js';
import { OFFLINE, type RuleConfig, type UserState } from '../src/core/rules.js';

const config: RuleConfig = {
  presenceTimeoutMs: 60_000,
  disconnectGraceMs: 5_000,
  heartbeatMinIntervalMs: 10_000,
};
const T = 1_000_000;

function accepted(state: UserState, status: UserState['status'], at: number): UserState {
  const decision = rules.heartbeat(state, status, at, config);
  if (!decision.accepted) throw new Error(`heartbeat at ${at} refused`);
  return decision.state;
}

describe('liveness rules (pure, with the time passed in)', () => {
  it('a first heartbeat is a change; it sets last_seen and last heartbeat', () => {
    const decision = rules.heartbeat(OFFLINE, 'online', T, config);
    expect(decision).toEqual({
      accepted: true,
      changed: true,
      state: { ...OFFLINE, status: 'online', lastSeen: T, lastHeartbeat: T, v: T },
    });
  });

  it.each([
    [0, false],
    [9_999, false],
    [10_000, true],
  ])('an unchanged heartbeat %i ms after the last is accepted: %s', (delay, ok) => {
    const state = accepted(OFFLINE, 'online', T);
    const decision = rules.heartbeat(state, 'online', T + delay, config);
    expect(decision.accepted).toBe(ok);
    if (!decision.accepted) expect(decision.retryAfterMs).toBe(10_000 - delay);
  });

  it('a changed heartbeat is never rate limited', () => {
    const state = accepted(OFFLINE, 'online', T);
    for (const status of ['away', 'offline'] as const) {
      expect(rules.heartbeat(state, status, T + 1, config).accepted).toBe(true);
    }
  });

  it('a heartbeat arriving out of order never moves time backwards', () => {
    const state = accepted(OFFLINE, 'online', T);
    const late = accepted(state, 'away', T - 500);
    expect(late.lastSeen).toBe(T);
    expect(late.lastHeartbeat).toBe(T);
  });

  it('the deadline of a heartbeat-only user is the last heartbeat plus the timeout', () => {
    const state = accepted(OFFLINE, 'away', T);
    expect(rules.deadline(state, config)).toBe(T + 60_000);
    expect(rules.expire(state, T + 59_999, config)).toEqual({ expired: false, deadline: T + 60_000 });
    expect(rules.expire(state, T + 60_000, config)).toEqual({
      expired: true,
      state: { ...state, status: 'offline', v: T + 60_000 },
    });
  });

  it('an open socket has no deadline; a closed one gives the grace', () => {
    const open = rules.connect(OFFLINE, T);
    expect(open.status).toBe('online');
    expect(rules.deadline(open, config)).toBeNull();
    const closed = rules.disconnect(open, T + 100_000, true);
    expect(rules.deadline(closed, config)).toBe(T + 105_000);
    expect(closed.lastSeen).toBe(T + 100_000);
  });

  it('the later of the two deadlines wins', () => {
    const beat = accepted(OFFLINE, 'online', T);
    const closedEarly = rules.disconnect(rules.connect(beat, T + 1_000), T + 2_000, true);
    expect(rules.deadline(closedEarly, config)).toBe(T + 60_000);
    const closedLate = rules.disconnect(rules.connect(beat, T + 1_000), T + 58_000, true);
    expect(rules.deadline(closedLate, config)).toBe(T + 63_000);
  });

  it('a reconnect within the grace clears the deadline: no flap', () => {
    const closed = rules.disconnect(rules.connect(OFFLINE, T), T + 1_000, true);
    const back = rules.connect(closed, T + 2_000);
    expect(back.status).toBe('online');
    expect(rules.deadline(back, config)).toBeNull();
  });

  it('two sockets: closing one keeps the user live', () => {
    const two = rules.connect(rules.connect(OFFLINE, T), T + 1);
    expect(rules.deadline(rules.disconnect(two, T + 2, true), config)).toBeNull();
  });

  it('a socket whose process died counts from its last refresh plus the timeout', () => {
    const held = rules.touch(rules.connect(OFFLINE, T), T + 20_000);
    // The dead process's count no longer counts: the store reports no live connections.
    const orphan = { ...held, connections: 0 };
    expect(rules.deadline(orphan, config)).toBe(T + 80_000);
  });

  it('an offline heartbeat holds against open sockets until a new socket or heartbeat', () => {
    const open = rules.connect(OFFLINE, T);
    const off = accepted(open, 'offline', T + 1_000);
    expect(off).toMatchObject({ status: 'offline', connections: 1 });
    expect(rules.touch(off, T + 2_000)).toBe(off);
    expect(rules.deadline(off, config)).toBeNull();
    expect(rules.connect(off, T + 3_000)).toMatchObject({ status: 'online' });
    expect(accepted(off, 'online', T + 3_000)).toMatchObject({ status: 'online' });
  });

  it('a socket opening keeps an away status set by heartbeat', () => {
    const away = accepted(OFFLINE, 'away', T);
    expect(rules.connect(away, T + 1).status).toBe('away');
  });

  it('expiry keeps last_seen at the last activity, never the detection time', () => {
    const closed = rules.disconnect(rules.connect(OFFLINE, T), T + 10, true);
    const decision = rules.expire(closed, T + 999_999, config);
    expect(decision.expired && decision.state.lastSeen).toBe(T + 10);
  });

  it('keeps last_seen at the last activity: refreshes and cut sockets never move it', () => {
    const open = rules.connect(OFFLINE, T);
    const refreshed = rules.touch(open, T + 20_000);
    expect(refreshed).toMatchObject({ lastSeen: T, lastSocket: T + 20_000 });
    const active = rules.activity(refreshed, T + 25_000);
    expect(active.lastSeen).toBe(T + 25_000);
    expect(rules.disconnect(active, T + 60_000, false)).toMatchObject({
      lastSeen: T + 25_000,
      lastDisconnect: T + 60_000,
    });
    expect(rules.disconnect(active, T + 60_000, true).lastSeen).toBe(T + 60_000);
    expect(rules.activity(OFFLINE, T)).toBe(OFFLINE);
  });

  it('touching an offline user changes nothing', () => {
    expect(rules.touch(OFFLINE, T)).toBe(OFFLINE);
    expect(rules.expire(OFFLINE, T, config)).toEqual({ expired: false, deadline: null });
  });
});
