import type { PresenceStatus } from '@presence/protocol';
import { customKey, parseCustom } from '../../core/custom-rules.js';
import { parseClientsKey, type StoredCustom } from '../../core/rules.js';
import type { Transition, UserId } from '../../core/types.js';
import { allShards, type RedisKeys } from './keys.js';
import { optionalNumber as num, type RedisClient } from './replies.js';
import { runScript } from './scripts.js';

/** custom-expire's answer when the user's hash is gone. */
const HASH_GONE = 2;

/**
 * Custom statuses (contract section 14): the status lives in the user's hash (`cu`), so every liveness script
 * answers it with the version it belongs to; each user whose status expires also sits in its shard's custom due
 * set, scored by the expiry, which every process's sweep reads, so an expiry is announced even when the process
 * that set it died. Setting and expiring are one script each, atomic with the version they give.
 */
export class RedisCustomStatus {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds: number,
  ) {}

  async setCustom(
    userId: UserId,
    custom: StoredCustom | null,
    at: number,
  ): Promise<{ changed: boolean; presence: Transition }> {
    const [changed, status, lastSeen, v, clients, cu] = (await runScript(
      this.redis,
      'custom-set',
      this.scriptKeys(userId),
      [userId, at, this.ttlSeconds, customKey(custom), custom?.expiresAt ?? ''],
    )) as [number, PresenceStatus, string, string, string, string];
    return {
      changed: changed === 1,
      presence: {
        userId,
        status,
        previous: status,
        lastSeen: num(lastSeen),
        v: Number(v),
        clients: parseClientsKey(clients),
        custom: parseCustom(cu),
      },
    };
  }

  async expireCustom(
    userId: UserId,
    at: number,
  ): Promise<{ transition: Transition | null; due: number | null; missing: boolean }> {
    const reply = (await runScript(this.redis, 'custom-expire', this.scriptKeys(userId), [
      userId,
      at,
      this.ttlSeconds,
    ])) as [number, string?, string?, string?, string?];
    if (reply[0] === HASH_GONE) return { transition: null, due: null, missing: true };
    if (reply[0] === 0) return { transition: null, due: num(reply[1]), missing: false };
    const status = reply[1] as PresenceStatus;
    const transition: Transition = {
      userId,
      status,
      previous: status,
      lastSeen: num(reply[2]),
      v: Number(reply[3]),
      clients: parseClientsKey(reply[4]),
      custom: null,
    };
    return { transition, due: null, missing: false };
  }

  /** On a cluster, up to `limit` from each shard, then the first `limit` of them. */
  async dueCustom(at: number, limit: number): Promise<UserId[]> {
    const pages = await Promise.all(
      allShards(this.keys).map((shard) =>
        this.redis.zrangebyscore(this.keys.customDue(shard), '-inf', at, 'LIMIT', 0, limit),
      ),
    );
    return pages.flat().slice(0, limit).map(Number);
  }

  /** The user's hash with the processes set and custom due set of its shard: one slot on a cluster. */
  private scriptKeys(userId: UserId): string[] {
    const shard = this.keys.shardOf(userId);
    return [this.keys.user(userId), this.keys.processes(shard), this.keys.customDue(shard)];
  }
}
