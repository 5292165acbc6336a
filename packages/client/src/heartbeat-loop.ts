import type { PresenceStatus } from '@presence/protocol';
import type { DeviceInfo, HeartbeatResult, HeartbeatTransport } from './types.js';

/** Default heartbeat period: three per default PRESENCE_TIMEOUT_MS (60 s), and above its 10 s rate limit. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 20_000;

export interface HeartbeatLoopOptions {
  transport: HeartbeatTransport;
  intervalMs: number;
  /** The device the heartbeats speak for: the same as the client's WebSocket, so both are one device. */
  device?: DeviceInfo;
  /** The current token; `fresh` asks the token source again (after a 401). */
  token(fresh: boolean): Promise<string>;
  userId(token: string): number | null;
  onResult(result: HeartbeatResult, status: PresenceStatus): void;
}

/**
 * Sends status changes at once and, while `periodic`, the current status every `intervalMs`. The timer is
 * re-armed after each beat, so a status change resets the period instead of adding a beat.
 *
 * The client turns the period on only while its WebSocket is down. An open socket already keeps the user
 * present, and every heartbeat extends presence to PRESENCE_TIMEOUT_MS after it: beating alongside an open
 * socket would turn the short disconnect grace after a closed tab into a minute. (It also sidesteps timer
 * throttling in background tabs, where a socket needs no timer.)
 */
export class HeartbeatLoop {
  readonly #options: HeartbeatLoopOptions;
  #status: PresenceStatus = 'online';
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #periodic = false;

  constructor(options: HeartbeatLoopOptions) {
    this.#options = options;
  }

  get status(): PresenceStatus {
    return this.#status;
  }

  /** Starts with `status`, without sending: the connection itself makes the user present. */
  start(status: PresenceStatus): void {
    this.#running = true;
    this.#status = status;
    this.#arm();
  }

  /** Turns the periodic beat on (the socket is down) or off (the socket is open). */
  setPeriodic(periodic: boolean): void {
    this.#periodic = periodic;
    this.#arm();
  }

  stop(): void {
    this.#running = false;
    this.#periodic = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Changes the status without sending it (it went over the WebSocket); later beats carry it. */
  remember(status: PresenceStatus): void {
    this.#status = status;
  }

  /** Changes the status and sends it now. */
  setStatus(status: PresenceStatus): Promise<HeartbeatResult> {
    this.#status = status;
    return this.beat();
  }

  /** Sends the current status now and restarts the period. */
  async beat(): Promise<HeartbeatResult> {
    const status = this.#status;
    this.#arm();
    let result = await this.#send(status, false);
    // A token that expired since the last connect: ask the token source for a fresh one, once.
    if (result === 'unauthorized') result = await this.#send(status, true);
    this.#options.onResult(result, status);
    return result;
  }

  async #send(status: PresenceStatus, fresh: boolean): Promise<HeartbeatResult> {
    let token: string;
    try {
      token = await this.#options.token(fresh);
    } catch {
      return 'failed';
    }
    const userId = this.#options.userId(token);
    if (userId === null) return 'failed';
    return this.#options.transport.send(status, token, userId, this.#options.device);
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#running || !this.#periodic) return;
    this.#timer = setTimeout(() => void this.beat(), this.#options.intervalMs);
  }
}
