import { Cluster } from 'ioredis';
import type {
  BackendHealth,
  ExpireOutcome,
  HeartbeatInput,
  HeartbeatOutcome,
  HeldSockets,
  HotStore,
  Restorable,
  TypingEntry,
  VersionKind,
} from '../core/ports.js';
import type { ClientKind, DeviceRef, RuleConfig, UserState } from '../core/rules.js';
import type { ConversationId, Transition, UserId } from '../core/types.js';
import { cleanup } from './redis/cleanup.js';
import { RedisGraphVersions } from './redis/graph-versions.js';
import { clusterKeys, type RedisKeys, redisKeys } from './redis/keys.js';
import { RedisLeases } from './redis/leases.js';
import { RedisLiveness } from './redis/liveness.js';
import { ProcessRegistry } from './redis/process-registry.js';
import type { RedisClient } from './redis/replies.js';
import { defineScripts } from './redis/scripts.js';
import { ShardNodes } from './redis/shard-nodes.js';
import { RedisTyping } from './redis/typing.js';
import { RedisUserStates } from './redis/user-states.js';

export interface RedisStoreOptions {
  rules: RuleConfig;
  /** Identifies this process in the per-process connection counts. */
  processId: string;
  /** TTL of the per-user hash (PRESENCE_TTL_S). */
  ttlSeconds: number;
  /** How long this process counts as alive; `touch` renews it, so it must exceed the refresh interval. */
  processTtlMs: number;
  /** Prepended to every key; tests use one of their own. */
  prefix?: string;
  /**
   * On a Redis Cluster: how many shards the cross-user keys are split into (config's REDIS_CLUSTER_SHARDS);
   * absent on a single Redis, whose v1 layout has none.
   */
  clusterShards?: number;
}

/**
 * Hot state in Redis, under the keys of store/redis/keys.ts. Every decision is one Lua script, so it is atomic
 * however many processes share the Redis; batches go out as one pipeline. This class only routes each call
 * to the part of store/redis/ that owns it.
 */
export class RedisStore implements HotStore, BackendHealth, Restorable {
  readonly ephemeral = false;
  readonly degraded = false;
  readonly rules: RuleConfig;
  private readonly keys: RedisKeys;
  private readonly process: ProcessRegistry;
  private readonly nodes: ShardNodes;
  private readonly liveness: RedisLiveness;
  private readonly states: RedisUserStates;
  private readonly typing: RedisTyping;
  private readonly leases: RedisLeases;
  private readonly versions: RedisGraphVersions;

  constructor(
    private readonly redis: RedisClient,
    options: RedisStoreOptions,
  ) {
    defineScripts(redis);
    this.rules = options.rules;
    this.keys =
      options.clusterShards === undefined
        ? redisKeys(options.prefix)
        : clusterKeys(options.prefix ?? '', options.clusterShards);
    this.process = new ProcessRegistry(redis, this.keys, options.processId, options.processTtlMs);
    this.nodes = new ShardNodes(redis, this.keys);
    this.liveness = new RedisLiveness(
      redis,
      this.keys,
      this.rules,
      options.ttlSeconds,
      this.process,
      this.nodes,
    );
    this.states = new RedisUserStates(redis, this.keys, options.ttlSeconds, this.nodes);
    this.typing = new RedisTyping(redis, this.keys);
    this.leases = new RedisLeases(redis, this.keys);
    this.versions = new RedisGraphVersions(redis, this.keys);
  }

  /** Announces this process as alive, so its WebSocket counts are believed. Call before the first connect. */
  async register(): Promise<void> {
    await Promise.all([this.process.register(), this.nodes.load()]);
  }

  renewProcess(): Promise<void> {
    return this.process.renew();
  }

  // ---- liveness ---------------------------------------------------------------------------------------------

  heartbeat(inputs: readonly HeartbeatInput[]): Promise<HeartbeatOutcome[]> {
    return this.liveness.heartbeat(inputs);
  }

  connect(
    userId: UserId,
    at: number,
    device?: DeviceRef,
  ): Promise<{ transition: Transition | null; deadline: number | null }> {
    return this.liveness.connect(userId, at, device);
  }

  setStatus(
    userId: UserId,
    status: 'online' | 'away',
    at: number,
    device?: string,
    kind?: ClientKind,
  ): Promise<{ transition: Transition | null }> {
    return this.liveness.setStatus(userId, status, at, device, kind);
  }

