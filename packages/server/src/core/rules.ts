import type { PresenceStatus } from '@presence/protocol';

/**
 * The liveness rules as plain functions over data, with time passed in. Each device of a user (a WebSocket, or
 * a heartbeat source naming a device) is live while a socket of it is open or its last heartbeat is younger
 * than the timeout, and ends after the later of timeout and close grace; the user is as available as the most
 * available live device (contract sections 5 and 11). The in-memory store applies these directly; the Redis
 * store runs the same rules in Lua (store/redis/lua/), and one conformance suite holds both to them.
 */

export type ClientKind = 'web' | 'mobile' | 'desktop';
export const CLIENT_KINDS: readonly ClientKind[] = ['web', 'mobile', 'desktop'];
/** The device of a heartbeat that names none. */
export const DEFAULT_DEVICE = 'default';

/** The most available status per kind of client over live devices; empty when offline. */
export type Clients = Partial<Record<ClientKind, 'online' | 'away'>>;

/** Which device a liveness signal comes from. */
export interface DeviceRef {
  id: string;
  kind: ClientKind;
}
/**
 * Most devices a user may have: a heartbeat that would add one more is refused as rate limited, so one token
 * cannot make thousands of devices (each a field every decision about the user reads).
 */
export const MAX_DEVICES_PER_USER = 32;

export const DEFAULT_DEVICE_REF: DeviceRef = Object.freeze({ id: DEFAULT_DEVICE, kind: 'web' });

/** What a store keeps per device. Times are epoch ms. */
export interface DeviceState {
  /** `offline` only while a socket of the device is open after its offline heartbeat (the hold). */
  status: PresenceStatus;
  kind: ClientKind;
  /** Last accepted heartbeat of this device. */
  lastHeartbeat: number | null;
  /** Last WebSocket liveness of this device: connect, periodic refresh or close. */
  lastSocket: number | null;
  /** When its last WebSocket closed. */
  lastDisconnect: number | null;
  /** Open WebSockets of this device on live processes. */
  connections: number;
}

/**
 * A custom status as stored (contract section 14): at least one of text and emoji; the expiry in epoch ms,
 * null for one that stays until cleared.
 */
export interface StoredCustom {
  text: string | null;
  emoji: string | null;
  expiresAt: number | null;
}

/** What a store keeps per user. Times are epoch ms. */
export interface UserState {
  /** The status last decided (and announced): the most available over live devices. */
  status: PresenceStatus;
  /** Last heartbeat or WebSocket activity over all devices (what users see as last_seen). */
  lastSeen: number | null;
  /** Last accepted UDP or HTTP heartbeat of any device (stored in PostgreSQL). */
  lastHeartbeat: number | null;
  /** Version of the presence: grows with every change of status or clients (0 before the first). */
  v: number;
  /** Devices that are live, or held offline by an open socket; a device that ends is removed. */
  devices: Readonly<Record<string, DeviceState>>;
  /** The custom status; kept while offline, until it expires or is cleared (absent: none). */
  custom?: StoredCustom | null;
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
  v: 0,
  devices: Object.freeze({}),
});

const later = (a: number | null, b: number): number => (a === null || b > a ? b : a);
const RANK = { offline: 0, away: 1, online: 2 } as const;

/**
 * The version of a change made at `at`: above the last one, and never below the time of the change, so that
 * versions keep growing when the last one is lost with the hot state (a restart, an expired hash).
 */
export const nextVersion = (v: number, at: number): number => Math.max(v + 1, at);

/** The most available status per kind over the live devices. */
export function clientsOf(devices: Readonly<Record<string, DeviceState>>): Clients {
  const clients: Clients = {};
  for (const kind of CLIENT_KINDS) {
    let best: PresenceStatus = 'offline';
    for (const device of Object.values(devices))
      if (device.kind === kind && RANK[device.status] > RANK[best]) best = device.status;
    if (best !== 'offline') clients[kind] = best;
  }
  return clients;
}

/** `web=online,mobile=away`: clients in a fixed order, as the Redis hash stores them and changes compare. */
export function clientsKey(clients: Clients): string {
  return CLIENT_KINDS.filter((k) => clients[k] !== undefined)
    .map((k) => `${k}=${clients[k]}`)
    .join(',');
}

export function parseClientsKey(text: string | undefined): Clients {
  const clients: Clients = {};
  for (const pair of (text ?? '').split(',')) {
    const [kind, status] = pair.split('=');
    if (CLIENT_KINDS.includes(kind as ClientKind) && (status === 'online' || status === 'away'))
      clients[kind as ClientKind] = status;
  }
  return clients;
}

