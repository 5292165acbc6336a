import { EventEmitter } from 'node:events';
import type { PresenceStatus, StatusMessage, TypingMessage, UserPresence } from '@presence/protocol';
import { MAX_SNAPSHOT_USERS } from '@presence/protocol';
import { type Bus, GRAPH_GROUP, userGroup } from '../bus/bus.js';
import type { PresenceStore } from '../store/presence-store.js';
import { DeadlineWheel } from './deadline-wheel.js';
import { PresenceWriter } from './presence-writer.js';
import type { UserState } from './rules.js';
import { SetCache } from './subscriber-cache.js';
import type { Clock, ConversationId, PresenceRecord, Transition, UserId } from './types.js';

/** What the service needs of the durable store (the PresenceRepository). */
export interface PresenceDurable {
  ensureUsers(ids: readonly UserId[]): Promise<void>;
  subscribersMany(userIds: readonly UserId[]): Promise<Map<UserId, UserId[]>>;
  participantsMany(conversationIds: readonly ConversationId[]): Promise<Map<ConversationId, UserId[]>>;
  getPresences(userIds: readonly UserId[]): Promise<Map<UserId, PresenceRecord>>;
  upsertPresences(records: readonly PresenceRecord[]): Promise<void>;
  upsertUser(id: UserId, username: string | null): Promise<void>;
  follow(followerId: UserId, followeeId: UserId): Promise<void>;
  unfollow(followerId: UserId, followeeId: UserId): Promise<void>;
  setConversation(id: ConversationId, participantIds: readonly UserId[]): Promise<UserId[]>;
  deleteConversation(id: ConversationId): Promise<UserId[]>;
}

export interface PresenceServiceOptions {
  store: PresenceStore;
  durable: PresenceDurable;
  bus: Bus;
  typingTtlMs: number;
  clock: Clock;
  /** Called with failures of background work (writes, expiries) that have no caller to answer. */
  onError?: (error: unknown, context: string) => void;
  /** Resolution of the deadline wheels. */
  resolutionMs?: number;
}

export type HeartbeatResult =
  | { accepted: true; presence: UserPresence }
  | { accepted: false; retryAfterMs: number };

/** What one heartbeat of a batch came to (the UDP path needs no more). */
export type BatchHeartbeatResult = { accepted: true; at: number } | { accepted: false; retryAfterMs: number };

export interface ServiceEvents {
  transition: [Transition];
  typing: [TypingMessage];
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function presenceOf(
  userId: UserId,
  state: { status: PresenceStatus; lastSeen: number | null },
): UserPresence {
  return { user_id: userId, status: state.status, last_seen: iso(state.lastSeen) };
}

const typingKey = (userId: UserId, conversationId: ConversationId): string => `${userId}:${conversationId}`;

/**
 * The presence service (the seed's presence_service): liveness, status reads, typing and fan-out, over a hot
 * store, a durable repository and a bus. It never touches a socket or a timer: its owner feeds it events
 * (heartbeats, connections, frames) and ticks (`tick`, `sweep`, `refresh`) with the time.
 *
 * @example
 * const service = new PresenceService({ store, durable: repo, bus, typingTtlMs: 3000, clock: Date.now });
 * await service.heartbeat(42, 'online');        // { accepted: true, presence: { user_id: 42, status: 'online', … } }
 * await service.getStatus(7, 42);               // 42's presence if 42 is in visible(7), else null
 */
export class PresenceService {
  readonly events = new EventEmitter<ServiceEvents>();
  private readonly store: PresenceStore;
  private readonly durable: PresenceDurable;
  private readonly bus: Bus;
  private readonly clock: Clock;
  private readonly typingTtlMs: number;
  private readonly onError: (error: unknown, context: string) => void;
  private readonly deadlines: DeadlineWheel<UserId>;
  private readonly typingDeadlines: DeadlineWheel<string>;
  private readonly visible: SetCache;
  private readonly participants: SetCache;
  private readonly writer: PresenceWriter;
  /** Open WebSockets of this process, per user: the users whose liveness this process refreshes. */
  private readonly sockets = new Map<UserId, number>();
  private readonly knownUsers = new Set<UserId>();
  private readonly unsubscribeGraph: () => void;

