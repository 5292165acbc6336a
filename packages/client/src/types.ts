import type { ClientKind, PresenceStatus } from '@presence/protocol';

/**
 * The part of a WebSocket the SDK uses. The browser's `WebSocket` and the `ws` package both fit.
 *
 * The handlers take `never` so that any implementation's richer event type is accepted; the SDK only
 * reads `data` of a message event and `code` of a close event, which both implementations provide.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers, `WebSocket` from the `ws` package in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** `readyState` of an open socket, the same in every implementation (RFC 6455 API). */
export const WS_OPEN = 1;

/**
 * A user token, or a function that returns a fresh one. The function is called before every
 * (re)connection and after a 401, so short-lived tokens work without restarting the client.
 */
export type TokenSource = string | (() => string | Promise<string>);

/** What one heartbeat attempt came to. `rate_limited` (HTTP 429) is a normal answer, not a failure. */
export type HeartbeatResult = 'sent' | 'rate_limited' | 'unauthorized' | 'failed';

/** Which device of the user a connection and its heartbeats are (contract section 11). */
export interface DeviceInfo {
  /** 1 to 64 characters of `[A-Za-z0-9_-]`. */
  id: string;
  kind: ClientKind;
}

/** Carries heartbeats to the server: over HTTP in browsers, over UDP in Node (see `@presence/client/node`). */
export interface HeartbeatTransport {
  send(status: PresenceStatus, token: string, userId: number, device?: DeviceInfo): Promise<HeartbeatResult>;
  /** Frees sockets; called by `PresenceClient.close()`. */
  close?(): void;
}

/** State of the WebSocket connection, as reported by the `connection` event. */
export type ConnectionState = 'connecting' | 'open' | 'closed';
