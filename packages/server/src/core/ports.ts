import type { PresenceStatus } from '@presence/protocol';
import type { ClientKind, Clients, DeviceRef, RuleConfig, UserState } from './rules.js';
import type { ConversationId, PresenceRecord, StoredPrivacy, Transition, UserId } from './types.js';

/**
 * The interfaces the core needs from the world, declared here and implemented by the backends (memory and
 * Redis hot state, the local and Redis bus, the PostgreSQL repository). Arrows point into the core: nothing
 * in core/ imports a backend.
 */

// ---- hot state --------------------------------------------------------------------------------------------

export interface HeartbeatInput {
  userId: UserId;
  status: PresenceStatus;
  at: number;
  /** The device it comes from (contract section 11); absent: `default`. */
  device?: string;
  /** What kind of client the device is; absent: `web`. */
  client?: ClientKind;
}

export type HeartbeatOutcome =
  | {
      accepted: true;
      transition: Transition | null;
      deadline: number | null;
      v: number;
      /** The user's status and clients after it (over all devices). */
      status: PresenceStatus;
      clients: Clients;
    }
  | { accepted: false; retryAfterMs: number };

export interface ExpireOutcome {
  /** Set when this call changed the user (offline, or fewer devices): the caller, and no other, announces it. */
  transition: Transition | null;
  /** When to look again, if the user is still live. */
  deadline: number | null;
  /** Conversations the user was typing in, whose typing ended with the transition (announce is_typing: false). */
  stoppedTyping: ConversationId[];
}

/** What a stand-in learned during an outage of the shared store and hands back when it returns. */
export interface Restored {
  /** Users whose state the shared store took: changes other processes missed. */
  changed: ReadonlyMap<UserId, UserState>;
  /** Typing the shared store never heard of: it ends now, or nobody would ever end it. */
  typing: readonly TypingEntry[];
}

/** How many open WebSockets this process holds for a device of a user. */
export interface HeldSockets {
  userId: UserId;
  sockets: number;
  /** Absent: `default`. */
  device?: string;
}

export interface TypingEntry {
  userId: UserId;
  conversationId: ConversationId;
}

/**
 * Liveness decisions, each atomic inside the backend by the rules of core/rules.ts, so that exactly one caller
 * (one process) sees each transition.
 */
export interface LivenessStore {
  readonly rules: RuleConfig;
  /** Applies heartbeats in order; one outcome per input. */
  heartbeat(inputs: readonly HeartbeatInput[]): Promise<HeartbeatOutcome[]>;
  /**
   * A WebSocket of this process opened for a device of the user (absent: `default`); returns when the user's
   * other devices next need a look.
   */
  connect(
    userId: UserId,
    at: number,
    device?: DeviceRef,
  ): Promise<{ transition: Transition | null; deadline: number | null }>;
  /** A status chosen over an open WebSocket of this process for its device (not a heartbeat). */
  setStatus(
    userId: UserId,
    status: 'online' | 'away',
    at: number,
    device?: string,
    /** The device's kind, should the status bring back a device that had ended (default `web`). */
    kind?: ClientKind,
  ): Promise<{ transition: Transition | null }>;
  /**
   * A new version of the user's presence with nothing else changed (a privacy setting changed what others
   * see); returns the presence at that version.
   */
  bumpVersion(userId: UserId, at: number): Promise<Transition>;
  /**
   * A WebSocket of this process closed; returns when to check for offline. `clean`: the client closed it (its
   * last activity); otherwise it was cut (no answer to pings), which does not move last_seen.
   */
  disconnect(
    userId: UserId,
    at: number,
    clean: boolean,
    device?: string,
  ): Promise<{ deadline: number | null }>;
  /**
   * Refreshes the liveness of users this process holds WebSockets for, and this process's own liveness,
   * stating how many sockets it holds per device (so counts lost while this process looked dead come back).
   * Returns the users with a device past its deadline (its heartbeats stopped and whoever watched them died),
   * for the caller to expire.
   */
  touch(held: readonly HeldSockets[], at: number): Promise<UserId[]>;
  /** Activity of users over their sockets (frames, pongs): moves last_seen of those not offline. */
  activity(userIds: readonly UserId[], at: number): Promise<void>;
  /**
   * Compare-and-remove: ends the user's devices whose deadline has passed, atomically; the transition is set
   * when that changed the user's status or clients.
   */
  expire(userId: UserId, at: number): Promise<ExpireOutcome>;
  /** Users not offline whose last liveness signal is at or before `cutoff` (the crash-safe sweep). */
  staleUsers(cutoff: number, limit: number): Promise<UserId[]>;
  /**
   * Removes leftovers no rule reaches (typing entries of expired keys, long-offline state) and returns the users
   * still marked online whose hot state expired: the caller expires them, which announces the change.
   */
  cleanup(at: number): Promise<UserId[]>;
  /** Drops this process's hold on its users' WebSockets (graceful shutdown), without announcing anything. */
  detach(held: readonly HeldSockets[], at: number): Promise<void>;
}