  bumpVersion(userId: UserId, at: number): Promise<Transition> {
    return this.liveness.bumpVersion(userId, at);
  }

  disconnect(
    userId: UserId,
    at: number,
    clean: boolean,
    device?: string,
  ): Promise<{ deadline: number | null }> {
    return this.liveness.disconnect(userId, at, clean, device);
  }

  activity(userIds: readonly UserId[], at: number): Promise<void> {
    return this.liveness.activity(userIds, at);
  }

  touch(held: readonly HeldSockets[], at: number): Promise<UserId[]> {
    return this.liveness.touch(held, at);
  }

  expire(userId: UserId, at: number): Promise<ExpireOutcome> {
    return this.liveness.expire(userId, at);
  }

  staleUsers(cutoff: number, limit: number): Promise<UserId[]> {
    return this.liveness.staleUsers(cutoff, limit);
  }

  cleanup(at: number): Promise<UserId[]> {
    return cleanup(this.redis, this.keys, this.rules, at);
  }

  detach(held: readonly HeldSockets[], _at: number): Promise<void> {
    return this.liveness.detach(held);
  }

  // ---- whole states -----------------------------------------------------------------------------------------

  getMany(userIds: readonly UserId[]): Promise<Map<UserId, UserState>> {
    return this.states.getMany(userIds);
  }

  fill(states: ReadonlyMap<UserId, UserState>): Promise<void> {
    return this.states.fill(states);
  }

  scanOnline(cursor: string, count: number): Promise<{ cursor: string; states: Map<UserId, UserState> }> {
    return this.states.scanOnline(cursor, count);
  }

  countOnline(): Promise<number> {
    return this.states.countOnline();
  }

  restore(states: ReadonlyMap<UserId, UserState>): Promise<UserId[]> {
    return this.states.restore(states, this.process.id);
  }

  // ---- typing -----------------------------------------------------------------------------------------------

  startTyping(userId: UserId, conversationId: ConversationId, at: number, ttlMs: number): Promise<boolean> {
    return this.typing.startTyping(userId, conversationId, at, ttlMs);
  }

  stopTyping(userId: UserId, conversationId: ConversationId): Promise<boolean> {
    return this.typing.stopTyping(userId, conversationId);
  }

  expireTyping(userId: UserId, conversationId: ConversationId, at: number): Promise<boolean> {
    return this.typing.expireTyping(userId, conversationId, at);
  }

  dueTyping(at: number, limit: number): Promise<TypingEntry[]> {
    return this.typing.dueTyping(at, limit);
  }

  typingIn(conversationId: ConversationId, at: number): Promise<UserId[]> {
    return this.typing.typingIn(conversationId, at);
  }

  // ---- leases and graph versions ----------------------------------------------------------------------------

  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.leases.acquireLease(name, holder, ttlMs);
  }

  releaseLease(name: string, holder: string): Promise<void> {
    return this.leases.releaseLease(name, holder);
  }

  graphVersions(kind: VersionKind, id: number): Promise<number> {
    return this.versions.graphVersions(kind, id);
  }

  graphVersionsMany(kind: VersionKind, ids: readonly number[]): Promise<number[]> {
    return this.versions.graphVersionsMany(kind, ids);
  }

  bumpGraphVersions(
    users: readonly UserId[],
    conversations: readonly ConversationId[],
    settings?: boolean,
  ): Promise<void> {
    return this.versions.bumpGraphVersions(users, conversations, settings);
  }

  // ---- backend health ---------------------------------------------------------------------------------------

  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  isOutage(error: unknown): boolean {
    if (!this.connected) return true;
    if (!(error instanceof Error)) return false;
    // On a cluster the client stays ready while one master is away: its commands then fail this way until a
    // replica takes over.
    return /timed out|CLUSTERDOWN|TRYAGAIN|Too many Cluster redirections|Connection is closed|ClusterAllFailed/i.test(
      error.message,
    );
  }

  onReconnect(listener: () => void): () => void {
    this.redis.on('ready', listener);
    return () => this.redis.off('ready', listener);
  }

  /** On a cluster, whether the node asked serves every slot (a master away and not yet replaced: no). */
  async ping(): Promise<boolean> {
    try {
      if (this.redis instanceof Cluster)
        return (await this.redis.cluster('INFO')).includes('cluster_state:ok');
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
