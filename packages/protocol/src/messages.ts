import type { ErrorCode } from './errors.js';
import {
  type ClientKind,
  type Clients,
  type CustomStatus,
  isClientKind,
  isDeviceId,
  isId,
  isStatus,
  type PresenceStatus,
  type UserPresence,
} from './presence.js';

/** Server to client: every user of visible(me), sent first on every connection. */
export interface SnapshotMessage {
  type: 'presence.snapshot';
  users: UserPresence[];
  /** One's own presence as others see it, so a page shows the truth about itself. */
  self?: SelfPresence;
}

/** One's own presence in the snapshot; `invisible` says whether others see it as offline. */
export interface SelfPresence extends UserPresence {
  invisible: boolean;
}

/** Server to client: a transition of a visible user or of oneself. */
export interface StatusMessage extends UserPresence {
  type: 'presence.status';
}

/** Server to client: someone started or stopped typing in a conversation one takes part in. */
export interface TypingMessage {
  type: 'presence.typing';
  user_id: number;
  conversation_id: number;
  is_typing: boolean;
}

/** Server to client: a bad client frame; the connection stays open. */
export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
}

/**
 * Server to client, with `subscribe=manual`: the current presence of the users a `presence.subscribe` asked
 * for that are in visible(me); their changes follow.
 */
export interface SubscribedMessage {
  type: 'presence.subscribed';
  users: UserPresence[];
}

export type ServerMessage =
  | SnapshotMessage
  | StatusMessage
  | TypingMessage
  | SubscribedMessage
  | ErrorMessage;

export interface TypingStartMessage {
  type: 'presence.typing.start';
  conversation_id: number;
}

export interface TypingStopMessage {
  type: 'presence.typing.stop';
  conversation_id: number;
}

/**
 * Sets this user's status over the open connection (idle detection, "be right back"). Unlike an `away`
 * heartbeat it does not extend presence past the connection: closing it still means offline after the grace.
 */
export interface StatusSetMessage {
  type: 'presence.status.set';
  status: 'online' | 'away';
}

/** With `subscribe=manual`: start (or stop) receiving the presence of these users (contract section 15). */
export interface SubscribeMessage {
  type: 'presence.subscribe' | 'presence.unsubscribe';
  user_ids: number[];
}

export type ClientMessage = TypingStartMessage | TypingStopMessage | StatusSetMessage | SubscribeMessage;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * Validates a client frame at the edge, so the core sees only well-formed messages.
 *
 * @example
 * const parsed = parseClientMessage('{"type":"presence.typing.start","conversation_id":7}');
 * if (parsed.ok) service.startTyping(me, parsed.value.conversation_id);
 */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, message: 'frame is not JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, message: 'frame must be a JSON object' };
  }
  const { type, conversation_id, status, user_ids } = data as Record<string, unknown>;
  if (type === 'presence.subscribe' || type === 'presence.unsubscribe') {
    // The count is the session's to judge (an error `limit`); the shape is the parser's.
    if (!Array.isArray(user_ids) || user_ids.length === 0 || !user_ids.every(isId))
      return { ok: false, message: 'user_ids must be a non-empty array of positive integer user ids' };
    return { ok: true, value: { type, user_ids: user_ids as number[] } };
  }
  if (type === 'presence.status.set') {
    if (status !== 'online' && status !== 'away')
      return { ok: false, message: 'status must be online or away' };
    return { ok: true, value: { type, status } };
  }
  if (type !== 'presence.typing.start' && type !== 'presence.typing.stop') {
    return {
      ok: false,
      message:
        'unknown type; expected presence.typing.start, presence.typing.stop, presence.status.set, ' +
        'presence.subscribe or presence.unsubscribe',
    };
  }
  if (!isId(conversation_id)) {
    return { ok: false, message: 'conversation_id must be a positive integer' };
  }
  return { ok: true, value: { type, conversation_id } };
}

function isPresence(value: unknown): value is UserPresence {
  if (typeof value !== 'object' || value === null) return false;
  const { user_id, status, last_seen, v } = value as Record<string, unknown>;
  return (
    isId(user_id) &&
    isStatus(status) &&
    (last_seen === null || typeof last_seen === 'string') &&
    typeof v === 'number' &&
    Number.isSafeInteger(v) &&
    v >= 0
  );
}

/** Clients as sent, keeping only known kinds with a live status (an older server sends none: empty). */
function clientsOf(value: unknown): Clients {
  const clients: Clients = {};
  if (typeof value !== 'object' || value === null) return clients;
  for (const [kind, status] of Object.entries(value)) {
    if (isClientKind(kind) && (status === 'online' || status === 'away')) clients[kind] = status;
  }
  return clients;
}

