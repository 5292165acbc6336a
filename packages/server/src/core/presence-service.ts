import { EventEmitter } from 'node:events';
import type { PresenceStatus, PrivacySettings, SelfPresence, UserPresence } from '@presence/protocol';
import { FanOut } from './fan-out.js';
import { Graph } from './graph.js';
import { type BatchHeartbeatResult, type HeartbeatRequest, Liveness } from './liveness.js';
import { heldStates, Persistence } from './persistence.js';
import type { Bus, HotStore, PresenceDurable, Restored } from './ports.js';
import { iso } from './presence-view.js';
import { PresenceWriter } from './presence-writer.js';
import { Privacy } from './privacy.js';
import { PrivacyChanges } from './privacy-changes.js';
import { Reads } from './reads.js';
import { DEFAULT_DEVICE_REF, type DeviceRef, type RuleConfig } from './rules.js';
import type { ServiceEvents } from './service-events.js';
import type { Clock, ConversationId, UserId } from './types.js';
import { Typing } from './typing.js';
import { Visibility } from './visibility.js';
import { WatchIndex } from './watch-index.js';

export type { BatchHeartbeatResult } from './liveness.js';
export type { ServiceEvents } from './service-events.js';

export interface PresenceServiceOptions {
  store: HotStore;
  durable: PresenceDurable;
  bus: Bus;
  typingTtlMs: number;
  clock: Clock;
  /** Resolution of the deadline wheels (the expiry tick). */
  resolutionMs: number;
  /** How long a cached visibility list lives without a version check. */
  cacheTtlMs: number;
  /** Write-through writes that may wait for the database before new ones are shed (default 100,000). */
  writeQueueLimit?: number;
  /** Graph lookups out at once per cache, and misses that may wait behind them before new ones are shed. */
  lookupLimits?: { inFlight?: number; queued?: number };
}

export type HeartbeatResult =
  | { accepted: true; presence: UserPresence }
  | { accepted: false; retryAfterMs: number };

/**
 * The presence service: liveness, status reads, typing and fan-out, over a hot store, a durable repository and
 * a bus. It never touches a socket or a timer: its owner feeds it events (heartbeats, connections, frames) and
 * ticks (`tick`, `sweep`, `refresh`) with the time, and it reports what it did on `events`.
 *
 * @example
 * const service = new PresenceService({ store, durable: repo, bus, typingTtlMs: 3000, clock: Date.now,
 *   resolutionMs: 25, cacheTtlMs: 300_000 });
 * await service.heartbeat(42, 'online');        // { accepted: true, presence: { user_id: 42, status: 'online', … } }
 * await service.getStatus(7, 42);               // 42's presence if 42 is in visible(7), else null
 */
export class PresenceService {
  readonly events = new EventEmitter<ServiceEvents>();
  readonly rules: RuleConfig;
  private readonly clock: Clock;
  private readonly writer: PresenceWriter;
  private readonly visibility: Visibility;
  private readonly privacyChanges: PrivacyChanges;
  private readonly liveness: Liveness;
  private readonly typing: Typing;
  private readonly reads: Reads;
  private readonly graph: Graph;
  private readonly persistence: Persistence;
  private readonly fanOut: FanOut;
  /** What this process's connections watch: changes of those users reach them through it. */
  readonly watches: WatchIndex;
  private readonly durable: PresenceDurable;

  constructor(options: PresenceServiceOptions) {
    const { store, durable, bus, clock, resolutionMs } = options;
    this.rules = store.rules;
    this.clock = clock;
    this.durable = durable;
    const onError = (error: unknown, context: string) => this.events.emit('failed', error, context);
    this.writer = new PresenceWriter(
      {
        upsertPresences: async (records) => {
          await durable.upsertPresences(records);
          this.events.emit('written', records.length);
        },
      },
      (error) => onError(error, 'write-through'),
      undefined,
      options.writeQueueLimit,
      (count) => this.events.emit('shed', 'write_through', count),
    );
    this.visibility = new Visibility({
      durable,
      versions: store,
      bus,
      clock,
      cacheTtlMs: options.cacheTtlMs,
      lookupInFlight: options.lookupLimits?.inFlight,
      lookupQueued: options.lookupLimits?.queued,
      onShed: () => this.events.emit('shed', 'lookups', 1),
      onInvalidated: (users, conversations) => this.events.emit('graphInvalidated', users, conversations),
    });
    const privacy = new Privacy({ durable, versions: store, clock, cacheTtlMs: options.cacheTtlMs });
    const fanOut = new FanOut({
      bus,
      visibility: this.visibility,
      privacy,
      writer: this.writer,
      onTransition: (transition) => this.events.emit('transition', transition),
      onTyping: (message) => this.events.emit('typing', message),
      onError,
    });
    this.fanOut = fanOut;
    this.typing = new Typing({
      store,
      visibility: this.visibility,
      fanOut,
      clock,
      ttlMs: options.typingTtlMs,
      resolutionMs,
      onError,
    });
    this.liveness = new Liveness({
      store,
      fanOut,
      clock,
      resolutionMs,
      onTypingEnded: (userId, conversations) => this.typing.ended(userId, conversations),
      onError,
    });
    this.reads = new Reads({
      store,
      durable,
      visibility: this.visibility,
      privacy,
      clock,
      presenceTimeoutMs: store.rules.presenceTimeoutMs,
      onError,
    });
    this.watches = new WatchIndex({
      bus,
      visibility: this.visibility,
      privacy,
      statuses: (viewer, ids) => this.reads.statuses(viewer, ids),
      onError,
    });
    this.privacyChanges = new PrivacyChanges({ durable, store, privacy, fanOut, reads: this.reads, clock });
    this.persistence = new Persistence({ store, durable, writer: this.writer, clock });
    this.graph = new Graph({
      durable,
      visibility: this.visibility,
      fanOut,
      presences: (ids) => this.privacyChanges.publicPresences(ids),
      viewedBy: async (viewer, presence) => (await privacy.viewedBy(viewer, [presence]))[0] ?? presence,
      onUserKnown: (id) => this.persistence.known([id]),
    });
  }

