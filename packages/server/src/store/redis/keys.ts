import type { VersionKind } from '../../core/ports.js';
import type { ConversationId, UserId } from '../../core/types.js';

/**
 * Every Redis key and channel name of the presence service, built from one prefix. Scripts never build a key:
 * each key a script touches arrives in its KEYS, so a script's keys are known before it runs.
 *
 * Two layouts. On a single Redis, the v1 layout of the contract (one online set, one processes set, one typing
 * index): `shards` is 1 and every shard argument names the same key. On a Redis Cluster, the keys that span
 * users are split into `shards` shards, each with the hash tag `{N}`, and each user's hash carries its shard's
 * tag: every key one script touches (a user's hash, its shard's online set, processes set, typing index and
 * typing sets) then hashes to one slot, as Cluster requires.
 */
export interface RedisKeys {
  /** How many shards the cross-user keys are split into: 1 on a single Redis. */
  readonly shards: number;
  /** Whether keys of different shards may live on different nodes (callers then batch per shard). */
  readonly clustered: boolean;
  /** The shard holding a user's keys: the user hash, and the user's entries in the sharded sets. */
  shardOf(userId: UserId): number;
  /** Sorted set of users not offline; score = last liveness signal (heartbeat, socket open, refresh), epoch ms. */
  online(shard: number): string;
  /**
   * Sorted set of live processes; score = when the process stops counting as alive, in ms of Redis's clock.
   * A process's socket counts in user hashes are believed only while its entry has not run out. On a cluster
   * every shard has its own copy, kept alive by the process's refresh of that shard.
   */
  processes(shard: number): string;
  /** Sorted set of typing entries (see `typingDueMember`) by expiry: what the typing expiry sweep reads. */
  typingDue(shard: number): string;
  /** Sorted set of the users (of one shard) whose custom status expires; score = expiry, epoch ms. */
  customDue(shard: number): string;
  /**
   * Hash of one user's hot state, TTL = the store's ttlSeconds: `status`, `last_seen` (epoch ms) and `typing_in`,
   * then `hb` (last heartbeat), `v`, `cl`, `d:{device}` per device, `c:{process}:{device}` (open sockets) and
   * `cu` (the custom status; while it is set the hash does not expire).
   */
  user(userId: UserId): string;
  /** Sorted set of the users (of one shard) typing in a conversation; score = expiry, epoch ms. */
  typing(conversationId: ConversationId, shard: number): string;
  /** String holding the holder of a job's lease, with the lease's TTL. */
  lease(name: string): string;
  /** Counter bumped by each graph change touching the user or conversation. */
  graphVersion(kind: VersionKind, id: number): string;
}

/** The v1 layout of a single Redis (contract section 9). */
export function redisKeys(prefix = ''): RedisKeys {
  const base = `${prefix}presence:`;
  return {
    shards: 1,
    clustered: false,
    shardOf: () => 0,
    online: () => `${base}online_users`,
    processes: () => `${base}processes`,
    typingDue: () => `${base}typing_due`,
    customDue: () => `${base}custom_due`,
    user: (userId) => `${base}user:${userId}`,
    typing: (conversationId) => `${base}typing:${conversationId}`,
    lease: (name) => `${base}lease:${name}`,
    graphVersion: (kind, id) => `${base}graph_version:${kind}:${id}`,
  };
}

/**
 * The Redis Cluster layout: `presence:online_users:{N}` (contract section 17) and the same `{N}` tag on every
 * key of shard N. A user's shard is its id modulo `shards`, so it never moves while `shards` stays the same.
 */
export function clusterKeys(prefix: string, shards: number): RedisKeys {
  const base = `${prefix}presence:`;
  const shardOf = (userId: UserId) => userId % shards;
  return {
    shards,
    clustered: true,
    shardOf,
    online: (shard) => `${base}online_users:{${shard}}`,
    processes: (shard) => `${base}processes:{${shard}}`,
    typingDue: (shard) => `${base}typing_due:{${shard}}`,
    customDue: (shard) => `${base}custom_due:{${shard}}`,
    user: (userId) => `${base}user:{${shardOf(userId)}}:${userId}`,
    typing: (conversationId, shard) => `${base}typing:{${shard}}:${conversationId}`,
    lease: (name) => `${base}lease:${name}`,
    graphVersion: (kind, id) => `${base}graph_version:${kind}:${id}`,
  };
}

/** Every shard number of a layout, in order. */
export const allShards = (keys: RedisKeys): number[] => Array.from({ length: keys.shards }, (_, i) => i);

/**
 * The sharded pub/sub channels of a Redis Cluster: one per user, in the slot of the user's keys (so a
 * process's subscriptions spread over the nodes as its users do), and one that every process reads.
 */
export function clusterBusChannels(
  prefix: string,
  shards: number,
): { user(userId: UserId): string; broadcast: string } {
  const base = `${prefix}presence:bus:`;
  return {
    user: (userId) => `${base}{${userId % shards}}:${userId}`,
    broadcast: `${base}{all}`,
  };
}

/** The pub/sub channel that carries every broadcast between processes (on a single Redis). */
export const busChannel = (prefix = ''): string => `${prefix}presence:bus`;

/** A member of `typingDue`: one user typing in one conversation. */
export const typingDueMember = (userId: UserId, conversationId: ConversationId): string =>
  `${userId}:${conversationId}`;

export function parseTypingDueMember(member: string): { userId: UserId; conversationId: ConversationId } {
  const [userId, conversationId] = member.split(':').map(Number);
  return { userId: userId as UserId, conversationId: conversationId as ConversationId };
}
