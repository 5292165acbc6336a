import {
  type ClientMessage,
  CloseCodes,
  ErrorCodes,
  type ErrorMessage,
  parseClientMessage,
  type SnapshotMessage,
  type SubscribedMessage,
} from '@presence/protocol';
import { type Bus, userGroup } from './ports.js';
import type { PresenceService } from './presence-service.js';
import type { DeviceRef } from './rules.js';
import { Subscriptions } from './subscriptions.js';
import { TokenBucket } from './token-bucket.js';
import type { UserId } from './types.js';
import { decodeNotice, HiddenUsers, subjectOf } from './visibility-notices.js';
import type { WatchHandle, WatchIndex } from './watch-index.js';

/** What a session needs of a WebSocket (the `ws` library's socket has all of it). */
export interface SocketLike {
  send(payload: string): void;
  close(code: number, reason: string): void;
  /** Bytes queued for the peer and not yet written to the network. */
  readonly bufferedAmount: number;
}

export interface SessionLimits {
  /** Bytes queued for a client before it counts as not reading and is closed with 4008. */
  maxBufferedBytes: number;
  /** Bad frames (refused or rate limited) within `badFrameWindowMs` before the connection is closed with 1008. */
  maxBadFrames: number;
  badFrameWindowMs: number;
  /** Status changes (`presence.status.set`) per second per connection, with bursts up to `statusBurst`. */
  statusPerSecond: number;
  statusBurst: number;
  /** Typing starts per second per connection, with bursts up to `typingBurst` (stops are never limited). */
  typingPerSecond: number;
  typingBurst: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxBufferedBytes: 1024 * 1024,
  maxBadFrames: 20,
  badFrameWindowMs: 60_000,
  statusPerSecond: 2,
  statusBurst: 10,
  typingPerSecond: 5,
  typingBurst: 20,
};

export interface SessionOptions {
  service: Pick<
    PresenceService,
    | 'connect'
    | 'disconnect'
    | 'activity'
    | 'snapshot'
    | 'self'
    | 'setStatus'
    | 'startTyping'
    | 'stopTyping'
    | 'statuses'
  >;
  /** The process's watch index (PresenceService.watches). */
  watches: Pick<WatchIndex, 'watch'>;
  bus: Bus;
  socket: SocketLike;
  userId: UserId;
  /** The device this connection is (contract section 11): named by the client, or its own. */
  device: DeviceRef;
  /**
   * `all` (default): the snapshot and every change of visible(me). `manual` (contract section 15): the
   * snapshot holds only `self`, and changes of others come only for the users the client subscribed to.
   */
  subscribe?: 'all' | 'manual';
  /** When the connection's token expires (epoch ms): the connection ends then, with 4001. */
  tokenExpiresAt: number;
  clock: () => number;
  limits: SessionLimits;
  /** Why the session closed its socket, for the metrics ('slow_consumer', 'abuse'). */
  onClosedByServer?: (reason: 'slow_consumer' | 'abuse') => void;
  /** Each frame sent to the client, by kind. */
  onSent?: (kind: 'status' | 'typing') => void;
  onError?: (error: unknown, context: string) => void;
}

type ErrorName = keyof typeof ErrorCodes;

/**
 * One WebSocket connection's rules, apart from the socket library: the snapshot goes first and events that
 * arrive before it wait behind it; client frames are parsed, checked and handed to the service; bad frames
 * are answered and, past a budget, end the connection; a client that stops reading is closed instead of
 * buffered without bound; the connection lives no longer than its token.
 */
export class Session {
  /** Events held until the snapshot is out; null once it is. */
  private pending: string[] | null = [];
  private closed = false;
  /** Set once events stop flowing to this client (closed, or dropped as a slow consumer). */
  private muted = false;
  /** Users who left this user's visible set while this session was open (see HiddenUsers). */
  private readonly hidden = new HiddenUsers();
  /** With `subscribe=manual`, whom the client asked to hear about; null otherwise. */
  private readonly subscriptions: Subscriptions | null;
  /** Events held while `presence.subscribed` answers are on their way, so the changes come after them. */
  private held: string[] | null = null;
  /** Answers asked for and not yet sent. */
  private answersDue = 0;
  /** Subscribe answers go out one at a time, each after the first snapshot. */
  private subscribing: Promise<void>;
  /** A resync came while a snapshot was on its way. */
  private resyncAgain = false;
  private alive = true;
  private badFrames = 0;
  private badSince: number;
  private readonly unsubscribe: () => void;
  /** This connection's place in the watch index: changes of the users it watches come through it. */
  private readonly watching: Promise<WatchHandle>;
  private readonly connected: Promise<void>;

  private readonly statusBucket: TokenBucket;
  private readonly typingBucket: TokenBucket;

