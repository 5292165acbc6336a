import { CloseCodes } from '@presence/protocol';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { type WebSocketConstructor, type WebSocketLike, WS_OPEN } from './types.js';

/** Timer functions, so that tests can own time. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ReconnectingSocketOptions {
  /** WebSocket class: `globalThis.WebSocket` in browsers, `WebSocket` from `ws` in Node. */
  WebSocket: WebSocketConstructor;
  /** The URL to connect to, asked again before every attempt (a fresh token goes into it). */
  url(): string | Promise<string>;
  /** Reconnect back-off. */
  backoff?: BackoffOptions;
  /** An attempt begins: the URL is being resolved and the socket opened. */
  onConnecting(): void;
  /** A text frame of the current socket. */
  onMessage(text: string): void;
  /** The current socket is gone: closed by the peer, dropped, or closed by `close()` (code 1000). */
  onClose(code: number): void;
  /** An attempt failed before a socket existed: `url` threw, or the WebSocket constructor did. */
  onFailure(stage: 'url' | 'connect', error: unknown): void;
  /** Jitter source for the back-off. Default `Math.random`. */
  random?: () => number;
  /** Default the global timers. */
  timers?: Timers;
}

const globalTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * One WebSocket kept open: after any drop it waits a back-off delay with full jitter and connects again,
 * until `stop()`. It knows nothing of presence; the frames it carries are plain text.
 *
 * @example
 * const socket = new ReconnectingSocket({
 *   WebSocket,
 *   url: async () => `wss://presence.example.com/ws?token=${await fetchToken()}`,
 *   onConnecting: () => {},
 *   onMessage: (text) => console.log(text),
 *   onClose: (code) => console.log('closed', code),
 *   onFailure: (stage, error) => console.warn(stage, error),
 * });
 * socket.start();
 */
export class ReconnectingSocket {
  readonly #options: ReconnectingSocketOptions;
  readonly #timers: Timers;
  #socket: WebSocketLike | null = null;
  #running = false;
  /** Bumped on every attempt and on stop, so a late callback of an old attempt does nothing. */
  #generation = 0;
  #attempt = 0;
  #timer: unknown;

  constructor(options: ReconnectingSocketOptions) {
    this.#options = options;
    this.#timers = options.timers ?? globalTimers;
  }

  /** Connects, and keeps reconnecting after drops until `stop()`. Does nothing when already started. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#attempt = 0;
    void this.#connect();
  }

  /**
   * Stops reconnecting and abandons an attempt in progress; a socket already open stays open until
   * `close()`, so that a last message can still go out over it.
   */
  stop(): void {
    this.#running = false;
    this.#generation++;
    this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Stops, and closes the current socket with a normal closure; `onClose` reports it at once. */
  close(): void {
    this.stop();
    const socket = this.#socket;
    if (!socket) return;
    this.#socket = null;
    socket.close(CloseCodes.NORMAL);
    this.#options.onClose(CloseCodes.NORMAL);
  }

  /** Sends a text frame; false when no socket is open. */
  send(text: string): boolean {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WS_OPEN) return false;
    socket.send(text);
    return true;
  }

  /** The connection proved healthy: the next drop starts again from the shortest delay. */
  resetBackoff(): void {
    this.#attempt = 0;
  }

  async #connect(): Promise<void> {
    const generation = ++this.#generation;
    this.#options.onConnecting();
    let url: string;
    try {
      url = await this.#options.url();
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#options.onFailure('url', error);
      this.#schedule(false);
      return;
    }
    if (generation !== this.#generation) return;
    let socket: WebSocketLike;
    try {
      socket = new this.#options.WebSocket(url);
    } catch (error) {
      this.#options.onFailure('connect', error);
      this.#schedule(false);
      return;
    }
    this.#socket = socket;
    // `never`-typed handler slots accept any event shape; these are the fields both implementations provide.
    socket.onmessage = (event: { data: unknown }) => {
      if (socket === this.#socket && typeof event.data === 'string') this.#options.onMessage(event.data);
    };
    socket.onclose = (event: { code: number }) => {
      if (socket !== this.#socket) return;
      this.#socket = null;
      this.#options.onClose(event.code);
      // A newer connection of the same user took this one's place: coming back would push that one out.
      if (event.code === CloseCodes.TOO_MANY_SOCKETS) return;
      this.#schedule(event.code === CloseCodes.GOING_AWAY || event.code === CloseCodes.TOKEN_EXPIRED);
    };
    // A failed upgrade (401, network) shows up as an error followed by a close; the close handler acts.
    socket.onerror = () => {};
  }

  #schedule(soon: boolean): void {
    if (!this.#running) return;
    // A server going away or an expired token is not a failure: come back after the first, shortest delay.
    const attempt = soon ? 0 : this.#attempt++;
    const delay = backoffDelay(attempt, this.#options.backoff, this.#options.random);
    this.#timers.clearTimeout(this.#timer);
    this.#timer = this.#timers.setTimeout(() => void this.#connect(), delay);
  }
}
