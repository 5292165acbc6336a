import type { Redis } from 'ioredis';
import type { RuleConfig } from '../../core/rules.js';
import type { UserId } from '../../core/types.js';
import type { RedisKeys } from './keys.js';
import { pipeline } from './replies.js';

/** Users per page of the online set while looking for orphans. */
const SCAN_PAGE = 1_000;

/**
 * Removes leftovers no rule reaches and returns the users still in the online set whose hash expired: the
 * caller expires them, which announces offline at their last score.
 */
export async function cleanup(
  redis: Redis,
  keys: RedisKeys,
  rules: RuleConfig,
  at: number,
): Promise<UserId[]> {
  // Typing entries whose conversation key expired have nothing left to announce: drop them.
  const staleTyping = await redis.zrangebyscore(keys.typingDue, '-inf', at - rules.presenceTimeoutMs);
  if (staleTyping.length > 0) await redis.zrem(keys.typingDue, ...staleTyping);
  const orphans: UserId[] = [];
  let cursor = '0';
  do {
    const [next, flat] = await redis.zscan(keys.online, cursor, 'COUNT', SCAN_PAGE);
    cursor = next;
    const ids: UserId[] = [];
    for (let i = 0; i < flat.length; i += 2) ids.push(Number(flat[i]));
    if (ids.length === 0) continue;
    const exists = await pipeline(redis, (pipe) => {
      for (const userId of ids) pipe.exists(keys.user(userId));
    });
    ids.forEach((userId, i) => {
      if (exists[i] === 0) orphans.push(userId);
    });
  } while (cursor !== '0');
  return orphans;
}