  constructor(options: PresenceServiceOptions) {
    this.store = options.store;
    this.durable = options.durable;
    this.bus = options.bus;
    this.clock = options.clock;
    this.typingTtlMs = options.typingTtlMs;
    this.onError = options.onError ?? (() => {});
    const resolution = options.resolutionMs ?? 25;
    this.deadlines = new DeadlineWheel(resolution);
    this.typingDeadlines = new DeadlineWheel(resolution);
    const cache = { maxEntries: 200_000, ttlMs: 300_000, clock: this.clock };
    this.visible = new SetCache((ids) => this.durable.subscribersMany(ids), cache);
    this.participants = new SetCache((ids) => this.durable.participantsMany(ids), cache);
    this.writer = new PresenceWriter(this.durable, (error) => this.onError(error, 'write-through'));
    this.unsubscribeGraph = this.bus.subscribe(GRAPH_GROUP, (payload) => this.onGraphChange(payload));
  }

  get rules() {
    return this.store.rules;
  }

  // ---- identity -------------------------------------------------------------------------------------------

  /** Creates users seen for the first time (a valid token is enough to exist). */
  async ensureUsers(ids: readonly UserId[]): Promise<void> {
    const unknown = ids.filter((id) => !this.knownUsers.has(id));
    if (unknown.length === 0) return;
    await this.durable.ensureUsers(unknown);
    for (const id of unknown) this.knownUsers.add(id);
  }

  // ---- liveness -------------------------------------------------------------------------------------------

  /**
   * One heartbeat (HTTP). An unchanged heartbeat sooner than the minimum interval is refused with the wait.
   */
  async heartbeat(userId: UserId, status: PresenceStatus = 'online'): Promise<HeartbeatResult> {
    await this.ensureUsers([userId]);
    const [result] = (await this.heartbeats([{ userId, status }])) as [BatchHeartbeatResult];
    if (!result.accepted) return result;
    return { accepted: true, presence: { user_id: userId, status, last_seen: iso(result.at) } };
  }

  /**
   * Many heartbeats in one store round trip (the UDP path batches here). No database work waits in front of
   * them: a first-seen user is created by the write-through of its first transition.
   */
  async heartbeats(
    inputs: ReadonlyArray<{ userId: UserId; status: PresenceStatus }>,
  ): Promise<BatchHeartbeatResult[]> {
    const at = this.clock();
    const outcomes = await this.store.heartbeat(inputs.map(({ userId, status }) => ({ userId, status, at })));
    const accept: BatchHeartbeatResult = { accepted: true, at };
    const results = outcomes.map((outcome, i): BatchHeartbeatResult => {
      if (!outcome.accepted) return outcome;
      const { userId } = inputs[i] as { userId: UserId };
      if (outcome.deadline === null) this.deadlines.cancel(userId);
      else this.deadlines.schedule(userId, outcome.deadline);
      if (outcome.transition) this.announce(outcome.transition, at);
      return accept;
    });
    return results;
  }

  /** A WebSocket of this process opened for the user. */
  async connect(userId: UserId): Promise<void> {
    await this.ensureUsers([userId]);
    this.sockets.set(userId, (this.sockets.get(userId) ?? 0) + 1);
    this.deadlines.cancel(userId);
    const at = this.clock();
    const { transition } = await this.store.connect(userId, at);
    if (transition) this.announce(transition, null);
  }

  /** A status chosen over an open WebSocket: a change of status, but no heartbeat (presence still ends with the socket). */
  async setStatus(userId: UserId, status: 'online' | 'away'): Promise<void> {
    const { transition } = await this.store.setStatus(userId, status, this.clock());
    if (transition) this.announce(transition, null);
  }

  /** A WebSocket of this process closed: offline after the grace unless something else keeps the user live. */
  async disconnect(userId: UserId): Promise<void> {
    const left = (this.sockets.get(userId) ?? 1) - 1;
    if (left > 0) this.sockets.set(userId, left);
    else this.sockets.delete(userId);
    const { deadline } = await this.store.disconnect(userId, this.clock());
    if (deadline !== null) this.deadlines.schedule(userId, deadline);
  }

  /**
   * Connects every socket held here again, after the hot store lost track of them (Redis came back from an
   * outage): counts start afresh, and a user some other process took offline meanwhile comes back online.
   */
  async reconnectHeld(): Promise<void> {
    const at = this.clock();
    for (const [userId, count] of this.sockets) {
      for (let i = 0; i < count; i++) {
        const { transition } = await this.store.connect(userId, at);
        if (transition) this.announce(transition, null);
      }
    }
  }