  constructor(private readonly options: SessionOptions) {
    this.badSince = options.clock();
    const { limits, clock } = options;
    const bucket = (perSecond: number, burst: number) => new TokenBucket({ perSecond, burst }, clock);
    this.statusBucket = bucket(limits.statusPerSecond, limits.statusBurst);
    this.typingBucket = bucket(limits.typingPerSecond, limits.typingBurst);
    const group = userGroup(options.userId);
    this.unsubscribe = options.bus.subscribe(group, (payload) => this.deliver(payload));
    this.subscriptions = options.subscribe === 'manual' ? new Subscriptions() : null;
    // The snapshot is read after the subscriptions hold, so a change it misses is one the bus brings.
    const subscribed = options.bus.ready?.(group) ?? Promise.resolve();
    const watcher = {
      viewer: options.userId,
      deliver: (p: string) => this.deliver(p),
      resync: () => this.resync(),
    };
    this.watching = subscribed.then(() => options.watches.watch(watcher, this.subscriptions !== null));
    // Closed before the index had it: let go of it now.
    this.watching.then((handle) => this.muted && handle.close()).catch(() => {});
    this.connected = Promise.all([
      this.watching,
      subscribed.then(() => options.service.connect(options.userId, options.device)),
    ]).then(() => {});
    const ready = this.connected.then(() => this.sendSnapshot());
    ready.catch((error) => {
      options.onError?.(error, 'connection setup');
      options.socket.close(CloseCodes.INTERNAL_ERROR, 'internal error');
    });
    this.subscribing = ready.catch(() => {});
  }

  /**
   * Sends a fresh snapshot, with the events that arrive meanwhile queued behind it: after the bus lost
   * broadcasts, the client re-syncs from it as it does after a reconnect.
   */
  resync(): void {
    if (this.muted) return;
    // A snapshot on its way may have been read before the gap: send another once it is out.
    if (this.pending !== null) {
      this.resyncAgain = true;
      return;
    }
    this.pending = [];
    this.sendSnapshot().catch((error) => {
      this.options.onError?.(error, 'resync');
      this.options.socket.close(CloseCodes.INTERNAL_ERROR, 'internal error');
    });
  }

  private async sendSnapshot(): Promise<void> {
    const { service, userId } = this.options;
    const [users, self] = await Promise.all([
      this.subscriptions === null ? service.snapshot(userId) : [],
      service.self(userId),
    ]);
    if (this.muted) return;
    const snapshot: SnapshotMessage = { type: 'presence.snapshot', users, self };
    this.options.socket.send(JSON.stringify(snapshot));
    for (const user of users) this.hidden.shown(user.user_id);
    const queued = this.pending ?? [];
    this.pending = null;
    for (const payload of queued) this.deliver(payload);
    if (this.resyncAgain) {
      this.resyncAgain = false;
      this.resync();
    }
  }

  get userId(): UserId {
    return this.options.userId;
  }

  /** Milliseconds until the token expires (0 when it has). */
  tokenExpiresIn(): number {
    return Math.max(0, this.options.tokenExpiresAt - this.options.clock());
  }

  /** The token expired: the client must come back with a fresh one. */
  expireToken(): void {
    this.options.socket.close(CloseCodes.TOKEN_EXPIRED, 'token expired');
  }

  /** The peer answered a ping: the socket lives, and so does the user behind it. */
  markAlive(): void {
    this.alive = true;
    this.options.service.activity(this.options.userId);
  }

  /** At each ping: false when the peer did not answer the previous one (drop it); else arms the next check. */
  checkAlive(): boolean {
    if (!this.alive) return false;
    this.alive = false;
    return true;
  }

  /** A text frame from the client (`null` for a binary frame, which the protocol does not allow). */
  receive(text: string | null): void {
    this.markAlive();
    const parsed =
      text === null
        ? ({ ok: false, message: 'frames must be JSON text' } as const)
        : parseClientMessage(text);
    if (!parsed.ok) return this.badFrame('BAD_FRAME', parsed.message);
    const message = parsed.value;
    const bucket =
      message.type === 'presence.status.set'
        ? this.statusBucket
        : message.type === 'presence.typing.start'
          ? this.typingBucket
          : null;
    if (bucket !== null && !bucket.take())
      return this.badFrame('RATE_LIMITED', `too many ${message.type} frames`);
    this.dispatch(message).then(
      (allowed) => {
        if (!allowed) this.badFrame('FORBIDDEN', 'not a participant of that conversation');
      },
      (error) => {
        this.options.onError?.(error, message.type);
        this.sendError('INTERNAL', 'internal error');
      },
    );
  }

  /**
   * The socket closed, whoever closed it. `clean` when the client closed it (its last activity); a socket cut
   * for not answering, or closed by the server, leaves last_seen at the client's last sign of life.
   */
  close(clean: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.mute();
    const { service, userId } = this.options;
    this.connected
      .then(() => service.disconnect(userId, clean, this.options.device))
      .catch((error) => this.options.onError?.(error, 'disconnect'));
  }

