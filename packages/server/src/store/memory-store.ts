import type {
  ExpireOutcome,
  HeartbeatInput,
  HeartbeatOutcome,
  HeldSockets,
  HotStore,
  TypingEntry,
  VersionKind,
} from '../core/ports.js';
import type { ClientKind, DeviceRef, RuleConfig, UserState } from '../core/rules.js';
import * as rules from '../core/rules.js';
import { DEFAULT_DEVICE, DEFAULT_DEVICE_REF } from '../core/rules.js';
import type { ConversationId, Transition, UserId } from '../core/types.js';

function transitionOf(userId: UserId, before: UserState, after: UserState): Transition | null {
  if (!rules.changedBetween(before, after)) return null;
  return {
    userId,
    status: after.status,
    lastSeen: after.lastSeen,
    previous: before.status,
    v: after.v,
    clients: rules.clientsOf(after.devices),
  };
}

/**
 * The embedded backend: all hot state in this process's memory, for one process. It applies the pure rules
 * directly; every method runs to completion before another starts, so each decision is atomic.
 */
export class MemoryStore implements HotStore {
  readonly ephemeral = true;
  readonly degraded = false;
  private readonly users = new Map<UserId, UserState>();
  /** Users not offline, with their last liveness signal (the sorted set of the Redis backend). */
  private readonly online = new Map<UserId, number>();
  private readonly typing = new Map<ConversationId, Map<UserId, number>>();
  private readonly leases = new Map<string, { holder: string; until: number }>();
  private readonly versions = new Map<string, number>();

