import { randomUUID } from 'node:crypto';
import type { PresenceStatus } from '@presence/protocol';
import type { ChainableCommander, Redis } from 'ioredis';
import type { RuleConfig, UserState } from '../core/rules.js';
import type { ConversationId, Transition, UserId } from '../core/types.js';
import type {
  BackendHealth,
  ExpireOutcome,
  HeartbeatInput,
  HeartbeatOutcome,
  HotStore,
  Restorable,
  TypingEntry,
} from '../core/ports.js';
import * as scripts from './redis-scripts.js';

export interface RedisStoreOptions {
  rules: RuleConfig;
  /** Identifies this process in the per-process connection counts. */
  processId: string;
  /** TTL of the per-user hash (PRESENCE_TTL_S). */
  ttlSeconds: number;
  /** TTL of this process's liveness key; `touch` refreshes it, so it must exceed the refresh interval. */
  processTtlMs: number;
  /** Prepended to every key; tests use one of their own. */
  prefix?: string;
}

type Reply = unknown;
/** Longer than any cached list lives (SetCache's TTL), so a counter never restarts under a cached entry. */
const GRAPH_VERSION_TTL_S = 3_600;
/** Users per heartbeat script call: long enough to amortise the call, short enough not to stall Redis. */
const HEARTBEAT_CHUNK = 200;
const num = (value: unknown): number | null => (value === '' || value == null ? null : Number(value));

const COMMANDS = {
  presenceHeartbeats: [1, scripts.HEARTBEATS],
  presenceConnect: [2, scripts.CONNECT],
  presenceDisconnect: [2, scripts.DISCONNECT],
  presenceSetStatus: [2, scripts.SET_STATUS],
  presenceTouch: [2, scripts.TOUCH],
  presenceExpire: [2, scripts.EXPIRE],
  presenceFill: [1, scripts.FILL],
  presenceRestore: [2, scripts.RESTORE],
  presenceTypingStart: [3, scripts.TYPING_START],
  presenceTypingStop: [3, scripts.TYPING_STOP],
  presenceLeaseAcquire: [1, scripts.LEASE_ACQUIRE],
  presenceLeaseRelease: [1, scripts.LEASE_RELEASE],
} as const;
type CommandName = keyof typeof COMMANDS;
type Scripted = { [K in CommandName]: (...args: (string | number)[]) => Promise<Reply> };

/**
 * Hot state in Redis under the contract's keys (section 9). Every decision is one Lua script, so it is atomic
 * however many processes share the Redis; batches go out as one pipeline.
 */
