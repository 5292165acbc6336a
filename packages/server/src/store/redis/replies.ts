import type { ChainableCommander, Cluster, Redis } from 'ioredis';

/** A single Redis or a Redis Cluster: the store speaks the same commands to both. */
export type RedisClient = Redis | Cluster;

/** Sends what `build` queues as one round trip and returns the replies in order; a failed command throws. */
export async function pipeline(
  redis: RedisClient,
  build: (pipe: ChainableCommander) => void,
): Promise<unknown[]> {
  const pipe = redis.pipeline();
  build(pipe);
  const results = (await pipe.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/**
 * One pipeline per group, sent at once, replies in the order of the groups. A Cluster pipeline must keep to
 * one slot, so callers group by shard (one group on a single Redis: one round trip, as before).
 */
export async function pipelines<T>(
  redis: RedisClient,
  groups: readonly T[],
  build: (pipe: ChainableCommander, group: T) => void,
): Promise<unknown[][]> {
  return Promise.all(groups.map((group) => pipeline(redis, (pipe) => build(pipe, group))));
}

/** Items split by shard, in their order within each shard; the shards in ascending order. */
export function byShard<T>(
  items: readonly T[],
  shardOf: (item: T) => number,
): Array<{ shard: number; items: T[] }> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const shard = shardOf(item);
    let group = groups.get(shard);
    if (group === undefined) {
      group = [];
      groups.set(shard, group);
    }
    group.push(item);
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([shard, group]) => ({ shard, items: group }));
}

/** Scripts and hashes answer '' or nothing for a time not known yet. */
export const optionalNumber = (value: unknown): number | null =>
  value === '' || value == null ? null : Number(value);