  // ---- liveness -------------------------------------------------------------------------------------------

  /** Creates users seen for the first time (a valid token is enough to exist). */
  ensureUsers(ids: readonly UserId[]): Promise<void> {
    return this.persistence.ensureUsers(ids);
  }

  /**
   * One heartbeat (HTTP) of a device. An unchanged heartbeat sooner than the minimum interval after that
   * device's last is refused with the wait. The answer is the user's presence over all devices.
   */
  async heartbeat(
    userId: UserId,
    status: PresenceStatus = 'online',
    device: Partial<DeviceRef> = {},
  ): Promise<HeartbeatResult> {
    await this.ensureUsers([userId]);
    const [result] = (await this.liveness.heartbeats([
      { userId, status, device: device.id, client: device.kind },
    ])) as [BatchHeartbeatResult];
    if (!result.accepted) return result;
    const { v, clients } = result;
    return {
      accepted: true,
      presence: { user_id: userId, status: result.status, last_seen: iso(result.at), v, clients },
    };
  }

  /**
   * Many heartbeats in one store round trip (the UDP path batches here). No database work waits in front of
   * them: a first-seen user is created by the write-through of its first transition.
   */
  heartbeats(inputs: readonly HeartbeatRequest[]): Promise<BatchHeartbeatResult[]> {
    return this.liveness.heartbeats(inputs);
  }

  /** A WebSocket of this process opened for a device of the user. */
  async connect(userId: UserId, device: DeviceRef = DEFAULT_DEVICE_REF): Promise<void> {
    await this.ensureUsers([userId]);
    await this.liveness.connect(userId, device);
  }

  /** A status chosen over an open WebSocket, for its device. */
  setStatus(
    userId: UserId,
    status: 'online' | 'away',
    device: DeviceRef = DEFAULT_DEVICE_REF,
  ): Promise<void> {
    return this.liveness.setStatus(userId, status, device);
  }

  /** A WebSocket of this process closed; `clean` when the client closed it, not when it was cut. */
  disconnect(userId: UserId, clean = true, device: DeviceRef = DEFAULT_DEVICE_REF): Promise<void> {
    return this.liveness.disconnect(userId, device, clean);
  }

  /** The user did something over a socket (a frame, a pong): last_seen moves, in batches. */
  activity(userId: UserId): void {
    this.liveness.activity(userId);
  }

  /** Connects every socket held here again, after the hot store lost track of them. */
  reconnectHeld(): Promise<void> {
    return this.liveness.reconnectHeld();
  }

  /**
   * Seeds a stand-in hot store (an outage of the shared one begins) with the users this process holds sockets
   * for, as the durable record last knew them, so reads here keep showing them as they are.
   */
  async seedHeld(standIn: HotStore): Promise<void> {
    const held = this.liveness.heldSockets();
    if (held.length === 0) return;
    const records = await this.durable.getPresences(held.map((h) => h.userId));
    await standIn.fill(heldStates(held, records, this.clock()));
  }

  /** Announces changes made during an outage, which other processes missed, once the shared store has them. */
  announceRestored({ changed, typing }: Restored): void {
    for (const [userId, state] of changed) this.fanOut.restored(userId, state);
    for (const { userId, conversationId } of typing) this.typing.ended(userId, [conversationId]);
  }

  /** Expires users and typing whose local deadline has passed (the fast path). */
  async tick(now = this.clock()): Promise<void> {
    await Promise.all([this.liveness.tick(now), this.typing.tick(now)]);
  }

  /** The crash-safe path: stale users wherever they were held. Returns the users expired. */
  sweep(now = this.clock()): Promise<number> {
    return this.liveness.sweep(now);
  }

  /** The crash-safe path for typing: entries past their expiry wherever the start was seen. */
  sweepTyping(now = this.clock()): Promise<void> {
    return this.typing.sweep(now);
  }

  /** Refreshes the liveness of every user holding a WebSocket here. */
  refresh(now = this.clock()): Promise<void> {
    return this.liveness.refresh(now);
  }

