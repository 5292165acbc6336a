import { describe, expect, it } from 'vitest';
import * as rules from '../src/core/rules.js';
import { type DeviceRef, OFFLINE, type RuleConfig, type UserState } from '../src/core/rules.js';

const config: RuleConfig = {
  presenceTimeoutMs: 60_000,
  disconnectGraceMs: 5_000,
  heartbeatMinIntervalMs: 10_000,
};
const T = 1_000_000;
const TAB_A: DeviceRef = { id: 'tab-a', kind: 'web' };
const TAB_B: DeviceRef = { id: 'tab-b', kind: 'web' };
const PHONE: DeviceRef = { id: 'phone', kind: 'mobile' };

function accepted(state: UserState, status: UserState['status'], at: number, ref?: DeviceRef): UserState {
  const decision = rules.heartbeat(state, status, at, config, ref);
  if (!decision.accepted) throw new Error(`heartbeat at ${at} refused`);
  return decision.state;
}

describe('liveness rules (pure, with the time passed in)', () => {
  it('a first heartbeat is a change; it sets last_seen, last heartbeat and the default device', () => {
    const decision = rules.heartbeat(OFFLINE, 'online', T, config);
    expect(decision).toEqual({
      accepted: true,
      changed: true,
      state: {
        status: 'online',
        lastSeen: T,
        lastHeartbeat: T,
        v: T,
        devices: {
          default: {
            status: 'online',
            kind: 'web',
            lastHeartbeat: T,
            lastSocket: null,
            lastDisconnect: null,
            connections: 0,
          },
        },
      },
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

  it('the rate limit is per device: another device heartbeats at once', () => {
    const state = accepted(OFFLINE, 'online', T, TAB_A);
    expect(rules.heartbeat(state, 'online', T + 1, config, TAB_B).accepted).toBe(true);
    expect(rules.heartbeat(state, 'online', T + 1, config, TAB_A).accepted).toBe(false);
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
    expect(rules.expire(state, T + 59_999, config)).toEqual({ state, changed: false, deadline: T + 60_000 });
    expect(rules.expire(state, T + 60_000, config)).toEqual({
      state: { ...state, status: 'offline', devices: {}, v: T + 60_000 },
      changed: true,
      deadline: null,
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

  it('on one device, the later of the two deadlines wins', () => {
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

  it('two sockets of a device: closing one keeps the user live', () => {
    const two = rules.connect(rules.connect(OFFLINE, T), T + 1);
    expect(rules.deadline(rules.disconnect(two, T + 2, true), config)).toBeNull();
  });

  it('a socket whose process died counts from its last refresh plus the timeout', () => {
    const held = rules.touch(rules.connect(OFFLINE, T), T + 20_000, 'default', 1);
    // The dead process's count no longer counts: the store reports no live connections.
    const orphan = rules.touch(held, T + 20_000, 'default', 0);
    expect(rules.deadline(orphan, config)).toBe(T + 80_000);
  });

  it('an offline heartbeat holds its device against open sockets until a new socket or heartbeat', () => {
    const open = rules.connect(OFFLINE, T);
    const off = accepted(open, 'offline', T + 1_000);
    expect(off).toMatchObject({
      status: 'offline',
      devices: { default: { status: 'offline', connections: 1 } },
    });
    expect(rules.touch(off, T + 2_000, 'default', 1)).toEqual(off);
    expect(rules.deadline(off, config)).toBeNull();
    expect(rules.connect(off, T + 3_000)).toMatchObject({ status: 'online' });
    expect(accepted(off, 'online', T + 3_000)).toMatchObject({ status: 'online' });
  });

  it('a socket opening keeps an away status set by heartbeat on its device', () => {
    const away = accepted(OFFLINE, 'away', T);
    expect(rules.connect(away, T + 1).status).toBe('away');
  });

  it('expiry keeps last_seen at the last activity, never the detection time', () => {
    const closed = rules.disconnect(rules.connect(OFFLINE, T), T + 10, true);
    const decision = rules.expire(closed, T + 999_999, config);
    expect(decision).toMatchObject({ changed: true, state: { status: 'offline', lastSeen: T + 10 } });
  });

  it('keeps last_seen at the last activity: refreshes and cut sockets never move it', () => {
    const open = rules.connect(OFFLINE, T);
    const refreshed = rules.touch(open, T + 20_000, 'default', 1);
    expect(refreshed).toMatchObject({ lastSeen: T, devices: { default: { lastSocket: T + 20_000 } } });
    const active = rules.activity(refreshed, T + 25_000);
    expect(active.lastSeen).toBe(T + 25_000);
    expect(rules.disconnect(active, T + 60_000, false)).toMatchObject({
      lastSeen: T + 25_000,
      devices: { default: { lastDisconnect: T + 60_000 } },
    });
    expect(rules.disconnect(active, T + 60_000, true).lastSeen).toBe(T + 60_000);
    expect(rules.activity(OFFLINE, T)).toBe(OFFLINE);
  });

  it('touching an offline user changes nothing', () => {
    expect(rules.touch(OFFLINE, T, 'default', 1)).toBe(OFFLINE);
    expect(rules.expire(OFFLINE, T, config)).toEqual({ state: OFFLINE, changed: false, deadline: null });
  });
});

describe('devices (contract section 11)', () => {
  it('one idle tab never makes an active user away', () => {
    const both = rules.connect(rules.connect(OFFLINE, T, TAB_A), T, TAB_B);
    const idle = rules.setStatus(both, 'away', T + 1_000, TAB_A.id);
    expect(idle).toMatchObject({ status: 'online', v: both.v });
    expect(rules.clientsOf(idle.devices)).toEqual({ web: 'online' });
    const bothIdle = rules.setStatus(idle, 'away', T + 2_000, TAB_B.id);
    expect(bothIdle).toMatchObject({ status: 'away' });
    expect(bothIdle.v).toBeGreaterThan(both.v);
  });

  it('two devices heartbeating different statuses do not flip the user', () => {
    let state = accepted(accepted(OFFLINE, 'online', T, TAB_A), 'away', T, PHONE);
    const v = state.v;
    for (let beat = 1; beat <= 5; beat++) {
      state = accepted(state, 'online', T + beat * 10_000, TAB_A);
      state = accepted(state, 'away', T + beat * 10_000, PHONE);
      expect(state.status).toBe('online');
    }
    expect(state.v).toBe(v);
    expect(rules.clientsOf(state.devices)).toEqual({ web: 'online', mobile: 'away' });
  });

  it('clients change the version even when the status does not', () => {
    const web = accepted(OFFLINE, 'online', T, TAB_A);
    const plusPhone = accepted(web, 'away', T + 1, PHONE);
    expect(plusPhone.status).toBe('online');
    expect(plusPhone.v).toBeGreaterThan(web.v);
  });

  it('each device times out on its own; the user stays with what is left', () => {
    const state = accepted(accepted(OFFLINE, 'online', T, TAB_A), 'away', T + 30_000, PHONE);
    expect(rules.deadline(state, config)).toBe(T + 60_000);
    const first = rules.expire(state, T + 60_000, config);
    expect(first).toMatchObject({ changed: true, deadline: T + 90_000, state: { status: 'away' } });
    expect(rules.clientsOf(first.state.devices)).toEqual({ mobile: 'away' });
    expect(first.state.lastSeen).toBe(T + 30_000);
    const second = rules.expire(first.state, T + 90_000, config);
    expect(second).toMatchObject({
      changed: true,
      deadline: null,
      state: { status: 'offline', devices: {} },
    });
  });

  it('an offline heartbeat ends only its own device', () => {
    const both = accepted(accepted(OFFLINE, 'online', T, TAB_A), 'online', T, PHONE);
    const phoneOff = accepted(both, 'offline', T + 1, PHONE);
    expect(phoneOff.status).toBe('online');
    expect(Object.keys(phoneOff.devices)).toEqual(['tab-a']);
  });

  it('a socket and heartbeats naming the same device are one device', () => {
    const beat = accepted(OFFLINE, 'away', T, PHONE);
    const socket = rules.connect(beat, T + 1, PHONE);
    expect(Object.keys(socket.devices)).toEqual(['phone']);
    expect(socket.status).toBe('away');
  });

  it('clients keys round-trip in a fixed order', () => {
    const key = rules.clientsKey({ mobile: 'away', web: 'online' });
    expect(key).toBe('web=online,mobile=away');
    expect(rules.parseClientsKey(key)).toEqual({ web: 'online', mobile: 'away' });
    expect(rules.parseClientsKey('')).toEqual({});
    expect(rules.parseClientsKey('tv=online,web=busy')).toEqual({});
  });
});
