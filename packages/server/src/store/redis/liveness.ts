import type { PresenceStatus } from '@presence/protocol';
import { parseCustom } from '../../core/custom-rules.js';
import type { ExpireOutcome, HeartbeatInput, HeartbeatOutcome, HeldSockets } from '../../core/ports.js';
import {
  type ClientKind,
  DEFAULT_DEVICE,
  DEFAULT_DEVICE_REF,
  type DeviceRef,
  parseClientsKey,
  type RuleConfig,
} from '../../core/rules.js';
import type { ConversationId, Transition, UserId } from '../../core/types.js';
import { allShards, type RedisKeys, typingDueMember } from './keys.js';
import type { ProcessRegistry } from './process-registry.js';
import { byShard, optionalNumber as num, pipelines, type RedisClient } from './replies.js';
import { queueScript, runScript } from './scripts.js';
import type { ShardNodes } from './shard-nodes.js';

/** Users per heartbeat script call: long enough to amortise the call, short enough not to stall Redis. */
const HEARTBEAT_CHUNK = 200;
/** Reply slots per user of the heartbeat script. */
const HEARTBEAT_SLOTS = 8;
/** The heartbeat script's first slot for an accepted heartbeat that changed status or clients. */
const CHANGED_HEARTBEAT = 2;
/** Users per touch script call, for the same reason. */
const TOUCH_CHUNK = 500;
/** Expire's reply when the user types in another conversation than the one declared. */
const DECLARE_TYPING = 2;
/**
 * Each extra attempt means the user started typing elsewhere between two calls a round trip apart; after this
 * many the call throws and its caller tries again later.
 */
const EXPIRE_ATTEMPTS = 4;

/** One input of a batch with its place in the batch, so replies grouped by shard go back in order. */
interface Indexed<T> {
  item: T;
  index: number;
}

/**
 * Liveness decisions, each one Lua script, so each is atomic however many processes share the Redis and
 * exactly one caller sees each transition. Batches go out as one pipeline per shard (one shard on a single
 * Redis), each script call touching the keys of one shard only, so on a Redis Cluster each runs on one node.
 */