  /** Expires users whose hot state vanished (stale cleanup). */
  cleanup(now = this.clock()): Promise<number> {
    return this.liveness.cleanup(now);
  }

  // ---- reads ----------------------------------------------------------------------------------------------

  presences(userIds: readonly UserId[]): Promise<Map<UserId, UserPresence>> {
    return this.reads.presences(userIds);
  }

  /** A user's presence for `viewer`: null unless it is the viewer or in visible(viewer) (answered like "no such user"). */
  getStatus(viewer: UserId, userId: UserId): Promise<UserPresence | null> {
    return this.reads.status(viewer, userId);
  }

  /** Bulk read: the requested users who are the viewer or in visible(viewer), in request order. */
  statuses(viewer: UserId, userIds: readonly UserId[]): Promise<UserPresence[]> {
    return this.reads.statuses(viewer, userIds);
  }

  onlineFriends(viewer: UserId): Promise<UserPresence[]> {
    return this.reads.onlineFriends(viewer);
  }

  onlineInConversation(viewer: UserId, conversationId: ConversationId): Promise<UserPresence[] | null> {
    return this.reads.onlineInConversation(viewer, conversationId);
  }

  snapshot(userId: UserId): Promise<UserPresence[]> {
    return this.reads.snapshot(userId);
  }

  /** One's own presence (the snapshot's `self`), with whether others see it as offline. */
  self(userId: UserId): Promise<SelfPresence> {
    return this.privacyChanges.self(userId);
  }

  /** The user's privacy settings (contract section 13: invisible, who sees last_seen). */
  settings(userId: UserId): Promise<PrivacySettings> {
    return this.privacyChanges.settings(userId);
  }

  /**
   * Changes privacy settings, at once on every process (invisible: offline to all others, last_seen frozen).
   *
   * @example
   * await service.updateSettings(42, { invisible: true });   // { invisible: true, last_seen: 'everyone' }
   * await service.getStatus(7, 42);                          // { status: 'offline', last_seen: <frozen>, … }
   */
  updateSettings(userId: UserId, change: Partial<PrivacySettings>): Promise<PrivacySettings> {
    return this.privacyChanges.update(userId, change);
  }

  // ---- typing ---------------------------------------------------------------------------------------------

  /** Starts typing; false when the user does not take part in the conversation. */
  startTyping(userId: UserId, conversationId: ConversationId): Promise<boolean> {
    return this.typing.start(userId, conversationId);
  }

  /** Stops typing at once; false when the user does not take part in the conversation. */
  stopTyping(userId: UserId, conversationId: ConversationId): Promise<boolean> {
    return this.typing.stop(userId, conversationId);
  }

  // ---- graph ----------------------------------------------------------------------------------------------

  upsertUser(id: UserId, username: string | null): Promise<void> {
    return this.graph.upsertUser(id, username);
  }

  follow(followerId: UserId, followeeId: UserId): Promise<void> {
    return this.graph.follow(followerId, followeeId);
  }

  unfollow(followerId: UserId, followeeId: UserId): Promise<void> {
    return this.graph.unfollow(followerId, followeeId);
  }

  /**
   * `blockerId` blocks `blockedId`: while a block stands either way, neither sees the other, whatever follows
   * and conversations say. At once, on every process, each one's connections hear the other went offline.
   *
   * @example
   * await service.block(1, 2);
   * await service.getStatus(1, 2); // null, as for a user that does not exist
   */
  block(blockerId: UserId, blockedId: UserId): Promise<void> {
    return this.graph.block(blockerId, blockedId);
  }

  /** Lifts a block; visibility follows the follows and conversations again. */
  unblock(blockerId: UserId, blockedId: UserId): Promise<void> {
    return this.graph.unblock(blockerId, blockedId);
  }

  setConversation(id: ConversationId, participantIds: readonly UserId[]): Promise<void> {
    return this.graph.setConversation(id, participantIds);
  }

  deleteConversation(id: ConversationId): Promise<void> {
    return this.graph.deleteConversation(id);
  }

  /**
   * Graph rows written outside the service (the bulk import): bumps the versions of these users and
   * conversations and drops their cached lists on every process, as the service's own graph writes do.
   */
  graphChanged(users: readonly UserId[], conversations: readonly ConversationId[] = []): Promise<void> {
    return this.visibility.changed(users, conversations);
  }

  /** Items waiting in the service's bounded queues, by queue (metrics). */
  queueDepths(): Record<string, number> {
    return { write_through: this.writer.depth, lookups: this.visibility.depth };
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------

  /** Bulk sync of hot state to PostgreSQL (last-seen times move on every heartbeat, written here only). */
  syncToDatabase(pageSize?: number): Promise<number> {
    return this.persistence.syncToDatabase(pageSize);
  }

  /** Graceful shutdown: persist what would be lost, then let go of the sockets' hold. */
  async shutdown(): Promise<void> {
    await this.persistence.persistForShutdown(this.liveness.heldUsers());
    await this.liveness.detach(this.clock());
    this.visibility.close();
    this.watches.close();
    this.writer.close();
  }
}