/** The user's status from the devices: online if any is online, else away if any is live, else offline. */
export function statusOf(clients: Clients): PresenceStatus {
  const statuses = Object.values(clients);
  if (statuses.includes('online')) return 'online';
  return statuses.length > 0 ? 'away' : 'offline';
}

/**
 * The user after its devices changed: status from the devices, and a new version when status or clients
 * differ from before (a change to announce).
 */
function settle(
  before: UserState,
  devices: Record<string, DeviceState>,
  at: number,
  times: Partial<Pick<UserState, 'lastSeen' | 'lastHeartbeat'>> = {},
): UserState {
  const clients = clientsOf(devices);
  const status = statusOf(clients);
  const changed = status !== before.status || clientsKey(clients) !== clientsKey(clientsOf(before.devices));
  return {
    ...before,
    ...times,
    status,
    devices,
    v: changed ? nextVersion(before.v, at) : before.v,
  };
}

/** Whether `after` is a change from `before` that subscribers must hear about. */
export const changedBetween = (before: UserState, after: UserState): boolean => after.v !== before.v;

const blankDevice = (kind: ClientKind): DeviceState => ({
  status: 'offline',
  kind,
  lastHeartbeat: null,
  lastSocket: null,
  lastDisconnect: null,
  connections: 0,
});

/** The devices with `id` replaced, or removed when it ended (offline with no socket holding it). */
function withDevice(
  devices: Readonly<Record<string, DeviceState>>,
  id: string,
  device: DeviceState,
): Record<string, DeviceState> {
  const next = { ...devices };
  if (device.status === 'offline' && device.connections <= 0) delete next[id];
  else next[id] = device;
  return next;
}

export type HeartbeatDecision =
  | { accepted: true; state: UserState; changed: boolean }
  | { accepted: false; retryAfterMs: number };

/**
 * A heartbeat of a device claiming `claimed`. An unchanged one within the minimum interval of that device's
 * last accepted one is refused with the time left; any other is accepted and moves last_seen.
 */
export function heartbeat(
  state: UserState,
  claimed: PresenceStatus,
  at: number,
  rules: RuleConfig,
  ref: DeviceRef = DEFAULT_DEVICE_REF,
): HeartbeatDecision {
  const known = state.devices[ref.id] !== undefined;
  if (!known && claimed !== 'offline' && Object.keys(state.devices).length >= MAX_DEVICES_PER_USER)
    return { accepted: false, retryAfterMs: rules.heartbeatMinIntervalMs };
  const device = state.devices[ref.id] ?? blankDevice(ref.kind);
  // A device an offline heartbeat ended is gone with its last heartbeat: the user's stands in for it.
  const last =
    device.lastHeartbeat ??
    (state.devices[ref.id] === undefined && claimed === 'offline' ? state.lastHeartbeat : null);
  if (claimed === device.status && last !== null) {
    const elapsed = at - last;
    if (elapsed < rules.heartbeatMinIntervalMs) {
      return { accepted: false, retryAfterMs: rules.heartbeatMinIntervalMs - Math.max(0, elapsed) };
    }
  }
  const devices = withDevice(state.devices, ref.id, {
    ...device,
    status: claimed,
    kind: ref.kind,
    lastHeartbeat: later(device.lastHeartbeat, at),
  });
  const after = settle(state, devices, at, {
    lastSeen: later(state.lastSeen, at),
    lastHeartbeat: later(state.lastHeartbeat, at),
  });
  return { accepted: true, changed: changedBetween(state, after), state: after };
}

/** A WebSocket of a device opened: the device is online at once (an away it had stays away). */
export function connect(state: UserState, at: number, ref: DeviceRef = DEFAULT_DEVICE_REF): UserState {
  const device = state.devices[ref.id] ?? blankDevice(ref.kind);
  const devices = withDevice(state.devices, ref.id, {
    ...device,
    kind: ref.kind,
    status: device.status === 'offline' ? 'online' : device.status,
    connections: device.connections + 1,
    lastSocket: later(device.lastSocket, at),
  });
  return settle(state, devices, at, { lastSeen: later(state.lastSeen, at) });
}

/**
 * A status chosen over an open WebSocket (online or away), for that socket's device. It is socket activity,
 * not a heartbeat: the device still ends with its last socket, after the grace. It also lifts an offline hold.
 */