export class RedisLiveness {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly rules: RuleConfig,
    private readonly ttlSeconds: number,
    private readonly process: ProcessRegistry,
    private readonly nodes: ShardNodes,
  ) {}

  async heartbeat(inputs: readonly HeartbeatInput[]): Promise<HeartbeatOutcome[]> {
    if (inputs.length === 0) return [];
    const { heartbeatMinIntervalMs, presenceTimeoutMs, disconnectGraceMs } = this.rules;
    // The script takes one time for its whole chunk, so a chunk holds consecutive inputs (of one shard)
    // sharing a time.
    const shards = byShard(
      inputs.map((item, index) => ({ item, index })),
      ({ item }) => this.keys.shardOf(item.userId),
    ).map(({ shard, items }) => {
      const chunks: Indexed<HeartbeatInput>[][] = [];
      for (const entry of items) {
        const last = chunks[chunks.length - 1];
        if (
          last &&
          last.length < HEARTBEAT_CHUNK &&
          (last[0] as Indexed<HeartbeatInput>).item.at === entry.item.at
        )
          last.push(entry);
        else chunks.push([entry]);
      }
      return { shard, chunks };
    });
    const replies = await pipelines(
      this.redis,
      shards,
      (pipe, { shard, chunks }) => {
        for (const chunk of chunks) {
          const keys = [this.keys.online(shard), this.keys.processes(shard)];
          const args: (string | number)[] = [
            (chunk[0] as Indexed<HeartbeatInput>).item.at,
            heartbeatMinIntervalMs,
            this.ttlSeconds,
            presenceTimeoutMs,
            disconnectGraceMs,
          ];
          for (const { item } of chunk) {
            keys.push(this.keys.user(item.userId));
            args.push(item.userId, item.status, item.device ?? DEFAULT_DEVICE, item.client ?? 'web');
          }
          queueScript(pipe, 'heartbeats', keys, args);
        }
      },
      this.nodes.of,
    );
    const outcomes: HeartbeatOutcome[] = new Array(inputs.length);
    shards.forEach(({ chunks }, s) => {
      (replies[s] as unknown[]).forEach((reply, c) => {
        const flat = reply as Array<number | string>;
        const chunk = chunks[c] as Indexed<HeartbeatInput>[];
        chunk.forEach(({ item, index }, i) => {
          outcomes[index] = heartbeatOutcome(item.userId, flat, i * HEARTBEAT_SLOTS);
        });
      });
    });
    return outcomes;
  }

  async connect(
    userId: UserId,
    at: number,
    device: DeviceRef = DEFAULT_DEVICE_REF,
  ): Promise<{ transition: Transition | null; deadline: number | null }> {
    const [changed, previous, status, lastSeen, v, clients, due, custom] = (await runScript(
      this.redis,
      'connect',
      this.userKeys(userId),
      [
        userId,
        at,
        this.process.id,
        this.ttlSeconds,
        device.id,
        device.kind,
        this.rules.presenceTimeoutMs,
        this.rules.disconnectGraceMs,
      ],
    )) as [number, PresenceStatus, PresenceStatus, string, string, string, string, string];
    const transition =
      changed === 1
        ? {
            userId,
            status,
            previous,
            lastSeen: num(lastSeen),
            v: Number(v),
            clients: parseClientsKey(clients),
            custom: parseCustom(custom),
          }
        : null;
    return { transition, deadline: num(due) };
  }

  async setStatus(
    userId: UserId,
    status: 'online' | 'away',
    at: number,
    device: string = DEFAULT_DEVICE,
    kind: ClientKind = 'web',
  ): Promise<{ transition: Transition | null }> {
    const [changed, previous, lastSeen, v, now, clients, custom] = (await runScript(
      this.redis,
      'set-status',
      this.userKeys(userId),
      [userId, status, at, this.ttlSeconds, device, kind],
    )) as [number, PresenceStatus, string, string, PresenceStatus, string, string];
    const transition =
      changed === 1
        ? {
            userId,
            status: now,
            previous,
            lastSeen: num(lastSeen),
            v: Number(v),
            clients: parseClientsKey(clients),
            custom: parseCustom(custom),
          }
        : null;
    return { transition };
  }

  async bumpVersion(userId: UserId, at: number): Promise<Transition> {
    const [status, lastSeen, v, clients, custom] = (await runScript(
      this.redis,
      'bump-version',
      [this.keys.user(userId), this.keys.processes(this.keys.shardOf(userId))],
      [at, this.ttlSeconds],
    )) as [PresenceStatus, string, string, string, string];
    return {
      userId,
      status,
      previous: status,
      lastSeen: num(lastSeen),
      v: Number(v),
      clients: parseClientsKey(clients),
      custom: parseCustom(custom),
    };
  }

  async disconnect(
    userId: UserId,
    at: number,
    clean: boolean,
    device: string = DEFAULT_DEVICE,
  ): Promise<{ deadline: number | null }> {
    const due = await runScript(this.redis, 'disconnect', this.userKeys(userId), [
      userId,
      at,
      this.process.id,
      this.ttlSeconds,
      this.rules.presenceTimeoutMs,
      this.rules.disconnectGraceMs,
      clean ? '1' : '0',
      device,
    ]);
    return { deadline: num(due) };
  }

  async activity(userIds: readonly UserId[], at: number): Promise<void> {
    if (userIds.length === 0) return;
    const shards = byShard(userIds, (u) => this.keys.shardOf(u));
    await pipelines(
      this.redis,
      shards,
      (pipe, { items }) => {
        for (let i = 0; i < items.length; i += TOUCH_CHUNK) {
          const chunk = items.slice(i, i + TOUCH_CHUNK);
          queueScript(
            pipe,
            'activity',
            chunk.map((u) => this.keys.user(u)),
            [at, ...chunk],
          );
        }
      },
      this.nodes.of,
    );
  }

  /**
   * Also keeps this process alive when it holds no sockets at all: every shard gets at least one call, since
   * each shard keeps its own entry for the process.
   */
  async touch(held: readonly HeldSockets[], at: number): Promise<UserId[]> {
    const { presenceTimeoutMs, disconnectGraceMs } = this.rules;
    const fixed = [
      at,
      this.ttlSeconds,
      this.process.id,
      this.process.ttlMs,
      presenceTimeoutMs,
      disconnectGraceMs,
    ];
    const replies = await pipelines(
      this.redis,
      this.everyShard(held),
      (pipe, { shard, items }) => {
        let i = 0;
        do {
          const chunk = items.slice(i, i + TOUCH_CHUNK);
          const keys = [
            this.keys.online(shard),
            this.keys.processes(shard),
            ...chunk.map((h) => this.keys.user(h.userId)),
          ];
          const args = chunk.flatMap((h) => [h.userId, h.device ?? DEFAULT_DEVICE, h.sockets]);
          queueScript(pipe, 'touch', keys, [...fixed, ...args]);
          i += TOUCH_CHUNK;
        } while (i < items.length);
      },
      this.nodes.of,
    );
    return [...new Set((replies.flat() as string[][]).flat().map(Number))];
  }

  /**
   * Redis must be told every key a script touches before it runs, so each call names the conversation whose
   * typing would end with the user: none at first (the common case), then the one the script reports.
   */
  async expire(userId: UserId, at: number): Promise<ExpireOutcome> {
    let typingIn: ConversationId | null = null;
    for (let attempt = 1; ; attempt++) {
      const shard = this.keys.shardOf(userId);
      const keys = [...this.userKeys(userId), this.keys.typingDue(shard)];
      if (typingIn !== null) keys.push(this.keys.typing(typingIn, shard));
      const reply = (await runScript(this.redis, 'expire', keys, [
        userId,
        at,
        this.rules.presenceTimeoutMs,
        this.rules.disconnectGraceMs,
        this.ttlSeconds,
        typingIn ?? '',
        typingIn === null ? '' : typingDueMember(userId, typingIn),
      ])) as [number, string, string?, string?, string?, string?, string?, string?, string?];
      if (reply[0] === DECLARE_TYPING) {
        if (attempt === EXPIRE_ATTEMPTS) throw new Error(`user ${userId} kept changing conversation`);
        typingIn = num(reply[1]);
        continue;
      }
      if (reply[0] === 0) return { transition: null, deadline: num(reply[1]), stoppedTyping: [] };
      const stopped = num(reply[3]);
      return {
        transition: {
          userId,
          status: reply[5] as PresenceStatus,
          previous: reply[1] as PresenceStatus,
          lastSeen: num(reply[2]),
          v: Number(reply[4]),
          clients: parseClientsKey(reply[6]),
          custom: parseCustom(reply[8]),
        },
        deadline: num(reply[7]),
        stoppedTyping: stopped === null ? [] : [stopped],
      };
    }
  }

  /** On a cluster, up to `limit` from each shard, then the first `limit` of them. */
  async staleUsers(cutoff: number, limit: number): Promise<UserId[]> {
    const pages = await Promise.all(
      allShards(this.keys).map((shard) =>
        this.redis.zrangebyscore(this.keys.online(shard), '-inf', cutoff, 'LIMIT', 0, limit),
      ),
    );
    return pages.flat().slice(0, limit).map(Number);
  }

  /** Without announcing anything: the devices' deadlines then run from their last sign of life. */
  async detach(held: readonly HeldSockets[]): Promise<void> {
    await pipelines(
      this.redis,
      this.everyShard(held),
      (pipe, { shard, items }) => {
        for (const { userId, device } of items)
          pipe.hdel(this.keys.user(userId), `c:${this.process.id}:${device ?? DEFAULT_DEVICE}`);
        pipe.zrem(this.keys.processes(shard), this.process.id);
      },
      this.nodes.of,
    );
  }

  /** A user's hash with its shard's online and processes sets: the keys of every per-user script. */
  private userKeys(userId: UserId): string[] {
    const shard = this.keys.shardOf(userId);
    return [this.keys.user(userId), this.keys.online(shard), this.keys.processes(shard)];
  }

  /** Held sockets by shard, every shard present (empty when this process holds none of its users). */
  private everyShard(held: readonly HeldSockets[]): Array<{ shard: number; items: HeldSockets[] }> {
    const found = new Map(byShard(held, (h) => this.keys.shardOf(h.userId)).map((g) => [g.shard, g.items]));
    return allShards(this.keys).map((shard) => ({ shard, items: found.get(shard) ?? [] }));
  }
}

/** A user's outcome from `slot` on in the heartbeat script's flat reply. */
function heartbeatOutcome(userId: UserId, flat: Array<number | string>, slot: number): HeartbeatOutcome {
  if (flat[slot] === 0) return { accepted: false, retryAfterMs: Number(flat[slot + 1]) };
  const v = Number(flat[slot + 4]);
  const status = flat[slot + 5] as PresenceStatus;
  const clients = parseClientsKey(flat[slot + 6] as string);
  const custom = parseCustom(flat[slot + 7]);
  const transition =
    flat[slot] === CHANGED_HEARTBEAT
      ? {
          userId,
          previous: flat[slot + 1] as PresenceStatus,
          status,
          lastSeen: num(flat[slot + 2]),
          v,
          clients,
          custom,
        }
      : null;
  return { accepted: true, transition, deadline: num(flat[slot + 3]), v, status, clients, custom };
}
