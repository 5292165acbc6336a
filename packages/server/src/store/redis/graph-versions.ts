import type { VersionKind } from '../../core/ports.js';
import type { ConversationId, UserId } from '../../core/types.js';
import type { RedisKeys } from './keys.js';
import { pipelines, type RedisClient } from './replies.js';

/** Longer than any cached list lives (SetCache's TTL), so a counter never restarts under a cached entry. */
const GRAPH_VERSION_TTL_S = 3_600;

/**
 * A bump: above the last version and never below Redis's clock in microseconds, so a counter that expired or
 * was lost with Redis never comes back to a number a cache already holds.
 */
const BUMP = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local v = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') + 1, now)
redis.call('SET', KEYS[1], string.format('%d', v), 'EX', ARGV[1])
return v`;

/** A counter per user and per conversation, bumped by each graph change touching it. */
export class RedisGraphVersions {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async graphVersions(kind: VersionKind, id: number): Promise<number> {
    return Number((await this.redis.get(this.keys.graphVersion(kind, id))) ?? 0);
  }

  async graphVersionsMany(kind: VersionKind, ids: readonly number[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const keys = ids.map((id) => this.keys.graphVersion(kind, id));
    // On a cluster each counter is a slot of its own.
    const values = this.keys.clustered
      ? await Promise.all(keys.map((key) => this.redis.get(key)))
      : await this.redis.mget(keys);
    return values.map((value) => Number(value ?? 0));
  }

  async bumpGraphVersions(
    users: readonly UserId[],
    conversations: readonly ConversationId[],
    settings = false,
  ): Promise<void> {
    const keys = [
      ...new Set(users.map((u) => this.keys.graphVersion('user', u))),
      ...conversations.map((c) => this.keys.graphVersion('conversation', c)),
      ...(settings ? [this.keys.graphVersion('settings', 0)] : []),
    ];
    if (keys.length === 0) return;
    // Each counter is a slot of its own on a cluster: one pipeline per key there, one for all on a single Redis.
    const groups = this.keys.clustered ? keys.map((key) => [key]) : [keys];
    await pipelines(this.redis, groups, (pipe, group) => {
      for (const key of group) pipe.eval(BUMP, 1, key, GRAPH_VERSION_TTL_S);
    });
  }
}