export function setStatus(
  state: UserState,
  status: 'online' | 'away',
  at: number,
  deviceId: string = DEFAULT_DEVICE,
  kind: ClientKind = 'web',
): UserState {
  const device = state.devices[deviceId] ?? blankDevice(kind);
  const devices = withDevice(state.devices, deviceId, {
    ...device,
    status,
    lastSocket: later(device.lastSocket, at),
  });
  return settle(state, devices, at, { lastSeen: later(state.lastSeen, at) });
}

/**
 * A WebSocket of a device closed. Never a transition by itself: the device ends from `expire` after the grace.
 * A clean close (the client said goodbye) is the user's last activity; a socket cut because it stopped
 * answering is not, so last_seen stays at its last answer.
 */
export function disconnect(
  state: UserState,
  at: number,
  clean: boolean,
  deviceId: string = DEFAULT_DEVICE,
): UserState {
  const lastSeen = clean ? later(state.lastSeen, at) : state.lastSeen;
  const device = state.devices[deviceId];
  if (device === undefined) return { ...state, lastSeen };
  const devices = withDevice(state.devices, deviceId, {
    ...device,
    connections: Math.max(0, device.connections - 1),
    lastSocket: later(device.lastSocket, at),
    lastDisconnect: later(device.lastDisconnect, at),
  });
  return { ...state, lastSeen, devices };
}

/**
 * The periodic refresh of a held socket's device, stating how many sockets of it the process holds: it stays
 * live, but a refresh is no sign the user did anything. A device that ended stays ended.
 */
export function touch(state: UserState, at: number, deviceId: string, sockets: number): UserState {
  const device = state.devices[deviceId];
  if (device === undefined) return state;
  const refreshed =
    device.status === 'offline' ? device : { ...device, lastSocket: later(device.lastSocket, at) };
  return { ...state, devices: { ...state.devices, [deviceId]: { ...refreshed, connections: sockets } } };
}

/** Activity over an open WebSocket (a client frame, a pong): it moves last_seen, and never revives offline. */
export function activity(state: UserState, at: number): UserState {
  if (state.status === 'offline') return state;
  return { ...state, lastSeen: later(state.lastSeen, at) };
}

/**
 * When a device ends if nothing more happens: the later of last heartbeat + timeout and last close + grace.
 * Null while an offline hold or a WebSocket keeps it. A socket that never closed cleanly (its process died)
 * counts from its last refresh + timeout, the crash-safe path.
 */
export function deviceDeadline(device: DeviceState, rules: RuleConfig): number | null {
  if (device.status === 'offline' || device.connections > 0) return null;
  let due: number | null = null;
  if (device.lastHeartbeat !== null) due = device.lastHeartbeat + rules.presenceTimeoutMs;
  if (device.lastSocket !== null) {
    const orphaned = device.lastDisconnect === null || device.lastSocket > device.lastDisconnect;
    const socketDue = orphaned
      ? device.lastSocket + rules.presenceTimeoutMs
      : (device.lastDisconnect as number) + rules.disconnectGraceMs;
    due = later(due, socketDue);
  }
  return due;
}

/**
 * When the user's presence next changes if nothing more happens: the earliest device deadline. Null while
 * offline, or while every live device is held by a socket. A user marked live with no device left (state
 * from before devices, or a refill) ends a timeout after last_seen.
 */
export function deadline(state: UserState, rules: RuleConfig): number | null {
  if (state.status === 'offline') return null;
  const devices = Object.values(state.devices);
  if (devices.length === 0) return (state.lastSeen ?? 0) + rules.presenceTimeoutMs;
  let due: number | null = null;
  for (const device of devices) {
    const d = deviceDeadline(device, rules);
    if (d !== null && (due === null || d < due)) due = d;
  }
  return due;
}

export interface ExpireDecision {
  /** The user with every device past its deadline removed. */
  state: UserState;
  /** True when that changed status or clients (announce it). */
  changed: boolean;
  /** When to look again. */
  deadline: number | null;
}

/**
 * Ends the devices whose deadline has passed; last_seen stays the last activity, never the time of detection.
 */
export function expire(state: UserState, at: number, rules: RuleConfig): ExpireDecision {
  const due = deadline(state, rules);
  if (due === null || due > at) return { state, changed: false, deadline: due };
  const devices: Record<string, DeviceState> = {};
  for (const [id, device] of Object.entries(state.devices)) {
    const d = deviceDeadline(device, rules);
    if (d === null || d > at) devices[id] = device;
  }
  const after = settle(state, devices, at);
  return { state: after, changed: changedBetween(state, after), deadline: deadline(after, rules) };
}
