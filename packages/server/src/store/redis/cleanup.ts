import type { RuleConfig } from '../../core/rules.js';
import type { UserId } from '../../core/types.js';
import { allShards, type RedisKeys } from './keys.js';
import { pipeline, type RedisClient } from './replies.js';

/** Users per page of the online set while looking for orphans. */
const SCAN_PAGE = 1_000;

/**
 * Removes leftovers no rule reaches and returns the users still in the online set whose hash expired: the
 * caller expires them, which announces offline at their last score. Walks every shard, one after the other.
 */
export async function cleanup(
  redis: RedisClient,
  keys: RedisKeys,
  rules: RuleConfig,
  at: number,
): Promise<UserId[]> {
  const orphans: UserId[] = [];
  for (const shard of allShards(keys)) orphans.push(...(await cleanupShard(redis, keys, rules, at, shard)));
  return orphans;
}

async function cleanupShard(
  redis: RedisClient,
  keys: RedisKeys,
  rules: RuleConfig,
  at: number,
  shard: number,
): Promise<UserId[]> {
  // Typing entries whose conversation key expired have nothing left to announce: drop them.
  const due = keys.typingDue(shard);
  const staleTyping = await redis.zrangebyscore(due, '-inf', at - rules.presenceTimeoutMs);
  if (staleTyping.length > 0) await redis.zrem(due, ...staleTyping);
  const orphans: UserId[] = [];
  let cursor = '0';
  do {
    const [next, flat] = await redis.zscan(keys.online(shard), cursor, 'COUNT', SCAN_PAGE);
    cursor = next;
    const ids: UserId[] = [];
    for (let i = 0; i < flat.length; i += 2) ids.push(Number(flat[i]));
    if (ids.length === 0) continue;
    // The users of one shard share its slot: one pipeline, on one node.
    const exists = await pipeline(redis, (pipe) => {
      for (const userId of ids) pipe.exists(keys.user(userId));
    });
    ids.forEach((userId, i) => {
      if (exists[i] === 0) orphans.push(userId);
    });
  } while (cursor !== '0');
  return orphans;
}
