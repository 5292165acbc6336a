import type { ConversationId, UserId } from '../../core/types.js';
import type { RedisKeys } from './keys.js';
import { pipelines, type RedisClient } from './replies.js';

/** Longer than any cached list lives (SetCache's TTL), so a counter never restarts under a cached entry. */
const GRAPH_VERSION_TTL_S = 3_600;

/** A counter per user and per conversation, bumped by each graph change touching it. */
export class RedisGraphVersions {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async graphVersions(kind: 'user' | 'conversation', id: number): Promise<number> {
    return Number((await this.redis.get(this.keys.graphVersion(kind, id))) ?? 0);
  }

  async bumpGraphVersions(users: readonly UserId[], conversations: readonly ConversationId[]): Promise<void> {
    const keys = [
      ...new Set(users.map((u) => this.keys.graphVersion('user', u))),
      ...conversations.map((c) => this.keys.graphVersion('conversation', c)),
    ];
    if (keys.length === 0) return;
    // Each counter is a slot of its own on a cluster: one pipeline per key there, one for all on a single Redis.
    const groups = this.keys.clustered ? keys.map((key) => [key]) : [keys];
    await pipelines(this.redis, groups, (pipe, group) => {
      for (const key of group) pipe.incr(key).expire(key, GRAPH_VERSION_TTL_S);
    });
  }
}