/** A custom status as sent, or null when absent or broken (an older server sends none). */
function customOf(value: unknown): CustomStatus | null {
  if (typeof value !== 'object' || value === null) return null;
  const { text, emoji, expires_at } = value as Record<string, unknown>;
  const str = (x: unknown): string | null => (typeof x === 'string' && x !== '' ? x : null);
  const custom = { text: str(text), emoji: str(emoji), expires_at: str(expires_at) };
  return custom.text === null && custom.emoji === null ? null : custom;
}

/** Picks the wire fields only, so extra fields a newer server adds never leak into a client's store. */
function presenceOf(value: UserPresence): UserPresence {
  return {
    user_id: value.user_id,
    status: value.status,
    last_seen: value.last_seen,
    v: value.v,
    clients: clientsOf(value.clients),
    custom: customOf(value.custom),
  };
}

/**
 * Validates a server frame at the client's edge. An unknown type yields null rather than an error: the
 * server may add message types, and an older client must ignore them. A known type with a broken field
 * yields null too; snapshot entries that are broken are dropped one by one.
 *
 * @example
 * socket.onmessage = (event) => {
 *   const message = parseServerMessage(event.data);
 *   if (message?.type === 'presence.status') render(message.user_id, message.status);
 * };
 */
export function parseServerMessage(text: string): ServerMessage | null {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const frame = data as Record<string, unknown>;
  switch (frame.type) {
    case 'presence.snapshot': {
      if (!Array.isArray(frame.users)) return null;
      const users = frame.users.filter(isPresence).map(presenceOf);
      const self = frame.self as Record<string, unknown> | undefined;
      if (!isPresence(self)) return { type: 'presence.snapshot', users };
      return {
        type: 'presence.snapshot',
        users,
        self: { ...presenceOf(self), invisible: (self as { invisible?: unknown }).invisible === true },
      };
    }
    case 'presence.status':
      return isPresence(frame) ? { type: 'presence.status', ...presenceOf(frame) } : null;
    case 'presence.subscribed':
      if (!Array.isArray(frame.users)) return null;
      return { type: 'presence.subscribed', users: frame.users.filter(isPresence).map(presenceOf) };
    case 'presence.typing': {
      const { user_id, conversation_id, is_typing } = frame;
      if (!isId(user_id) || !isId(conversation_id) || typeof is_typing !== 'boolean') return null;
      return { type: 'presence.typing', user_id, conversation_id, is_typing };
    }
    case 'error': {
      const { code, message } = frame;
      if (typeof code !== 'string' || typeof message !== 'string') return null;
      // Passed through as sent: a code newer than this catalog is still worth reporting.
      return { type: 'error', code: code as ErrorCode, message };
    }
    default:
      return null;
  }
}

/** The UDP heartbeat datagram, at most MAX_UDP_PACKET_BYTES of JSON. `timestamp` is Unix seconds. */
export interface HeartbeatPacket {
  user_id: number;
  token: string;
  timestamp: number;
  status?: PresenceStatus;
  /** The device it comes from (1 to 64 of `[A-Za-z0-9_-]`); absent: `default`. */
  device?: string;
  /** What kind of client the device is; absent: `web`. */
  client?: ClientKind;
}

/** Why a heartbeat datagram was dropped: the `reason` label of `presence_udp_packets_total`. */
export const UdpDropReasons = [
  'oversize',
  'not_json',
  'bad_fields',
  'bad_token',
  'user_mismatch',
  'stale_timestamp',
  'rate_limited',
  'unavailable',
  'overloaded',
] as const;
export type UdpDropReason = (typeof UdpDropReasons)[number];

/**
 * Validates the shape of a heartbeat datagram (not its token or timestamp window).
 *
 * @example
 * const parsed = parseHeartbeatPacket(datagram.toString('utf8'));
 */
export function parseHeartbeatPacket(
  text: string,
): { ok: true; value: HeartbeatPacket } | { ok: false; reason: 'not_json' | 'bad_fields' } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not_json' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return { ok: false, reason: 'bad_fields' };
  const { user_id, token, timestamp, status, device, client } = data as Record<string, unknown>;
  if (!isId(user_id) || typeof token !== 'string' || token.length === 0)
    return { ok: false, reason: 'bad_fields' };
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp <= 0) {
    return { ok: false, reason: 'bad_fields' };
  }
  if (status !== undefined && !isStatus(status)) return { ok: false, reason: 'bad_fields' };
  if (device !== undefined && !isDeviceId(device)) return { ok: false, reason: 'bad_fields' };
  if (client !== undefined && !isClientKind(client)) return { ok: false, reason: 'bad_fields' };
  const value: HeartbeatPacket = { user_id, token, timestamp };
  if (status !== undefined) value.status = status;
  if (device !== undefined) value.device = device;
  if (client !== undefined) value.client = client;
  return { ok: true, value };
}