/** Reads of hot state, and the cache-aside refill from the durable record. */
export interface PresenceReads {
  /** The hot state of the given users; unknown users are absent. */
  getMany(userIds: readonly UserId[]): Promise<Map<UserId, UserState>>;
  /** Caches durable records of users with no hot state (cache-aside refill); never overwrites hot state. */
  fill(states: ReadonlyMap<UserId, UserState>): Promise<void>;
  /** Pages through every user not offline, for the bulk sync to PostgreSQL. */
  scanOnline(cursor: string, count: number): Promise<{ cursor: string; states: Map<UserId, UserState> }>;
  countOnline(): Promise<number>;
}

/** Typing per conversation, each entry expiring on its own. */
export interface TypingStore {
  /** Starts or extends typing; true when the user was not typing there (announce is_typing: true). */
  startTyping(userId: UserId, conversationId: ConversationId, at: number, ttlMs: number): Promise<boolean>;
  /** Stops typing; true when the user was typing there (announce is_typing: false). */
  stopTyping(userId: UserId, conversationId: ConversationId): Promise<boolean>;
  /** Compare-and-remove of an expired typing entry; true when this call removed it. */
  expireTyping(userId: UserId, conversationId: ConversationId, at: number): Promise<boolean>;
  /** Typing entries whose expiry is at or before `at`. */
  dueTyping(at: number, limit: number): Promise<TypingEntry[]>;
  /** Users typing in a conversation now. */
  typingIn(conversationId: ConversationId, at: number): Promise<UserId[]>;
}

/** Leases for jobs that must run on one process at a time. */
export interface LeaseStore {
  /** Takes or extends a lease; true when `holder` has it. */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
}

export type VersionKind = 'user' | 'conversation' | 'settings';

/**
 * Graph versions: a counter per user and per conversation, bumped by every graph change that touches it, so
 * a process can tell at once (one round trip) that a cached visibility list is out of date.
 */
export interface GraphVersionStore {
  /** Kind `settings` (id 0) is one counter for everyone's privacy settings. */
  graphVersions(kind: VersionKind, id: number): Promise<number>;
  /** Several counters of one kind at once (one round trip on a single Redis), in the order of `ids`. */
  graphVersionsMany(kind: VersionKind, ids: readonly number[]): Promise<number[]>;
  /** `settings`: also bumps the settings counter (someone's privacy settings changed). */
  bumpGraphVersions(
    users: readonly UserId[],
    conversations: readonly ConversationId[],
    settings?: boolean,
  ): Promise<void>;
}

/** Everything one hot-state backend offers. */
export interface HotStore extends LivenessStore, PresenceReads, TypingStore, LeaseStore, GraphVersionStore {
  /** True when the state lives only in this process and dies with it (shutdown then persists everyone). */
  readonly ephemeral: boolean;
  /** True while a stand-in answers for the real backend: reads then trust PostgreSQL for the rest. */
  readonly degraded: boolean;
}

/** The method names of each port, for wrappers that forward every call (the failover store). */
export const HOT_STORE_METHODS = [
  'heartbeat',
  'connect',
  'setStatus',
  'bumpVersion',
  'disconnect',
  'touch',
  'activity',
  'expire',
  'staleUsers',
  'cleanup',
  'detach',
  'getMany',
  'fill',
  'scanOnline',
  'countOnline',
  'startTyping',
  'stopTyping',
  'expireTyping',
  'dueTyping',
  'typingIn',
  'acquireLease',
  'releaseLease',
  'graphVersions',
  'graphVersionsMany',
  'bumpGraphVersions',
] as const satisfies readonly (keyof HotStore)[];

/** A backend reached over the network, which can be away for a while and come back. */
export interface BackendHealth {
  /** True while the backend takes commands. */
  readonly connected: boolean;
  /**
   * Whether a failed call means the backend is away (disconnected, or a command that timed out on a
   * connection that hangs) rather than a bug, which must surface.
   */
  isOutage(error: unknown): boolean;
  /** Calls `listener` each time the backend is reachable again; returns the unsubscribe. */
  onReconnect(listener: () => void): () => void;
  /** One round trip: true when it answered. */
  ping(): Promise<boolean>;
}

