import {
  type ClientMessage,
  type PresenceStatus,
  parseServerMessage,
  type UserPresence,
} from '@presence/protocol';
import { applyFrame } from './apply-frame.js';
import {
  connectionUrl,
  defaultUrl,
  deriveWsUrl,
  deviceOf,
  heartbeatLoop,
  idleDetector,
  type PresenceClientOptions,
  webSocketClass,
} from './client-options.js';
import { CustomStatusClient } from './custom-status.js';
import type { HeartbeatLoop } from './heartbeat-loop.js';
import { httpHeartbeat } from './http-heartbeat.js';
import type { IdleDetector } from './idle-detector.js';
import { PresenceStore } from './presence-store.js';
import { ReconnectingSocket } from './reconnecting-socket.js';
import { fetchStatuses } from './statuses.js';
import { resolveToken, userIdFromToken } from './token.js';
import type { ConnectionState, DeviceInfo, HeartbeatResult, HeartbeatTransport } from './types.js';
import type { TypingIndicator } from './typing-indicator.js';
import { TypingIndicators } from './typing-indicator.js';
import { idFrames, WatchList } from './watch-list.js';

/**
 * A live view of who is online, away or typing, kept current over one WebSocket, plus this user's own
 * heartbeats, idle detection and typing etiquette.
 *
 * @example
 * const client = new PresenceClient({ url: 'https://presence.example.com', token: () => fetchToken() });
 * client.on('status', (u) => render(u.user_id, formatLastSeen(u)));
 * client.on('typing', (t) => showTyping(t.conversation_id, t.user_id, t.is_typing));
 * await client.connect(); // resolves once the first snapshot is in the store
 * await client.setInvisible(true); // privacy settings over HTTP (see PrivacySettingsClient)
 * await client.setCustomStatus({ emoji: '🍕', text: 'Lunch' }); // see CustomStatusClient
 */
export class PresenceClient extends CustomStatusClient {
  readonly #options: PresenceClientOptions;
  readonly #wsUrl: string;
  readonly #device: DeviceInfo;
  readonly #socket: ReconnectingSocket;
  readonly #store = new PresenceStore();
  readonly #transport: HeartbeatTransport | null;
  readonly #heartbeat: HeartbeatLoop | null;
  readonly #idle: IdleDetector | null;
  readonly #typing: TypingIndicators;
  #token: string | null = null;
  #state: ConnectionState = 'closed';
  #active = false;
  #waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  #chosen: 'online' | 'away' = 'online';
  #offline = false;
  #announced: PresenceStatus = 'online';
  /** With `subscribe: 'manual'`, the users watched: sent again on every connection. */
  readonly #watched = new WatchList();

