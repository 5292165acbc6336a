import type { VersionKind } from '../../core/ports.js';
import type { ConversationId, UserId } from '../../core/types.js';

/**
 * Every Redis key and channel name of the presence service, built from one prefix. Scripts never build a key:
 * each key a script touches arrives in its KEYS, so a script's keys are known before it runs.
 */
export interface RedisKeys {
  /** Sorted set of users not offline; score = last liveness signal (heartbeat, socket open, refresh), epoch ms. */
  readonly online: string;
  /**
   * Sorted set of live processes; score = when the process stops counting as alive, in ms of Redis's clock.
   * A process's socket counts in user hashes are believed only while its entry has not run out.
   */
  readonly processes: string;
  /** Sorted set of typing entries (see `typingDueMember`) by expiry: what the typing expiry sweep reads. */
  readonly typingDue: string;
  /**
   * Hash of one user's hot state, TTL = the store's ttlSeconds: `status`, `last_seen` (epoch ms) and `typing_in`,
   * then `hb` (last heartbeat), `ws` (last socket liveness), `dc` (last clean close), `c:{process}` (open sockets).
   */
  user(userId: UserId): string;
  /** Sorted set of the users typing in a conversation; score = expiry, epoch ms. */
  typing(conversationId: ConversationId): string;
  /** String holding the holder of a job's lease, with the lease's TTL. */
  lease(name: string): string;
  /** Counter bumped by each graph change touching the user or conversation. */
  graphVersion(kind: VersionKind, id: number): string;
}

export function redisKeys(prefix = ''): RedisKeys {
  const base = `${prefix}presence:`;
  return {
    online: `${base}online_users`,
    processes: `${base}processes`,
    typingDue: `${base}typing_due`,
    user: (userId) => `${base}user:${userId}`,
    typing: (conversationId) => `${base}typing:${conversationId}`,
    lease: (name) => `${base}lease:${name}`,
    graphVersion: (kind, id) => `${base}graph_version:${kind}:${id}`,
  };
}

/** The pub/sub channel that carries every broadcast between processes. */
export const busChannel = (prefix = ''): string => `${prefix}presence:bus`;

/** A member of `typingDue`: one user typing in one conversation. */
export const typingDueMember = (userId: UserId, conversationId: ConversationId): string =>
  `${userId}:${conversationId}`;

export function parseTypingDueMember(member: string): { userId: UserId; conversationId: ConversationId } {
  const [userId, conversationId] = member.split(':').map(Number);
  return { userId: userId as UserId, conversationId: conversationId as ConversationId };
}