/** A backend that can take back what a stand-in learned while it was away. */
export interface Restorable {
  /** Stops counting this process's sockets under its old identity (counts kept while away are void). */
  renewProcess(): Promise<void>;
  /**
   * Writes states learned elsewhere: the later version wins, times only move forward. Returns the users whose
   * state was written: changes made during the outage, which other processes have not heard of.
   */
  restore(states: ReadonlyMap<UserId, UserState>): Promise<UserId[]>;
}

// ---- fan-out ----------------------------------------------------------------------------------------------

export type BusHandler = (payload: string) => void;

/**
 * The broadcast bus: groups of subscribers, one payload to many groups, across every process. It carries
 * opaque strings and knows nothing of WebSockets.
 */
export interface Bus {
  /**
   * Delivers `payload` once to each subscriber of any of `groups`, on every process. Settles once the bus
   * server has taken it (so whatever is published after that is delivered after it); never rejects: a lost
   * publish is what a bus gap reports.
   */
  publish(groups: readonly string[], payload: string): Promise<void>;
  /** Subscribes to a group on this process; returns the unsubscribe. */
  subscribe(group: string, handler: BusHandler): () => void;
  /**
   * Settles once broadcasts to `group` from other processes reach this one (a bus that subscribes per group
   * asks its server first); absent when subscribing takes effect at once.
   */
  ready?(group: string): Promise<void>;
  close(): Promise<void>;
}

/** All connections of one user (every device, every process). */
export const userGroup = (userId: UserId): string => `presence_user_${userId}`;
/**
 * The watchers of one user, on every process: a transition is published once to the user's own group and to
 * this one, and each process finds its local watchers in its watch index.
 */
export const watchGroup = (userId: UserId): string => `presence_watch_${userId}`;
/** The user a `userGroup` or `watchGroup` is about (both travel on that user's channel), or null. */
export function subjectOfGroup(group: string): UserId | null {
  const match = /^presence_(?:user|watch)_([0-9]+)$/.exec(group);
  return match ? Number(match[1]) : null;
}
/** Graph changes, so every process drops its cached subscriber lists. */
export const GRAPH_GROUP = 'presence_graph';

// ---- durable record ---------------------------------------------------------------------------------------

/** What the service needs of the durable store (the PostgreSQL repository). */
export interface PresenceDurable {
  ensureUsers(ids: readonly UserId[]): Promise<void>;
  subscribersMany(userIds: readonly UserId[]): Promise<Map<UserId, UserId[]>>;
  participantsMany(conversationIds: readonly ConversationId[]): Promise<Map<ConversationId, UserId[]>>;
  getPresences(userIds: readonly UserId[]): Promise<Map<UserId, PresenceRecord>>;
  upsertPresences(records: readonly PresenceRecord[]): Promise<void>;
  upsertUser(id: UserId, username: string | null): Promise<void>;
  follow(followerId: UserId, followeeId: UserId): Promise<void>;
  unfollow(followerId: UserId, followeeId: UserId): Promise<void>;
  /** Records a block; true when the pair was blocked in neither direction before (the two stop seeing each other). */
  block(blockerId: UserId, blockedId: UserId): Promise<boolean>;
  /** Lifts a block; true when the pair was blocked and now is in neither direction. */
  unblock(blockerId: UserId, blockedId: UserId): Promise<boolean>;
  setConversation(id: ConversationId, participantIds: readonly UserId[]): Promise<UserId[]>;
  deleteConversation(id: ConversationId): Promise<UserId[]>;
  /** Mutual followers of each user. */
  mutualsMany(userIds: readonly UserId[]): Promise<Map<UserId, UserId[]>>;
  /** Privacy settings of each user (defaults for users without a row). */
  settingsMany(userIds: readonly UserId[]): Promise<Map<UserId, StoredPrivacy>>;
  /** Changes a user's settings, ordered with concurrent changes; returns them before and after. */
  updateSettings(
    userId: UserId,
    change: Partial<Pick<StoredPrivacy, 'invisible' | 'lastSeen'>>,
  ): Promise<{ before: StoredPrivacy; after: StoredPrivacy }>;
  /** Records the presence others see of a user who just went invisible. */
  freezeHidden(userId: UserId, lastSeen: number | null, v: number): Promise<void>;
}