  constructor(options: PresenceClientOptions) {
    super(options);
    this.#options = options;
    // The base URL only serves to derive the WebSocket URL and for the default HTTP heartbeat.
    const needsUrl = !options.wsUrl || options.heartbeat === undefined;
    const url = options.url ?? (needsUrl ? defaultUrl() : '');
    this.#wsUrl = options.wsUrl ?? deriveWsUrl(url);
    this.#device = deviceOf(options);
    this.#typing = new TypingIndicators((message) => this.#send(message), options.typing);
    this.#socket = new ReconnectingSocket({
      WebSocket: webSocketClass(options),
      url: () => this.#socketUrl(),
      backoff: options.reconnect,
      onConnecting: () => this.#setState('connecting'),
      onMessage: (text) => this.#onFrame(text),
      onClose: () => this.#dropped(),
      onFailure: (stage, error) =>
        this.emit('error', {
          code: stage === 'url' ? 'token_failed' : 'connect_failed',
          message: String(error),
        }),
    });
    this.#transport = options.heartbeat === false ? null : (options.heartbeat ?? httpHeartbeat({ url }));
    this.#heartbeat =
      this.#transport &&
      heartbeatLoop(options, this.#transport, this.#device, {
        token: (fresh) => this.#getToken(fresh),
        emit: (event, value) => this.emit(event, value),
      });
    this.#idle = idleDetector(options, () => this.#applyStatus());
  }

  /**
   * `open` once the first snapshot of the current socket has been applied.
   *
   * @example
   * if (client.connectionState !== 'open') banner.textContent = 'reconnecting…';
   */
  get connectionState(): ConnectionState {
    return this.#state;
  }

  /**
   * The status this client reports for its own user.
   *
   * @example
   * myDot.className = client.status; // 'online', 'away' while idle, 'offline' after goOffline()
   */
  get status(): PresenceStatus {
    if (this.#offline) return 'offline';
    return this.#idle?.idle ? 'away' : this.#chosen;
  }

  /**
   * The device this client is: its WebSocket and heartbeats share it, so its status is its own.
   *
   * @example
   * console.log(client.device); // { id: 'q3V9xk2LrP0aZ-7_', kind: 'web' }
   */
  get device(): DeviceInfo {
    return { ...this.#device };
  }

  /**
   * The user id of the token, once a token has been fetched (or as given in the options).
   *
   * @example
   * await client.connect();
   * const me = client.userId;
   */
  get userId(): number | null {
    return this.#options.userId ?? (this.#token ? userIdFromToken(this.#token) : null);
  }

  /**
   * The presence of one visible user, or of oneself (from the snapshot's `self`).
   *
   * @example
   * const bob = client.get(42); // { user_id: 42, status: 'away', last_seen: '2025-11-27T12:00:00.000Z' }
   */
  get(userId: number): UserPresence | undefined {
    return this.#store.get(userId);
  }

  /**
   * Every visible user the client knows of.
   *
   * @example
   * const online = client.users().filter((u) => u.status !== 'offline');
   */
  users(): UserPresence[] {
    return this.#store.list();
  }

  /**
   * Ids of the users typing in a conversation now.
   *
   * @example
   * hint.hidden = client.typingIn(7).length === 0;
   */
  typingIn(conversationId: number): number[] {
    return this.#store.typingIn(conversationId);
  }

  /**
   * With `subscribe: 'manual'`, starts watching these users: their presence arrives (as `status` events) and
   * then their changes, for as long as they are watched, across reconnects. Users not visible to this user
   * are silently left out by the server. At most 5000 watched at once (a RangeError beyond).
   *
   * @example
   * const client = new PresenceClient({ url, token, subscribe: 'manual' });
   * await client.connect();
   * client.subscribe(visibleRows.map((row) => row.userId));
   */
  subscribe(userIds: readonly number[]): void {
    if (this.#options.subscribe !== 'manual')
      throw new TypeError("PresenceClient: subscribe() needs the option subscribe: 'manual'");
    this.#sendIds('presence.subscribe', this.#watched.add(userIds));
  }

  /**
   * Stops watching these users; they leave the store.
   *
   * @example
   * client.unsubscribe(rowsScrolledAway.map((row) => row.userId));
   */
  unsubscribe(userIds: readonly number[]): void {
    const removed = this.#watched.remove(userIds);
    this.#store.forget(removed);
    this.#sendIds('presence.unsubscribe', removed);
  }

  /**
   * The presence of these users now, over HTTP (`POST /api/presence/statuses/`), without watching them: the
   * ones visible to this user, in the order asked; others are left out. At most 1000 ids.
   *
   * @example
   * const [bob, carol] = await client.getStatuses([42, 43]);
   */
  getStatuses(userIds: readonly number[]): Promise<UserPresence[]> {
    return fetchStatuses(this.#options.url ?? defaultUrl(), (fresh) => this.#getToken(fresh), userIds);
  }

  /**
   * Opens the connection (and heartbeats and idle detection) and keeps it open, reconnecting with
   * back-off after any drop. Resolves when a snapshot is in the store; rejects only if `close()` comes first.
   *
   * @example
   * await client.connect();
   * console.log(client.users());
   */
  connect(): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      if (this.#state === 'open') resolve();
      else this.#waiters.push({ resolve, reject });
    });
    if (!this.#active) {
      this.#active = true;
      this.#offline = false;
      this.#announceOwn();
      this.#idle?.start();
      this.#heartbeat?.start(this.status);
      // Until the first snapshot the socket is not keeping the user present; heartbeats cover the gap.
      this.#heartbeat?.setPeriodic(true);
      this.#socket.start();
    }
    return ready;
  }

  /**
   * Sets the status this user chooses; idle detection still reports `away` while idle.
   *
   * @example
   * await client.setStatus('away'); // "be right back"
   */
  async setStatus(status: 'online' | 'away'): Promise<HeartbeatResult | null> {
    this.#chosen = status;
    return this.#applyStatus();
  }

  /**
   * Sends a heartbeat now. Resolves to `rate_limited` when the server had one too recently, which is fine;
   * null when the client sends no heartbeats (`heartbeat: false`).
   *
   * @example
   * const result = await client.heartbeat(); // 'sent', 'rate_limited', 'unauthorized' or 'failed'
   */
  async heartbeat(): Promise<HeartbeatResult | null> {
    return this.#heartbeat ? this.#heartbeat.beat() : null;
  }

  /**
   * Signs off: tells the server `offline` at once (others see it without waiting for the disconnect grace),
   * then closes the connection. `connect()` brings the user back.
   *
   * @example
   * logoutButton.onclick = () => client.goOffline();
   */
  async goOffline(): Promise<void> {
    this.#offline = true;
    this.#announceOwn();
    this.#shutdown();
    if (this.#heartbeat) await this.#heartbeat.setStatus('offline');
    this.#socket.close();
  }

  /**
   * Closes the connection without saying offline: the server marks the user offline after its grace.
   *
   * @example
   * window.addEventListener('pagehide', () => client.close());
   */
  close(): void {
    this.#shutdown();
    this.#socket.close();
    this.#transport?.close?.();
  }

  /**
   * The typing helper of a conversation (one per conversation, created on first use).
   *
   * @example
   * const typing = client.typing(42);
   * input.oninput = () => typing.keystroke();
   * input.onblur = () => typing.stop();
   */
  typing(conversationId: number): TypingIndicator {
    return this.#typing.of(conversationId);
  }

  /** Stops what runs by itself. The caller closes the socket: `goOffline` first sends its offline heartbeat. */
  #shutdown(): void {
    this.#active = false;
    this.#socket.stop();
    this.#idle?.stop();
    this.#heartbeat?.stop();
    this.#typing.resetAll();
    const closed = new Error('PresenceClient closed before the snapshot arrived');
    for (const waiter of this.#waiters.splice(0)) waiter.reject(closed);
  }

  /** Emits `ownStatus` when what this client reports for its user changed (a choice, idle, offline). */
  #announceOwn(): void {
    const status = this.status;
    if (status === this.#announced) return;
    this.#announced = status;
    this.emit('ownStatus', status);
  }

  #applyStatus(): Promise<HeartbeatResult | null> {
    this.#announceOwn();
    if (!this.#active) return Promise.resolve(null);
    const status = this.status;
    // Over an open socket the status travels as a frame: an `away` heartbeat would keep the user present for
    // the whole PRESENCE_TIMEOUT_MS after the tab closes, instead of the short disconnect grace.
    if ((status === 'online' || status === 'away') && this.#send({ type: 'presence.status.set', status })) {
      this.#heartbeat?.remember(status);
      return Promise.resolve('sent');
    }
    if (!this.#heartbeat) return Promise.resolve(null);
    return this.#heartbeat.setStatus(status);
  }

  async #getToken(fresh: boolean): Promise<string> {
    if (fresh || this.#token === null) this.#token = await resolveToken(this.#options.token);
    return this.#token;
  }

  /** A fresh token for every connection: a close with 4001 means the last one expired. */
  async #socketUrl(): Promise<string> {
    const token = await this.#getToken(true);
    return connectionUrl(this.#wsUrl, token, this.#device, this.#options.subscribe ?? 'all');
  }

  /** Ids in as many frames as the server's limits take; nothing while closed. */
  #sendIds(type: 'presence.subscribe' | 'presence.unsubscribe', ids: readonly number[]): void {
    for (const frame of idFrames(ids)) {
      if (this.#send({ type, user_ids: frame }) && type === 'presence.subscribe') this.#watched.asked(frame);
    }
  }

  #send(message: ClientMessage): boolean {
    return this.#state === 'open' && this.#socket.send(JSON.stringify(message));
  }

  #onFrame(text: string): void {
    const message = parseServerMessage(text);
    if (!message) return;
    if (message.type === 'error') {
      this.emit('error', { code: message.code, message: message.message });
      return;
    }
    const manual = this.#options.subscribe === 'manual' ? this.#watched : null;
    const changes = applyFrame(this.#store, message, this.userId, manual);
    for (const change of changes.status) this.emit('status', change);
    for (const change of changes.typing) this.emit('typing', change);
    if (message.type !== 'presence.snapshot') return;
    this.#socket.resetBackoff();
    this.#setState('open');
    this.#heartbeat?.setPeriodic(false);
    this.emit('snapshot', this.#store.list());
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
    // A new socket may count as "online" on the server; restate away if that is what this user is.
    if (this.status !== 'online') void this.#applyStatus();
    // Only oneself comes in a manual snapshot: the watched users are asked for again.
    this.#sendIds('presence.subscribe', this.#watched.all());
  }

  /** Local clean-up after the socket is gone: typing seen so far can no longer be cleared by the server. */
  #dropped(): void {
    this.#watched.dropped();
    this.#typing.resetAll();
    for (const change of this.#store.clearTyping()) this.emit('typing', change);
    this.#setState('closed');
    if (this.#active && this.#heartbeat) {
      // A heartbeat now keeps the user present for PRESENCE_TIMEOUT_MS instead of the short disconnect grace,
      // so a reconnect after a server restart goes unnoticed by contacts; then beat until the socket is back.
      void this.#heartbeat.beat();
      this.#heartbeat.setPeriodic(true);
    }
  }

  /** The answer of a custom status change: in the store (if no newer one is) before the call resolves. */
  protected override ownPresence(presence: UserPresence): void {
    const change = this.#store.applyStatus(presence);
    if (change) this.emit('status', change);
  }

  #setState(state: ConnectionState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.emit('connection', state);
  }
}