  /** Expires the users whose local deadline has passed (the fast path). */
  async tick(now = this.clock()): Promise<void> {
    const due = this.deadlines.due(now);
    if (due.length > 0) await Promise.all(due.map((userId) => this.expire(userId, now)));
    const typing = this.typingDeadlines.due(now);
    if (typing.length > 0) {
      await Promise.all(
        typing.map((key) => {
          const [userId, conversationId] = key.split(':').map(Number) as [number, number];
          return this.expireTyping(userId, conversationId, now);
        }),
      );
    }
  }

  /**
   * The crash-safe path: users whose last liveness signal is older than the timeout, wherever they were held,
   * and typing entries past their expiry. Safe on every process at once: each decision is compare-and-remove.
   */
  async sweep(now = this.clock()): Promise<number> {
    const stale = await this.store.staleUsers(now - this.rules.presenceTimeoutMs, 5_000);
    await Promise.all(stale.map((userId) => this.expire(userId, now)));
    const typing = await this.store.dueTyping(now, 5_000);
    await Promise.all(typing.map((t) => this.expireTyping(t.userId, t.conversationId, now)));
    return stale.length;
  }

  /** Refreshes the liveness of every user holding a WebSocket here. */
  async refresh(now = this.clock()): Promise<void> {
    await this.store.touch([...this.sockets.keys()], now);
  }

  /** Expires users whose hot state vanished (stale cleanup). */
  async cleanup(now = this.clock()): Promise<number> {
    const orphans = await this.store.cleanup(now);
    await Promise.all(orphans.map((userId) => this.expire(userId, now)));
    return orphans.length;
  }

  private async expire(userId: UserId, now: number): Promise<void> {
    try {
      const outcome = await this.store.expire(userId, now);
      if (outcome.transition) this.announce(outcome.transition, null);
      else if (outcome.deadline !== null && !this.sockets.has(userId))
        this.deadlines.schedule(userId, outcome.deadline);
      for (const conversationId of outcome.stoppedTyping) this.publishTyping(userId, conversationId, false);
    } catch (error) {
      // Try again shortly rather than lose the deadline.
      this.deadlines.schedule(userId, now + 1_000);
      this.onError(error, 'expire');
    }
  }

  /** Fans a transition out to the user's own connections and visible(user), and writes it through. */
  private announce(transition: Transition, lastHeartbeat: number | null): void {
    const { userId, status, lastSeen } = transition;
    this.events.emit('transition', transition);
    const message: StatusMessage = {
      type: 'presence.status',
      user_id: userId,
      status,
      last_seen: iso(lastSeen),
    };
    const payload = JSON.stringify(message);
    this.visible.get(userId).then(
      (subscribers) => {
        const groups = [userGroup(userId)];
        for (const id of subscribers) groups.push(userGroup(id));
        this.bus.publish(groups, payload);
      },
      (error) => {
        // Without the subscriber list, at least the user's own devices hear it.
        this.bus.publish([userGroup(userId)], payload);
        this.onError(error, 'subscribers');
      },
    );
    this.writer.write([{ userId, status, lastSeen, lastHeartbeat }]).catch(() => {});
  }

  // ---- reads ----------------------------------------------------------------------------------------------

  /**
   * Presence of many users: hot state first, PostgreSQL for the rest (then cached). A user the database thinks
   * online but with no hot state is offline: liveness lives in the hot store, and a row can outlive a crash.
   */
  async presences(userIds: readonly UserId[]): Promise<Map<UserId, UserPresence>> {
    const result = new Map<UserId, UserPresence>();
    if (userIds.length === 0) return result;
    const hot = await this.store.getMany(userIds);
    const missing: UserId[] = [];
    for (const userId of userIds) {
      const state = hot.get(userId);
      if (state) result.set(userId, presenceOf(userId, state));
      else missing.push(userId);
    }
    if (missing.length === 0) return result;
    const stored = await this.durable.getPresences(missing);
    const refill = new Map<UserId, UserState>();
    const now = this.clock();
    for (const userId of missing) {
      const record = stored.get(userId);
      const lastSeen = record?.lastSeen ?? null;
      // While degraded, PostgreSQL is the best knowledge there is of users this process has not seen.
      if (
        this.store.degraded &&
        record &&
        record.status !== 'offline' &&
        now - (lastSeen ?? 0) < this.rules.presenceTimeoutMs
      ) {
        result.set(userId, presenceOf(userId, record));
        continue;
      }
      result.set(userId, { user_id: userId, status: 'offline', last_seen: iso(lastSeen) });
      refill.set(userId, {
        status: 'offline',
        lastSeen,
        lastHeartbeat: record?.lastHeartbeat ?? null,
        connections: 0,
        lastSocket: null,
        lastDisconnect: null,
      });
    }
    await this.store.fill(refill).catch((error) => this.onError(error, 'refill'));
    return result;
  }

