import {
  type ClientKind,
  isClientKind,
  isDeviceId,
  type PresenceStatus,
  type UserPresence,
  WS_PATH,
} from '@presence/protocol';
import type { BackoffOptions } from './backoff.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, HeartbeatLoop, type HeartbeatLoopOptions } from './heartbeat-loop.js';
import { IdleDetector, type VisibilitySource } from './idle-detector.js';
import type { StatusEvent, TypingEvent } from './presence-store.js';
import { userIdFromToken } from './token.js';
import type {
  ConnectionState,
  DeviceInfo,
  HeartbeatResult,
  HeartbeatTransport,
  TokenSource,
  WebSocketConstructor,
} from './types.js';
import type { TypingIndicatorOptions } from './typing-indicator.js';

/** Default time without input before a browser client reports `away`: five minutes. */
export const DEFAULT_IDLE_MS = 5 * 60_000;

export interface IdleOptions {
  /** No input for this long reports `away`, ms. Default five minutes. */
  idleMs?: number;
  /** Where input events arrive. Default `window`. */
  target?: EventTarget;
  /** Page visibility; hidden counts as idle. Default `document`. */
  document?: VisibilitySource;
  /** A page hidden this long counts as idle, ms. Default 5000. */
  hiddenMs?: number;
}

export interface PresenceClientOptions {
  /** The user token, or a function returning a fresh one (called before every connection and after a 401). */
  token: TokenSource;
  /** Base URL of the service, `http(s)://host:port`. Default: the page's origin. */
  url?: string;
  /** WebSocket URL. Default: `url` with a ws(s) scheme and the `/ws` path. */
  wsUrl?: string;
  /** The token's user id; by default read from the token's `sub`. Only the UDP heartbeat needs it. */
  userId?: number;
  /** WebSocket class. Default `globalThis.WebSocket`; in Node 20 pass `WebSocket` from the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** Heartbeat transport; default HTTP heartbeats to `url`; `false` sends none (the socket alone keeps presence). */
  heartbeat?: HeartbeatTransport | false;
  /** Heartbeat period, ms; keep it well under the server's PRESENCE_TIMEOUT_MS. Default 20000. */
  heartbeatIntervalMs?: number;
  /** Reconnect back-off. */
  reconnect?: BackoffOptions;
  /** Idle detection; on by default where there is a `document` (browsers), `false` turns it off. */
  idle?: IdleOptions | false;
  /** Typing etiquette; set `ttlMs` to the server's TYPING_TTL_MS when it is not the default 3000. */
  typing?: TypingIndicatorOptions;
  /**
   * This device's id (1 to 64 characters of `[A-Za-z0-9_-]`): the WebSocket and the heartbeats of this client
   * are one device on the server, with its own status (contract section 11), so an idle tab never makes the
   * user away while another tab or the phone is active. Default: in a browser, a random id per tab kept in
   * sessionStorage (a reload stays the same device); elsewhere a random id per client instance. A mobile or
   * desktop app passes an id that stays the same across restarts.
   */
  device?: string;
  /** What kind of client this is: `web` (default), `mobile` or `desktop`; others see it in `clients`. */
  client?: ClientKind;
  /**
   * `all` (default): the snapshot and every change of every visible user. `manual`: only oneself until
   * `subscribe(ids)` names the users to watch (a contact list of thousands, showing a few hundred at once).
   */
  subscribe?: 'all' | 'manual';
}

/** A problem worth logging: an error frame from the server, or a heartbeat or token failure. */
export interface ClientError {
  code: string;
  message: string;
}

/** The events of a `PresenceClient`, by name. */
export interface PresenceClientEvents {
  /**
   * A user's presence changed: `status`, `clients`, `custom` or `last_seen` (including the first time the
   * client hears of them).
   */
  status: StatusEvent;
  /** Someone started or stopped typing in a conversation this user takes part in. */
  typing: TypingEvent;
  /** A snapshot arrived and the store was re-synced from it; carries every visible user. */
  snapshot: UserPresence[];
  /** `open` once the socket is up and the snapshot applied; `closed` when it drops or is closed. */
  connection: ConnectionState;
  /**
   * What this client reports for its own user changed: a `setStatus`, idle detection, `goOffline`. Others see
   * the most available over all the user's devices: that is the user's own `status` event.
   */
  ownStatus: PresenceStatus;
  /** A heartbeat went out (or could not). */
  heartbeat: { status: PresenceStatus; result: HeartbeatResult };
  error: ClientError;
}

/** A random device id: 16 characters of `[A-Za-z0-9_-]`, from the platform's CSPRNG. */
export function randomDeviceId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let id = '';
  for (const byte of bytes) id += alphabet[byte & 63];
  return id;
}

