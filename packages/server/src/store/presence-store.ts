import type { PresenceStatus } from '@presence/protocol';
import type { RuleConfig, UserState } from '../core/rules.js';
import type { ConversationId, Transition, UserId } from '../core/types.js';

export interface HeartbeatInput {
  userId: UserId;
  status: PresenceStatus;
  at: number;
}

export type HeartbeatOutcome =
  | { accepted: true; transition: Transition | null; deadline: number | null }
  | { accepted: false; retryAfterMs: number };

export interface ExpireOutcome {
  /** Set when this call took the user offline: the caller, and no other process, announces it. */
  transition: Transition | null;
  /** When to look again, if the user is still live. */
  deadline: number | null;
  /** Conversations the user was typing in, whose typing ended with the transition (announce is_typing: false). */
  stoppedTyping: ConversationId[];
}

export interface TypingEntry {
  userId: UserId;
  conversationId: ConversationId;
}

/**
 * Hot presence state: a handful of atomic primitives, each deciding by the rules of core/rules.ts. Two
 * backends implement it: memory (one process, the embedded default) and Redis (any number of processes).
 * Every multi-step decision is atomic inside the backend, so that exactly one caller sees each transition.
 */
export interface PresenceStore {
  readonly kind: 'memory' | 'redis';
  readonly rules: RuleConfig;
  /** True while the hot store is a local stand-in (Redis unreachable): PostgreSQL then answers for the rest. */
  readonly degraded?: boolean;

  /** Applies heartbeats in order; one outcome per input. */
  heartbeat(inputs: readonly HeartbeatInput[]): Promise<HeartbeatOutcome[]>;
  /** A WebSocket of this process opened for the user. */
  connect(userId: UserId, at: number): Promise<{ transition: Transition | null }>;
  /** A status chosen over an open WebSocket of this process (not a heartbeat). */
  setStatus(
    userId: UserId,
    status: 'online' | 'away',
    at: number,
  ): Promise<{ transition: Transition | null }>;
  /** A WebSocket of this process closed; returns when to check for offline. */
  disconnect(userId: UserId, at: number): Promise<{ deadline: number | null }>;
  /** Refreshes the liveness of users this process holds WebSockets for, and this process's own liveness. */
  touch(userIds: readonly UserId[], at: number): Promise<void>;
  /** Compare-and-remove: takes the user offline if the deadline has passed, atomically. */
  expire(userId: UserId, at: number): Promise<ExpireOutcome>;
  /** Users not offline whose last liveness signal is at or before `cutoff` (the crash-safe sweep). */
  staleUsers(cutoff: number, limit: number): Promise<UserId[]>;
  /** The hot state of the given users; unknown users are absent. */
  getMany(userIds: readonly UserId[]): Promise<Map<UserId, UserState>>;
  /** Caches durable records of users with no hot state (cache-aside refill); never overwrites hot state. */
  fill(states: ReadonlyMap<UserId, UserState>): Promise<void>;
  /** Pages through every user not offline, for the bulk sync to PostgreSQL. */
  scanOnline(cursor: string, count: number): Promise<{ cursor: string; states: Map<UserId, UserState> }>;
  countOnline(): Promise<number>;

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

  /**
   * Removes leftovers no rule reaches (typing entries of expired keys, long-offline state) and returns the users
   * still marked online whose hot state expired: the caller expires them, which announces the change.
   */
  cleanup(at: number): Promise<UserId[]>;
  /** Takes or extends a lease for a background job; true when `holder` has it. */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
  /**
   * Graph versions: a counter per user and per conversation, bumped by every graph change that touches it, so
   * a process can tell at once (one round trip) that a cached visibility list is out of date.
   */
  graphVersions(kind: 'user' | 'conversation', id: number): Promise<number>;
  bumpGraphVersions(users: readonly UserId[], conversations: readonly ConversationId[]): Promise<void>;
  /** Drops this process's hold on its users' WebSockets (graceful shutdown), without announcing anything. */
  detach(userIds: readonly UserId[], at: number): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