export class RedisStore implements HotStore, BackendHealth, Restorable {
  readonly ephemeral = false;
  readonly degraded = false;
  readonly rules: RuleConfig;
  private readonly prefix: string;
  private readonly online: string;
  private processKey: string;
  private readonly typingDue: string;

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisStoreOptions,
  ) {
    this.rules = options.rules;
    this.prefix = options.prefix ?? '';
    this.online = `${this.prefix}presence:online_users`;
    this.processKey = `${this.prefix}presence:process:${options.processId}`;
    this.typingDue = `${this.prefix}presence:typing_due`;
    for (const [name, [numberOfKeys, lua]] of Object.entries(COMMANDS)) {
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
    }
  }

  private get cmd(): Scripted {
    return this.redis as unknown as Scripted;
  }

  private userKey(userId: UserId): string {
    return `${this.prefix}presence:user:${userId}`;
  }

  private typingKey(conversationId: ConversationId): string {
    return `${this.prefix}presence:typing:${conversationId}`;
  }

  /**
   * Starts counting this process's sockets under a new id and drops the old one at once, so counts that went
   * stale while Redis was unreachable stop counting; the caller then connects its held sockets again.
   */
  async renewProcess(): Promise<void> {
    const old = this.processKey;
    const processId = randomUUID();
    this.options.processId = processId;
    this.processKey = `${this.prefix}presence:process:${processId}`;
    await this.register();
    await this.redis.del(old);
  }

  /** Announces this process as alive, so its WebSocket counts are believed. Call before the first connect. */
  async register(): Promise<void> {
    await this.redis.set(this.processKey, '1', 'PX', this.options.processTtlMs);
  }

  private async pipeline(build: (pipe: ChainableCommander & Scripted) => void): Promise<Reply[]> {
    const pipe = this.redis.pipeline();
    build(pipe as ChainableCommander & Scripted);
    const results = (await pipe.exec()) ?? [];
    return results.map(([error, value]) => {
      if (error) throw error;
      return value;
    });
  }

  async heartbeat(inputs: readonly HeartbeatInput[]): Promise<HeartbeatOutcome[]> {
    if (inputs.length === 0) return [];
    const { heartbeatMinIntervalMs, presenceTimeoutMs, disconnectGraceMs } = this.rules;
    // One script call per chunk of users that share a time; a chunk stays short so Redis is never held long.
    const chunks: HeartbeatInput[][] = [];
    for (const input of inputs) {
      const last = chunks[chunks.length - 1];
      if (last && last.length < HEARTBEAT_CHUNK && (last[0] as HeartbeatInput).at === input.at)
        last.push(input);
      else chunks.push([input]);
    }
    const replies = await this.pipeline((pipe) => {
      for (const chunk of chunks) {
        const args: (string | number)[] = [
          this.online,
          this.prefix,
          (chunk[0] as HeartbeatInput).at,
          heartbeatMinIntervalMs,
          this.options.ttlSeconds,
          presenceTimeoutMs,
          disconnectGraceMs,
        ];
        for (const { userId, status } of chunk) args.push(userId, status);
        pipe.presenceHeartbeats(...args);
      }
    });
    const outcomes: HeartbeatOutcome[] = [];
    replies.forEach((reply, c) => {
      const flat = reply as Array<number | string>;
      const chunk = chunks[c] as HeartbeatInput[];
      for (let i = 0; i < chunk.length; i++) {
        if (flat[i * 4] === 0) {
          outcomes.push({ accepted: false, retryAfterMs: Number(flat[i * 4 + 1]) });
          continue;
        }
        const { userId, status } = chunk[i] as HeartbeatInput;
        const previous = flat[i * 4 + 1] as PresenceStatus;
        const transition: Transition | null =
          previous === status ? null : { userId, status, previous, lastSeen: num(flat[i * 4 + 2]) };
        outcomes.push({ accepted: true, transition, deadline: num(flat[i * 4 + 3]) });
      }
    });
    return outcomes;
  }

  async connect(userId: UserId, at: number) {
    const [previous, status, lastSeen] = (await this.cmd.presenceConnect(
      this.userKey(userId),
      this.online,
      userId,
      at,
      this.options.processId,
      this.options.ttlSeconds,
      this.prefix,
    )) as [PresenceStatus, PresenceStatus, string];
    const transition: Transition | null =
      previous === status ? null : { userId, status, previous, lastSeen: num(lastSeen) };
    return { transition };
  }

  async setStatus(userId: UserId, status: 'online' | 'away', at: number) {
    const [previous, lastSeen] = (await this.cmd.presenceSetStatus(
      this.userKey(userId),
      this.online,
      userId,
      status,
      at,
      this.options.ttlSeconds,
    )) as [PresenceStatus, string];
    const transition: Transition | null =
      previous === status ? null : { userId, status, previous, lastSeen: num(lastSeen) };
    return { transition };
  }

  async disconnect(userId: UserId, at: number) {
    const due = await this.cmd.presenceDisconnect(
      this.userKey(userId),
      this.online,
      userId,
      at,
      this.options.processId,
      this.options.ttlSeconds,
      this.prefix,
      this.rules.presenceTimeoutMs,
      this.rules.disconnectGraceMs,
    );
    return { deadline: num(due) };
  }

  async touch(userIds: readonly UserId[], at: number): Promise<void> {
    const fixed = [at, this.options.ttlSeconds, this.prefix, this.options.processTtlMs] as const;
    if (userIds.length === 0) {
      await this.cmd.presenceTouch(this.online, this.processKey, ...fixed);
      return;
    }
    await this.pipeline((pipe) => {
      for (let i = 0; i < userIds.length; i += 500) {
        pipe.presenceTouch(this.online, this.processKey, ...fixed, ...userIds.slice(i, i + 500));
      }
    });
  }

  async expire(userId: UserId, at: number): Promise<ExpireOutcome> {
    const reply = (await this.cmd.presenceExpire(
      this.userKey(userId),
      this.online,
      userId,
      at,
      this.rules.presenceTimeoutMs,
      this.rules.disconnectGraceMs,
      this.prefix,
      this.options.ttlSeconds,
    )) as [number, string, string?, string?];
    if (reply[0] === 0) return { transition: null, deadline: num(reply[1]), stoppedTyping: [] };
    const typing = num(reply[3]);
    return {
      transition: {
        userId,
        status: 'offline',
        previous: reply[1] as PresenceStatus,
        lastSeen: num(reply[2]),
      },
      deadline: null,
      stoppedTyping: typing === null ? [] : [typing],
    };
  }

  async staleUsers(cutoff: number, limit: number): Promise<UserId[]> {
    const ids = await this.redis.zrangebyscore(this.online, '-inf', cutoff, 'LIMIT', 0, limit);
    return ids.map(Number);
  }

  async getMany(userIds: readonly UserId[]): Promise<Map<UserId, UserState>> {
    const found = new Map<UserId, UserState>();
    if (userIds.length === 0) return found;
    const replies = await this.pipeline((pipe) => {
      for (const userId of userIds) pipe.hgetall(this.userKey(userId));
    });
    replies.forEach((reply, i) => {
      const state = parseHash(reply as Record<string, string>);
      if (state !== null) found.set(userIds[i] as UserId, state);
    });
    return found;
  }

  async fill(states: ReadonlyMap<UserId, UserState>): Promise<void> {
    if (states.size === 0) return;
    await this.pipeline((pipe) => {
      for (const [userId, state] of states) {
        pipe.presenceFill(
          this.userKey(userId),
          state.status,
          state.lastSeen ?? '',
          state.lastHeartbeat ?? '',
          this.options.ttlSeconds,
        );
      }
    });
  }

  async scanOnline(cursor: string, count: number) {
    const [next, flat] = await this.redis.zscan(this.online, cursor, 'COUNT', count);
    const ids: UserId[] = [];
    for (let i = 0; i < flat.length; i += 2) ids.push(Number(flat[i]));
    return { cursor: next, states: await this.getMany(ids) };
  }

  countOnline(): Promise<number> {
    return this.redis.zcard(this.online);
  }

  async startTyping(
    userId: UserId,
    conversationId: ConversationId,
    at: number,
    ttlMs: number,
  ): Promise<boolean> {
    const announce = await this.cmd.presenceTypingStart(
      this.typingKey(conversationId),
      this.typingDue,
      this.userKey(userId),
      userId,
      conversationId,
      at,
      ttlMs,
    );
    return announce === 1;
  }

  private async typingStop(
    userId: UserId,
    conversationId: ConversationId,
    at: number | '',
  ): Promise<boolean> {
    const removed = await this.cmd.presenceTypingStop(
      this.typingKey(conversationId),
      this.typingDue,
      this.userKey(userId),
      userId,
      conversationId,
      at,
    );
    return removed === 1;
  }

  stopTyping(userId: UserId, conversationId: ConversationId): Promise<boolean> {
    return this.typingStop(userId, conversationId, '');
  }

  expireTyping(userId: UserId, conversationId: ConversationId, at: number): Promise<boolean> {
    return this.typingStop(userId, conversationId, at);
  }

  async dueTyping(at: number, limit: number): Promise<TypingEntry[]> {
    const members = await this.redis.zrangebyscore(this.typingDue, '-inf', at, 'LIMIT', 0, limit);
    return members.map((member) => {
      const [userId, conversationId] = member.split(':').map(Number);
      return { userId: userId as number, conversationId: conversationId as number };
    });
  }

  async typingIn(conversationId: ConversationId, at: number): Promise<UserId[]> {
    const ids = await this.redis.zrangebyscore(this.typingKey(conversationId), `(${at}`, '+inf');
    return ids.map(Number);
  }

  async cleanup(at: number): Promise<UserId[]> {
    // Typing entries whose conversation key expired have nothing left to announce: drop them.
    const staleTyping = await this.redis.zrangebyscore(
      this.typingDue,
      '-inf',
      at - this.rules.presenceTimeoutMs,
    );
    if (staleTyping.length > 0) await this.redis.zrem(this.typingDue, ...staleTyping);
    // Members of the online set whose hash expired: the caller expires them, which announces offline.
    const orphans: UserId[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.zscan(this.online, cursor, 'COUNT', 1000);
      cursor = next;
      const ids: UserId[] = [];
      for (let i = 0; i < flat.length; i += 2) ids.push(Number(flat[i]));
      if (ids.length === 0) continue;
      const exists = await this.pipeline((pipe) => {
        for (const userId of ids) pipe.exists(this.userKey(userId));
      });
      ids.forEach((userId, i) => {
        if (exists[i] === 0) orphans.push(userId);
      });
    } while (cursor !== '0');
    return orphans;
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.cmd.presenceLeaseAcquire(`${this.prefix}presence:lease:${name}`, holder, ttlMs)) === 1;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await this.cmd.presenceLeaseRelease(`${this.prefix}presence:lease:${name}`, holder);
  }

  async detach(userIds: readonly UserId[], _at: number): Promise<void> {
    await this.pipeline((pipe) => {
      for (const userId of userIds) pipe.hdel(this.userKey(userId), `c:${this.options.processId}`);
      pipe.del(this.processKey);
    });
  }

  async graphVersions(kind: 'user' | 'conversation', id: number): Promise<number> {
    return Number((await this.redis.get(`${this.prefix}presence:graph_version:${kind}:${id}`)) ?? 0);
  }

  async bumpGraphVersions(users: readonly UserId[], conversations: readonly ConversationId[]): Promise<void> {
    const keys = [
      ...new Set(users.map((u) => `${this.prefix}presence:graph_version:user:${u}`)),
      ...conversations.map((c) => `${this.prefix}presence:graph_version:conversation:${c}`),
    ];
    if (keys.length === 0) return;
    await this.pipeline((pipe) => {
      for (const key of keys) pipe.incr(key).expire(key, GRAPH_VERSION_TTL_S);
    });
  }

  /**
   * Writes state learned elsewhere (degraded mode's local store) into Redis, keeping whichever side saw the
   * user more recently. Socket counts are not restored: the caller connects its held sockets again.
   */
  async restore(states: ReadonlyMap<UserId, UserState>): Promise<void> {
    if (states.size === 0) return;
    await this.pipeline((pipe) => {
      for (const [userId, s] of states) {
        pipe.presenceRestore(
          this.userKey(userId),
          this.online,
          userId,
          s.status,
          s.lastSeen ?? '',
          s.lastHeartbeat ?? '',
          s.lastSocket ?? '',
          s.lastDisconnect ?? '',
          this.options.processId,
          this.options.ttlSeconds,
          Math.max(s.lastHeartbeat ?? 0, s.lastSocket ?? 0, s.lastSeen ?? 0),
        );
      }
    });
  }

  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  onReconnect(listener: () => void): () => void {
    this.redis.on('ready', listener);
    return () => this.redis.off('ready', listener);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

function parseHash(hash: Record<string, string>): UserState | null {
  if (hash.status === undefined) return null;
  let connections = 0;
  for (const [field, value] of Object.entries(hash))
    if (field.startsWith('c:')) connections += Number(value) || 0;
  return {
    status: hash.status as PresenceStatus,
    lastSeen: num(hash.last_seen),
    lastHeartbeat: num(hash.hb),
    connections,
    lastSocket: num(hash.ws),
    lastDisconnect: num(hash.dc),
  };
}