  constructor(
    readonly rules: RuleConfig,
    /** How long offline state is kept after last activity (PRESENCE_TTL_S in ms). */
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  private state(userId: UserId): UserState {
    return this.users.get(userId) ?? rules.OFFLINE;
  }

  private save(userId: UserId, state: UserState, liveAt?: number): void {
    this.users.set(userId, state);
    if (state.status === 'offline') this.online.delete(userId);
    else if (liveAt !== undefined) this.online.set(userId, Math.max(this.online.get(userId) ?? 0, liveAt));
  }

  async heartbeat(inputs: readonly HeartbeatInput[]): Promise<HeartbeatOutcome[]> {
    return inputs.map(({ userId, status, at, device, client }) => {
      const before = this.state(userId);
      const ref = { id: device ?? DEFAULT_DEVICE, kind: client ?? 'web' };
      const decision = rules.heartbeat(before, status, at, this.rules, ref);
      if (!decision.accepted) return decision;
      this.save(userId, decision.state, at);
      return {
        accepted: true,
        transition: transitionOf(userId, before, decision.state),
        deadline: rules.deadline(decision.state, this.rules),
        v: decision.state.v,
        status: decision.state.status,
        clients: rules.clientsOf(decision.state.devices),
      };
    });
  }

  async connect(userId: UserId, at: number, device: DeviceRef = DEFAULT_DEVICE_REF) {
    const before = this.state(userId);
    const after = rules.connect(before, at, device);
    this.save(userId, after, at);
    return { transition: transitionOf(userId, before, after), deadline: rules.deadline(after, this.rules) };
  }

  async setStatus(
    userId: UserId,
    status: 'online' | 'away',
    at: number,
    device = DEFAULT_DEVICE,
    kind: ClientKind = 'web',
  ) {
    const before = this.state(userId);
    const after = rules.setStatus(before, status, at, device, kind);
    this.save(userId, after, at);
    return { transition: transitionOf(userId, before, after) };
  }

  async bumpVersion(userId: UserId, at: number): Promise<Transition> {
    const before = this.state(userId);
    const after = { ...before, v: rules.nextVersion(before.v, at) };
    this.save(userId, after);
    const { status, lastSeen, v } = after;
    return { userId, status, previous: status, lastSeen, v, clients: rules.clientsOf(after.devices) };
  }

  async disconnect(userId: UserId, at: number, clean: boolean, device = DEFAULT_DEVICE) {
    const after = rules.disconnect(this.state(userId), at, clean, device);
    this.save(userId, after, at);
    return { deadline: rules.deadline(after, this.rules) };
  }

  /**
   * States the sockets held per device (one process holds all of them here) and refreshes their liveness;
   * returns the users with a device past its deadline (one whose heartbeats stopped), for the caller to expire.
   */
  async touch(held: readonly HeldSockets[], at: number): Promise<UserId[]> {
    const due = new Set<UserId>();
    for (const { userId, sockets, device } of held) {
      const after = rules.touch(this.state(userId), at, device ?? DEFAULT_DEVICE, sockets);
      this.save(userId, after, at);
      const next = rules.deadline(after, this.rules);
      if (next !== null && next <= at) due.add(userId);
    }
    return [...due];
  }

  async activity(userIds: readonly UserId[], at: number): Promise<void> {
    for (const userId of userIds) {
      const state = this.users.get(userId);
      if (state !== undefined) this.users.set(userId, rules.activity(state, at));
    }
  }

  async expire(userId: UserId, at: number): Promise<ExpireOutcome> {
    const before = this.state(userId);
    const decision = rules.expire(before, at, this.rules);
    if (decision.state !== before) this.save(userId, decision.state);
    const offline = decision.changed && decision.state.status === 'offline';
    return {
      transition: transitionOf(userId, before, decision.state),
      deadline: decision.deadline,
      stoppedTyping: offline ? this.clearTyping(userId) : [],
    };
  }

  async staleUsers(cutoff: number, limit: number): Promise<UserId[]> {
    const stale: UserId[] = [];
    for (const [userId, score] of this.online) {
      if (score <= cutoff) stale.push(userId);
      if (stale.length >= limit) break;
    }
    return stale;
  }

  async getMany(userIds: readonly UserId[]): Promise<Map<UserId, UserState>> {
    const found = new Map<UserId, UserState>();
    for (const userId of userIds) {
      const state = this.users.get(userId);
      if (state !== undefined) found.set(userId, state);
    }
    return found;
  }

  async fill(states: ReadonlyMap<UserId, UserState>): Promise<void> {
    for (const [userId, state] of states) {
      if (!this.users.has(userId)) this.save(userId, state, state.lastSeen ?? 0);
    }
  }

  async scanOnline(cursor: string, count: number) {
    return this.page([...this.online.keys()], cursor, count);
  }

  /** Every user this store knows, offline ones too, a page at a time (what a stand-in hands back). */
  async scanAll(cursor: string, count: number) {
    return this.page([...this.users.keys()], cursor, count);
  }

  /** A page of `ids` from `cursor` (an offset; '0' again once done), with their states. */
  private page(ids: UserId[], cursor: string, count: number) {
    const start = Number(cursor) || 0;
    const states = new Map<UserId, UserState>();
    for (const userId of ids.slice(start, start + count)) states.set(userId, this.state(userId));
    const next = start + count >= ids.length ? '0' : String(start + count);
    return { cursor: next, states };
  }

  async countOnline(): Promise<number> {
    return this.online.size;
  }

  async startTyping(
    userId: UserId,
    conversationId: ConversationId,
    at: number,
    ttlMs: number,
  ): Promise<boolean> {
    let typists = this.typing.get(conversationId);
    if (typists === undefined) {
      typists = new Map();
      this.typing.set(conversationId, typists);
    }
    const expiry = typists.get(userId);
    typists.set(userId, at + ttlMs);
    return expiry === undefined || expiry <= at;
  }

  async stopTyping(userId: UserId, conversationId: ConversationId): Promise<boolean> {
    const typists = this.typing.get(conversationId);
    if (typists?.delete(userId) !== true) return false;
    if (typists.size === 0) this.typing.delete(conversationId);
    return true;
  }

  async expireTyping(userId: UserId, conversationId: ConversationId, at: number): Promise<boolean> {
    const expiry = this.typing.get(conversationId)?.get(userId);
    if (expiry === undefined || expiry > at) return false;
    return this.stopTyping(userId, conversationId);
  }

  async dueTyping(at: number, limit: number): Promise<TypingEntry[]> {
    const due: TypingEntry[] = [];
    for (const [conversationId, typists] of this.typing) {
      for (const [userId, expiry] of typists) {
        if (expiry <= at) due.push({ userId, conversationId });
        if (due.length >= limit) return due;
      }
    }
    return due;
  }

  async typingIn(conversationId: ConversationId, at: number): Promise<UserId[]> {
    const typists = this.typing.get(conversationId);
    if (typists === undefined) return [];
    return [...typists].filter(([, expiry]) => expiry > at).map(([userId]) => userId);
  }

  /** Typing ends when the user goes offline; the service announces it from the transition. */
  private clearTyping(userId: UserId): ConversationId[] {
    const stopped: ConversationId[] = [];
    for (const [conversationId, typists] of this.typing) {
      if (!typists.delete(userId)) continue;
      stopped.push(conversationId);
      if (typists.size === 0) this.typing.delete(conversationId);
    }
    return stopped;
  }

  async cleanup(at: number): Promise<UserId[]> {
    // Nothing expires behind our back in memory: only forget users long offline, as the Redis TTL would.
    const horizon = at - this.ttlMs;
    for (const [userId, state] of this.users) {
      const held = Object.values(state.devices).some((d) => d.connections > 0);
      if (state.status === 'offline' && !held && (state.lastSeen ?? 0) < horizon) {
        this.users.delete(userId);
      }
    }
    return [];
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.clock();
    const lease = this.leases.get(name);
    if (lease !== undefined && lease.holder !== holder && lease.until > now) return false;
    this.leases.set(name, { holder, until: now + ttlMs });
    return true;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    if (this.leases.get(name)?.holder === holder) this.leases.delete(name);
  }

  async detach(held: readonly HeldSockets[], at: number): Promise<void> {
    for (const userId of new Set(held.map((h) => h.userId))) {
      const state = this.state(userId);
      const devices = Object.fromEntries(
        Object.entries(state.devices).map(([id, d]) => [
          id,
          d.connections > 0 ? { ...d, connections: 0, lastSocket: at } : d,
        ]),
      );
      this.save(userId, { ...state, devices });
    }
  }

  async graphVersions(kind: VersionKind, id: number): Promise<number> {
    return this.versions.get(`${kind}:${id}`) ?? 0;
  }

  async graphVersionsMany(kind: VersionKind, ids: readonly number[]): Promise<number[]> {
    return ids.map((id) => this.versions.get(`${kind}:${id}`) ?? 0);
  }

  async bumpGraphVersions(
    users: readonly UserId[],
    conversations: readonly ConversationId[],
    settings = false,
  ): Promise<void> {
    const keys = new Set([
      ...users.map((u) => `user:${u}`),
      ...conversations.map((c) => `conversation:${c}`),
      ...(settings ? ['settings:0'] : []),
    ]);
    for (const key of keys) {
      this.versions.set(key, (this.versions.get(key) ?? 0) + 1);
    }
  }

  /** The users and conversations whose graph versions were bumped here. */
  bumpedGraph(): { users: UserId[]; conversations: ConversationId[]; settings: boolean } {
    const users: UserId[] = [];
    const conversations: ConversationId[] = [];
    const settings = this.versions.has('settings:0');
    for (const key of this.versions.keys()) {
      const [kind, id] = key.split(':') as [string, string];
      if (kind === 'user') users.push(Number(id));
      else if (kind === 'conversation') conversations.push(Number(id));
    }
    return { users, conversations, settings };
  }

  /** Forgets everything (after degraded mode handed its state back to Redis). */
  clear(): void {
    this.users.clear();
    this.online.clear();
    this.typing.clear();
    this.leases.clear();
    this.versions.clear();
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
