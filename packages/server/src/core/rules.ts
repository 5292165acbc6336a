import type { PresenceStatus } from '@presence/protocol';

/**
 * The liveness rules (online while a socket is open or the last heartbeat is younger than the timeout;
 * offline after the later of timeout and close grace) as plain functions over data, with time passed in. The
 * in-memory store applies them directly; the Redis store runs the same rules in Lua (store/redis/lua/),
 * and one conformance suite holds both to them.
 */

/** What a store keeps per user to decide liveness. Times are epoch ms. */
export interface UserState {
  status: PresenceStatus;
  /** Last heartbeat or WebSocket activity (what users see as last_seen). */
  lastSeen: number | null;
  /** Last accepted UDP or HTTP heartbeat. */
  lastHeartbeat: number | null;
  /** Open WebSockets on live processes. */
  connections: number;
  /** Last WebSocket liveness: connect, periodic refresh or close. */
  lastSocket: number | null;
  /** When the last WebSocket closed cleanly. */
  lastDisconnect: number | null;
  /** Version of the presence: grows with every change (0 before the first). */
  v: number;
}

export interface RuleConfig {
  presenceTimeoutMs: number;
  disconnectGraceMs: number;
  heartbeatMinIntervalMs: number;
}

export const OFFLINE: UserState = Object.freeze({
  status: 'offline',
  lastSeen: null,
  lastHeartbeat: null,
  connections: 0,
  lastSocket: null,
  lastDisconnect: null,
  v: 0,
});

const later = (a: number | null, b: number): number => (a === null || b > a ? b : a);

/**
 * The version of a change made at `at`: above the last one, and never below the time of the change, so that
 * versions keep growing when the last one is lost with the hot state (a restart, an expired hash).
 */
export const nextVersion = (v: number, at: number): number => Math.max(v + 1, at);

/** `after` with its version moved on when its status differs from `before`'s. */
function versioned(before: UserState, after: UserState, at: number): UserState {
  return after.status === before.status ? after : { ...after, v: nextVersion(before.v, at) };
}

export type HeartbeatDecision =
  | { accepted: true; state: UserState; changed: boolean }
  | { accepted: false; retryAfterMs: number };

/**
 * A heartbeat claiming `claimed`. An unchanged one within the minimum interval of the last accepted one is
 * refused with the time left; any other is accepted and moves last_seen.
 */
export function heartbeat(
  state: UserState,
  claimed: PresenceStatus,
  at: number,
  rules: RuleConfig,
): HeartbeatDecision {
  const unchanged = claimed === state.status;
  if (unchanged && state.lastHeartbeat !== null) {
    const elapsed = at - state.lastHeartbeat;
    if (elapsed < rules.heartbeatMinIntervalMs) {
      return { accepted: false, retryAfterMs: rules.heartbeatMinIntervalMs - Math.max(0, elapsed) };
    }
  }
  const after = {
    ...state,
    status: claimed,
    lastSeen: later(state.lastSeen, at),
    lastHeartbeat: later(state.lastHeartbeat, at),
  };
  return { accepted: true, changed: !unchanged, state: versioned(state, after, at) };
}

/** A WebSocket opened: online at once (an away set by heartbeat stays away). */
export function connect(state: UserState, at: number): UserState {
  return versioned(
    state,
    {
      ...state,
      status: state.status === 'offline' ? 'online' : state.status,
      connections: state.connections + 1,
      lastSeen: later(state.lastSeen, at),
      lastSocket: later(state.lastSocket, at),
    },
    at,
  );
}

/**
 * A status chosen over an open WebSocket (online or away). It is socket activity, not a heartbeat: presence
 * still ends with the last socket, after the grace. It also lifts an offline hold, as a new socket would.
 */
export function setStatus(state: UserState, status: 'online' | 'away', at: number): UserState {
  const after = {
    ...state,
    status,
    lastSeen: later(state.lastSeen, at),
    lastSocket: later(state.lastSocket, at),
  };
  return versioned(state, after, at);
}

/**
 * A WebSocket closed. Never a transition by itself: offline comes from `expire` after the grace. A clean close
 * (the client said goodbye) is the user's last activity; a socket cut because it stopped answering is not, so
 * last_seen stays at its last answer and nobody ever sees the time the server gave up on it.
 */
export function disconnect(state: UserState, at: number, clean: boolean): UserState {
  return {
    ...state,
    connections: Math.max(0, state.connections - 1),
    lastSeen: clean ? later(state.lastSeen, at) : state.lastSeen,
    lastSocket: later(state.lastSocket, at),
    lastDisconnect: later(state.lastDisconnect, at),
  };
}

/** The periodic refresh of a held socket: it stays live, but a refresh is no sign the user did anything. */
export function touch(state: UserState, at: number): UserState {
  if (state.status === 'offline') return state;
  return { ...state, lastSocket: later(state.lastSocket, at) };
}

/** Activity over an open WebSocket (a client frame, a pong): it moves last_seen, and never revives offline. */
export function activity(state: UserState, at: number): UserState {
  if (state.status === 'offline') return state;
  return { ...state, lastSeen: later(state.lastSeen, at) };
}

/**
 * When the user goes offline if nothing more happens: the later of last heartbeat + timeout and last close +
 * grace. Null while offline already or while a WebSocket is open. A socket that never closed cleanly (its
 * process died) counts from its last refresh + timeout, the crash-safe path.
 */
export function deadline(state: UserState, rules: RuleConfig): number | null {
  if (state.status === 'offline' || state.connections > 0) return null;
  let due: number | null = null;
  if (state.lastHeartbeat !== null) due = state.lastHeartbeat + rules.presenceTimeoutMs;
  if (state.lastSocket !== null) {
    const orphaned = state.lastDisconnect === null || state.lastSocket > state.lastDisconnect;
    const socketDue = orphaned
      ? state.lastSocket + rules.presenceTimeoutMs
      : (state.lastDisconnect as number) + rules.disconnectGraceMs;
    due = later(due, socketDue);
  }
  return due ?? (state.lastSeen ?? 0) + rules.presenceTimeoutMs;
}

export type ExpireDecision =
  | { expired: true; state: UserState }
  | { expired: false; deadline: number | null };

/** Offline when the deadline has passed; last_seen stays the last activity, never the time of detection. */
export function expire(state: UserState, at: number, rules: RuleConfig): ExpireDecision {
  const due = deadline(state, rules);
  if (due === null || due > at) return { expired: false, deadline: due };
  return { expired: true, state: { ...state, status: 'offline', v: nextVersion(state.v, at) } };
}
