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
 * Groups of commands sent as pipelines at once, replies in the order of the groups. A Cluster pipeline must keep
 * to the slots of one node, so callers group by shard and name each group's node (`nodeOf`): the groups of one
 * node share one pipeline (one round trip per node), each group's replies split back out. Without `nodeOf`,
 * one pipeline per group; on a single Redis there is one group.
 */
export async function pipelines<T>(
  redis: RedisClient,
  groups: readonly T[],
  build: (pipe: ChainableCommander, group: T) => void,
  nodeOf?: (group: T) => string,
): Promise<unknown[][]> {
  const byNode = new Map<string, number[]>();
  groups.forEach((group, i) => {
    const node = nodeOf ? nodeOf(group) : String(i);
    const list = byNode.get(node);
    if (list === undefined) byNode.set(node, [i]);
    else list.push(i);
  });
  const out: unknown[][] = new Array(groups.length);
  await Promise.all(
    [...byNode.values()].map(async (indices) => {
      const counts: number[] = [];
      const replies = await pipeline(redis, (pipe) => {
        for (const i of indices) {
          const before = pipe.length;
          build(pipe, groups[i] as T);
          counts.push(pipe.length - before);
        }
      });
      let at = 0;
      indices.forEach((i, k) => {
        const n = counts[k] as number;
        out[i] = replies.slice(at, at + n);
        at += n;
      });
    }),
  );
  return out;
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
