import type { PresenceStatus } from '@presence/protocol';
import type { Redis } from 'ioredis';
import type { ExpireOutcome, HeartbeatInput, HeartbeatOutcome, HeldSockets } from '../../core/ports.js';
import {
  DEFAULT_DEVICE,
  DEFAULT_DEVICE_REF,
  type DeviceRef,
  parseClientsKey,
  type RuleConfig,
} from '../../core/rules.js';
import type { ConversationId, Transition, UserId } from '../../core/types.js';
import { type RedisKeys, typingDueMember } from './keys.js';
import type { ProcessRegistry } from './process-registry.js';
import { optionalNumber as num, pipeline } from './replies.js';
import { queueScript, runScript } from './scripts.js';

/** Users per heartbeat script call: long enough to amortise the call, short enough not to stall Redis. */
const HEARTBEAT_CHUNK = 200;
/** Reply slots per user of the heartbeat script. */
const HEARTBEAT_SLOTS = 7;
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

/**
 * Liveness decisions, each one Lua script, so each is atomic however many processes share the Redis and
 * exactly one caller sees each transition.
 */
export class RedisLiveness {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly rules: RuleConfig,
    private readonly ttlSeconds: number,
    private readonly process: ProcessRegistry,
  ) {}

  async heartbeat(inputs: readonly HeartbeatInput[]): Promise<HeartbeatOutcome[]> {
    if (inputs.length === 0) return [];
    const { heartbeatMinIntervalMs, presenceTimeoutMs, disconnectGraceMs } = this.rules;
    // The script takes one time for its whole chunk, so a chunk holds consecutive inputs sharing a time.
    const chunks: HeartbeatInput[][] = [];
    for (const input of inputs) {
      const last = chunks[chunks.length - 1];
      if (last && last.length < HEARTBEAT_CHUNK && (last[0] as HeartbeatInput).at === input.at)
        last.push(input);
      else chunks.push([input]);
    }
    const replies = await pipeline(this.redis, (pipe) => {
      for (const chunk of chunks) {
        const keys = [this.keys.online, this.keys.processes];
        const args: (string | number)[] = [
          (chunk[0] as HeartbeatInput).at,
          heartbeatMinIntervalMs,
          this.ttlSeconds,
          presenceTimeoutMs,
          disconnectGraceMs,
        ];
        for (const { userId, status, device, client } of chunk) {
          keys.push(this.keys.user(userId));
          args.push(userId, status, device ?? DEFAULT_DEVICE, client ?? 'web');
        }
        queueScript(pipe, 'heartbeats', keys, args);
      }
    });
    const outcomes: HeartbeatOutcome[] = [];
    replies.forEach((reply, c) => {
      const flat = reply as Array<number | string>;
      const chunk = chunks[c] as HeartbeatInput[];
      for (let i = 0; i < chunk.length; i++) {
        const slot = i * HEARTBEAT_SLOTS;
        if (flat[slot] === 0) {
          outcomes.push({ accepted: false, retryAfterMs: Number(flat[slot + 1]) });
          continue;
        }
        const { userId } = chunk[i] as HeartbeatInput;
        const v = Number(flat[slot + 4]);
        const transition =
          flat[slot] === CHANGED_HEARTBEAT
            ? {
                userId,
                previous: flat[slot + 1] as PresenceStatus,
                status: flat[slot + 5] as PresenceStatus,
                lastSeen: num(flat[slot + 2]),
                v,
                clients: parseClientsKey(flat[slot + 6] as string),
              }
            : null;
        outcomes.push({
          accepted: true,
          transition,
          deadline: num(flat[slot + 3]),
          v,
          status: flat[slot + 5] as PresenceStatus,
          clients: parseClientsKey(flat[slot + 6] as string),
        });
      }
    });
    return outcomes;
  }

  async connect(
    userId: UserId,
    at: number,
    device: DeviceRef = DEFAULT_DEVICE_REF,
  ): Promise<{ transition: Transition | null; deadline: number | null }> {
    const [changed, previous, status, lastSeen, v, clients, due] = (await runScript(
      this.redis,
      'connect',
      [this.keys.user(userId), this.keys.online, this.keys.processes],
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
    )) as [number, PresenceStatus, PresenceStatus, string, string, string, string];
    const transition =
      changed === 1
        ? {
            userId,
            status,
            previous,
            lastSeen: num(lastSeen),
            v: Number(v),
            clients: parseClientsKey(clients),
          }
        : null;
    return { transition, deadline: num(due) };
  }

  async setStatus(
    userId: UserId,
    status: 'online' | 'away',
    at: number,
    device: string = DEFAULT_DEVICE,
  ): Promise<{ transition: Transition | null }> {
    const [changed, previous, lastSeen, v, now, clients] = (await runScript(
      this.redis,
      'set-status',
      [this.keys.user(userId), this.keys.online, this.keys.processes],
      [userId, status, at, this.ttlSeconds, device],
    )) as [number, PresenceStatus, string, string, PresenceStatus, string];
    const transition =
      changed === 1
        ? {
            userId,
            status: now,
            previous,
            lastSeen: num(lastSeen),
            v: Number(v),
            clients: parseClientsKey(clients),
          }
        : null;
    return { transition };
  }

  async bumpVersion(userId: UserId, at: number): Promise<Transition> {
    const [status, lastSeen, v, clients] = (await runScript(
      this.redis,
      'bump-version',
      [this.keys.user(userId), this.keys.processes],
      [at, this.ttlSeconds],
    )) as [PresenceStatus, string, string, string];
    return {
      userId,
      status,
      previous: status,
      lastSeen: num(lastSeen),
      v: Number(v),
      clients: parseClientsKey(clients),
    };
  }

  async disconnect(
    userId: UserId,
    at: number,
    clean: boolean,
    device: string = DEFAULT_DEVICE,
  ): Promise<{ deadline: number | null }> {
    const due = await runScript(
      this.redis,
      'disconnect',
      [this.keys.user(userId), this.keys.online, this.keys.processes],
      [
        userId,
        at,
        this.process.id,
        this.ttlSeconds,
        this.rules.presenceTimeoutMs,
        this.rules.disconnectGraceMs,
        clean ? '1' : '0',
        device,
      ],
    );
    return { deadline: num(due) };
  }

  async activity(userIds: readonly UserId[], at: number): Promise<void> {
    if (userIds.length === 0) return;
    await pipeline(this.redis, (pipe) => {
      for (let i = 0; i < userIds.length; i += TOUCH_CHUNK) {
        const chunk = userIds.slice(i, i + TOUCH_CHUNK);
        queueScript(
          pipe,
          'activity',
          chunk.map((u) => this.keys.user(u)),
          [at, ...chunk],
        );
      }
    });
  }

  /** Also keeps this process alive when it holds no sockets at all. */
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
    const replies = await pipeline(this.redis, (pipe) => {
      let i = 0;
      do {
        const chunk = held.slice(i, i + TOUCH_CHUNK);
        const keys = [this.keys.online, this.keys.processes, ...chunk.map((h) => this.keys.user(h.userId))];
        const args = chunk.flatMap((h) => [h.userId, h.device ?? DEFAULT_DEVICE, h.sockets]);
        queueScript(pipe, 'touch', keys, [...fixed, ...args]);
        i += TOUCH_CHUNK;
      } while (i < held.length);
    });
    return [...new Set((replies as string[][]).flat().map(Number))];
  }

  /**
   * Redis must be told every key a script touches before it runs, so each call names the conversation whose
   * typing would end with the user: none at first (the common case), then the one the script reports.
   */
  async expire(userId: UserId, at: number): Promise<ExpireOutcome> {
    let typingIn: ConversationId | null = null;
    for (let attempt = 1; ; attempt++) {
      const keys = [this.keys.user(userId), this.keys.online, this.keys.processes, this.keys.typingDue];
      if (typingIn !== null) keys.push(this.keys.typing(typingIn));
      const reply = (await runScript(this.redis, 'expire', keys, [
        userId,
        at,
        this.rules.presenceTimeoutMs,
        this.rules.disconnectGraceMs,
        this.ttlSeconds,
        typingIn ?? '',
        typingIn === null ? '' : typingDueMember(userId, typingIn),
      ])) as [number, string, string?, string?, string?, string?, string?, string?];
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
        },
        deadline: num(reply[7]),
        stoppedTyping: stopped === null ? [] : [stopped],
      };
    }
  }

  async staleUsers(cutoff: number, limit: number): Promise<UserId[]> {
    const ids = await this.redis.zrangebyscore(this.keys.online, '-inf', cutoff, 'LIMIT', 0, limit);
    return ids.map(Number);
  }

  /** Without announcing anything: the devices' deadlines then run from their last sign of life. */
  async detach(held: readonly HeldSockets[]): Promise<void> {
    await pipeline(this.redis, (pipe) => {
      for (const { userId, device } of held)
        pipe.hdel(this.keys.user(userId), `c:${this.process.id}:${device ?? DEFAULT_DEVICE}`);
      pipe.zrem(this.keys.processes, this.process.id);
    });
  }
}