  /** visible(user), checked against the graph version so that a change made anywhere applies at once. */
  async visibleTo(userId: UserId): Promise<ReadonlySet<UserId>> {
    return this.visible.get(userId, await this.store.graphVersions('user', userId));
  }

  /** A conversation's participants, checked against the graph version like `visibleTo`. */
  private async participantsOf(conversationId: ConversationId): Promise<ReadonlySet<UserId>> {
    return this.participants.get(
      conversationId,
      await this.store.graphVersions('conversation', conversationId),
    );
  }

  /** A user's presence for `viewer`: null unless it is the viewer or in visible(viewer) (answered like "no such user"). */
  async getStatus(viewer: UserId, userId: UserId): Promise<UserPresence | null> {
    if (viewer !== userId && !(await this.visibleTo(viewer)).has(userId)) return null;
    return (await this.presences([userId])).get(userId) ?? null;
  }

  /** The users of visible(me) who are not offline. */
  async onlineFriends(viewer: UserId): Promise<UserPresence[]> {
    const visible = [...(await this.visibleTo(viewer))];
    const all = await this.presences(visible);
    return [...all.values()].filter((p) => p.status !== 'offline').sort((a, b) => a.user_id - b.user_id);
  }

  /** Participants not offline; null unless the viewer takes part. */
  async onlineInConversation(viewer: UserId, conversationId: ConversationId): Promise<UserPresence[] | null> {
    const participants = await this.participantsOf(conversationId);
    if (!participants.has(viewer)) return null;
    const all = await this.presences([...participants]);
    return [...all.values()].filter((p) => p.status !== 'offline').sort((a, b) => a.user_id - b.user_id);
  }

  /** Every user of visible(me), the most recently seen first, at most MAX_SNAPSHOT_USERS. */
  async snapshot(userId: UserId): Promise<UserPresence[]> {
    const all = await this.presences([...(await this.visibleTo(userId))]);
    const users = [...all.values()];
    users.sort((a, b) => (b.last_seen ?? '').localeCompare(a.last_seen ?? '') || a.user_id - b.user_id);
    return users.slice(0, MAX_SNAPSHOT_USERS);
  }

  // ---- typing ---------------------------------------------------------------------------------------------

  /** Starts typing; false when the user does not take part in the conversation. */
  async startTyping(userId: UserId, conversationId: ConversationId): Promise<boolean> {
    if (!(await this.participantsOf(conversationId)).has(userId)) return false;
    const at = this.clock();
    const announce = await this.store.startTyping(userId, conversationId, at, this.typingTtlMs);
    this.typingDeadlines.schedule(typingKey(userId, conversationId), at + this.typingTtlMs);
    if (announce) this.publishTyping(userId, conversationId, true);
    return true;
  }

  /** Stops typing at once; false when the user does not take part in the conversation. */
  async stopTyping(userId: UserId, conversationId: ConversationId): Promise<boolean> {
    if (!(await this.participantsOf(conversationId)).has(userId)) return false;
    this.typingDeadlines.cancel(typingKey(userId, conversationId));
    if (await this.store.stopTyping(userId, conversationId))
      this.publishTyping(userId, conversationId, false);
    return true;
  }

  private async expireTyping(userId: UserId, conversationId: ConversationId, now: number): Promise<void> {
    try {
      if (await this.store.expireTyping(userId, conversationId, now))
        this.publishTyping(userId, conversationId, false);
    } catch (error) {
      this.typingDeadlines.schedule(typingKey(userId, conversationId), now + 1_000);
      this.onError(error, 'typing expiry');
    }
  }