  private dispatch(message: ClientMessage): Promise<boolean> {
    const { service, userId } = this.options;
    switch (message.type) {
      case 'presence.subscribe':
      case 'presence.unsubscribe':
        this.subscribe(message.type, message.user_ids);
        return Promise.resolve(true);
      case 'presence.status.set':
        return service.setStatus(userId, message.status, this.options.device).then(() => true);
      case 'presence.typing.start':
        return service.startTyping(userId, message.conversation_id);
      case 'presence.typing.stop':
        return service.stopTyping(userId, message.conversation_id);
    }
  }

  private subscribe(type: 'presence.subscribe' | 'presence.unsubscribe', userIds: number[]): void {
    if (this.subscriptions === null) {
      this.badFrame('BAD_FRAME', `${type} needs a connection opened with subscribe=manual`);
      return;
    }
    if (type === 'presence.unsubscribe') {
      this.subscriptions.remove(userIds);
      // After the answers asked for before it, whose ids it may take back.
      this.subscribing = this.subscribing
        .then(async () => (await this.watching).unwant(userIds))
        .catch(() => {});
      return;
    }
    const verdict = this.subscriptions.add(userIds);
    if (!verdict.ok) {
      this.sendError('LIMIT', verdict.message);
      return;
    }
    this.answerSubscribe(verdict.ids);
  }

  /**
   * Sends `presence.subscribed` with the current presence of these users, after the snapshot and after any
   * earlier answer; changes that arrive meanwhile wait behind it. Every answer answers one frame, in order.
   */
  private answerSubscribe(ids: readonly number[]): void {
    const { service, userId } = this.options;
    // Held from now, not from when the answer's turn comes: a change read after the request waits for it.
    this.held ??= [];
    this.answersDue += 1;
    this.subscribing = this.subscribing.then(async () => {
      try {
        if (this.muted || this.subscriptions === null) return;
        // Their changes reach this connection before their presence is read: none falls in between.
        await (await this.watching).want(ids);
        const users = (await service.statuses(userId, ids)).filter((u) => u.user_id !== userId);
        // The answer is checked against the graph as it is now: a user it shows is visible again.
        for (const user of users) this.hidden.shown(user.user_id);
        const answer: SubscribedMessage = { type: 'presence.subscribed', users };
        if (!this.muted) this.write(JSON.stringify(answer));
      } catch (error) {
        this.options.onError?.(error, 'presence.subscribe');
        this.sendError('INTERNAL', 'internal error');
      } finally {
        this.answersDue -= 1;
        if (this.answersDue === 0) {
          const queued = this.held ?? [];
          this.held = null;
          for (const payload of queued) this.send(payload);
        }
      }
    });
  }

  private deliver(payload: string): void {
    if (this.pending !== null) this.pending.push(payload);
    else if (this.held !== null) this.held.push(payload);
    else this.send(payload);
  }

  /** With lazy subscriptions, a status frame about another user passes only when the client subscribed. */
  private wanted(payload: string): boolean {
    if (this.subscriptions === null || !payload.startsWith('{"type":"presence.status"')) return true;
    const subject = subjectOf(payload);
    return subject === null || subject === this.options.userId || this.subscriptions.has(subject);
  }

  private mute(): void {
    if (this.muted) return;
    this.muted = true;
    this.unsubscribe();
    this.watching.then((handle) => handle.close()).catch(() => {});
  }

  private send(payload: string): void {
    if (this.muted) return;
    const notice = decodeNotice(payload);
    const frames = notice !== null ? this.hidden.apply(notice) : this.hidden.hides(payload) ? [] : [payload];
    for (const frame of frames) if (this.wanted(frame)) this.write(frame);
  }

  private write(payload: string): void {
    const { socket, limits } = this.options;
    if (socket.bufferedAmount > limits.maxBufferedBytes) {
      // A client that does not read would make us buffer without bound: drop it; it can reconnect.
      this.mute();
      this.options.onClosedByServer?.('slow_consumer');
      socket.close(CloseCodes.SLOW_CONSUMER, 'slow consumer');
      return;
    }
    socket.send(payload);
    this.options.onSent?.(payload.startsWith('{"type":"presence.typing"') ? 'typing' : 'status');
  }

  private badFrame(name: 'BAD_FRAME' | 'FORBIDDEN' | 'RATE_LIMITED', message: string): void {
    if (this.muted) return;
    const now = this.options.clock();
    const { maxBadFrames, badFrameWindowMs } = this.options.limits;
    if (now - this.badSince > badFrameWindowMs) {
      this.badSince = now;
      this.badFrames = 0;
    }
    this.badFrames += 1;
    this.sendError(name, message);
    if (this.badFrames > maxBadFrames) {
      // One close per connection: frames already in flight behind it change nothing.
      this.mute();
      this.options.onClosedByServer?.('abuse');
      this.options.socket.close(CloseCodes.POLICY_VIOLATION, 'too many bad frames');
    }
  }

  private sendError(name: ErrorName, message: string): void {
    if (this.muted) return;
    const frame: ErrorMessage = { type: 'error', code: ErrorCodes[name].code, message };
    this.options.socket.send(JSON.stringify(frame));
  }
}