/** Where a browser tab keeps its device id: per tab, and kept across reloads of that tab. */
export const DEVICE_STORAGE_KEY = 'presence.device';

/**
 * The default device id: in a browser, one per tab kept in sessionStorage (a reload is the same device, so
 * contacts see no change); elsewhere, or where storage is refused, a fresh one.
 */
export function defaultDeviceId(): string {
  const storage = (globalThis as { sessionStorage?: Storage }).sessionStorage;
  try {
    const kept = storage?.getItem(DEVICE_STORAGE_KEY);
    if (kept && isDeviceId(kept)) return kept;
    const id = randomDeviceId();
    storage?.setItem(DEVICE_STORAGE_KEY, id);
    return id;
  } catch {
    return randomDeviceId();
  }
}

/** The page's origin: a browser client's default service URL. */
export function defaultUrl(): string {
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
  if (!origin || origin === 'null')
    throw new TypeError('PresenceClient: pass `url`, there is no page origin here');
  return origin;
}

/** The WebSocket endpoint of a service URL: same host, ws(s) scheme, `/ws` path. */
export function deriveWsUrl(url: string): string {
  const ws = new URL(WS_PATH, url);
  ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
  return ws.toString();
}

/** The device a client is, from its options; a TypeError for a bad `device` or `client`. */
export function deviceOf(options: PresenceClientOptions): DeviceInfo {
  if (options.device !== undefined && !isDeviceId(options.device))
    throw new TypeError('PresenceClient: `device` must be 1 to 64 characters of [A-Za-z0-9_-]');
  if (options.client !== undefined && !isClientKind(options.client))
    throw new TypeError("PresenceClient: `client` must be 'web', 'mobile' or 'desktop'");
  return { id: options.device ?? defaultDeviceId(), kind: options.client ?? 'web' };
}

/** The WebSocket class to use: the option, else the global one (browsers, Node 22+). */
export function webSocketClass(options: PresenceClientOptions): WebSocketConstructor {
  const ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!ctor)
    throw new TypeError('PresenceClient: no global WebSocket; in Node pass `WebSocket` from the ws package');
  return ctor;
}

/** Idle detection as the options ask: on by default where there is a `document` (browsers). */
export function idleDetector(options: PresenceClientOptions, onChange: () => void): IdleDetector | null {
  const hasDocument = typeof (globalThis as { document?: unknown }).document !== 'undefined';
  const idle = options.idle ?? (hasDocument ? {} : false);
  if (idle === false) return null;
  return new IdleDetector({
    idleMs: idle.idleMs ?? DEFAULT_IDLE_MS,
    ...(idle.target ? { target: idle.target } : {}),
    ...(idle.document ? { document: idle.document } : {}),
    ...(idle.hiddenMs === undefined ? {} : { hiddenMs: idle.hiddenMs }),
    onChange,
  });
}

/** The WebSocket URL of one connection: a fresh token, this device, and the subscription mode. */
export function connectionUrl(
  wsUrl: string,
  token: string,
  device: DeviceInfo,
  subscribe: 'all' | 'manual',
): string {
  const url = new URL(wsUrl);
  url.searchParams.set('token', token);
  url.searchParams.set('device', device.id);
  url.searchParams.set('client', device.kind);
  if (subscribe === 'manual') url.searchParams.set('subscribe', 'manual');
  return url.toString();
}

/** The error event a heartbeat's result deserves, if any (429 is a normal answer). */
export function heartbeatError(result: HeartbeatResult): ClientError | null {
  if (result === 'unauthorized') return { code: 'unauthorized', message: 'heartbeat token rejected' };
  if (result === 'failed') return { code: 'heartbeat_failed', message: 'heartbeat not sent' };
  return null;
}

/** Emits one of a client's events. */
export type EmitClientEvent = <K extends keyof PresenceClientEvents>(
  event: K,
  value: PresenceClientEvents[K],
) => void;

/**
 * The heartbeat loop of a client that sends heartbeats, speaking for its device: each result is a `heartbeat`
 * event, and a failure an `error` event too.
 */
export function heartbeatLoop(
  options: PresenceClientOptions,
  transport: HeartbeatTransport,
  device: DeviceInfo,
  hooks: Pick<HeartbeatLoopOptions, 'token'> & { emit: EmitClientEvent },
): HeartbeatLoop {
  return new HeartbeatLoop({
    transport,
    intervalMs: options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    device,
    userId: (token) => options.userId ?? userIdFromToken(token),
    token: hooks.token,
    onResult: (result, status) => {
      hooks.emit('heartbeat', { status, result });
      const error = heartbeatError(result);
      if (error) hooks.emit('error', error);
    },
  });
}