  private publishTyping(userId: UserId, conversationId: ConversationId, isTyping: boolean): void {
    const message: TypingMessage = {
      type: 'presence.typing',
      user_id: userId,
      conversation_id: conversationId,
      is_typing: isTyping,
    };
    this.events.emit('typing', message);
    const payload = JSON.stringify(message);
    this.participants.get(conversationId).then(
      (participants) => this.bus.publish([...participants].map(userGroup), payload),
      (error) => this.onError(error, 'participants'),
    );
  }

  // ---- graph ----------------------------------------------------------------------------------------------

  async upsertUser(id: UserId, username: string | null): Promise<void> {
    await this.durable.upsertUser(id, username);
    this.knownUsers.add(id);
  }

  async follow(followerId: UserId, followeeId: UserId): Promise<void> {
    await this.durable.follow(followerId, followeeId);
    await this.graphChanged([followerId, followeeId], []);
  }

  async unfollow(followerId: UserId, followeeId: UserId): Promise<void> {
    await this.durable.unfollow(followerId, followeeId);
    await this.graphChanged([followerId, followeeId], []);
  }

  async setConversation(id: ConversationId, participantIds: readonly UserId[]): Promise<void> {
    const before = await this.durable.setConversation(id, participantIds);
    await this.graphChanged([...before, ...participantIds], [id]);
  }

  async deleteConversation(id: ConversationId): Promise<void> {
    const before = await this.durable.deleteConversation(id);
    await this.graphChanged(before, [id]);
  }

  /**
   * Bumps the graph versions the change touches (so reads anywhere reload at once) and drops the cached lists
   * here and, over the bus, on every other process (so fan-out stops using them soon after).
   */
  private async graphChanged(
    users: readonly UserId[],
    conversations: readonly ConversationId[],
  ): Promise<void> {
    await this.store.bumpGraphVersions(users, conversations);
    this.bus.publish([GRAPH_GROUP], JSON.stringify({ users, conversations }));
  }

  private onGraphChange(payload: string): void {
    try {
      const { users, conversations } = JSON.parse(payload) as {
        users: UserId[];
        conversations: ConversationId[];
      };
      // `users` holds everyone whose visible set the change touched (both ends of a follow, every participant
      // before and after), so dropping exactly those is enough.
      this.visible.invalidate(users);
      this.participants.invalidate(conversations);
    } catch {
      this.visible.clear();
      this.participants.clear();
    }
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------

  /** Bulk sync of hot state to PostgreSQL (last-seen times move on every heartbeat, written here only). */
  async syncToDatabase(pageSize = 5_000): Promise<number> {
    let cursor = '0';
    let written = 0;
    do {
      const page = await this.store.scanOnline(cursor, pageSize);
      cursor = page.cursor;
      const records: PresenceRecord[] = [];
      for (const [userId, state] of page.states) {
        records.push({
          userId,
          status: state.status,
          lastSeen: state.lastSeen,
          lastHeartbeat: state.lastHeartbeat,
        });
      }
      if (records.length > 0) await this.durable.upsertPresences(records);
      written += records.length;
    } while (cursor !== '0');
    return written;
  }

  /**
   * Graceful shutdown: persist the state of every user held here (and, with a private in-memory store, of
   * every user, as offline, since that state dies with the process), then let go of the sockets' hold.
   */
  async shutdown(): Promise<void> {
    const now = this.clock();
    const held = [...this.sockets.keys()];
    if (this.store.ephemeral) {
      const records: PresenceRecord[] = [];
      let cursor = '0';
      do {
        const page = await this.store.scanOnline(cursor, 10_000);
        cursor = page.cursor;
        for (const [userId, s] of page.states) {
          records.push({ userId, status: 'offline', lastSeen: s.lastSeen, lastHeartbeat: s.lastHeartbeat });
        }
      } while (cursor !== '0');
      await this.writer.write(records).catch(() => {});
    } else if (held.length > 0) {
      const states = await this.store.getMany(held);
      const records = [...states].map(([userId, s]) => ({
        userId,
        status: s.status,
        lastSeen: s.lastSeen,
        lastHeartbeat: s.lastHeartbeat,
      }));
      await this.writer.write(records).catch(() => {});
    }
    await this.writer.flush().catch(() => {});
    await this.store.detach(held, now);
    this.sockets.clear();
    this.unsubscribeGraph();
    this.writer.close();
  }
}
