import { Cluster } from 'ioredis';
import { allShards, type RedisKeys } from './keys.js';
import type { RedisClient } from './replies.js';

/**
 * Which node serves each shard, so a batch sends one pipeline per node rather than one per shard (a cluster
 * pipeline may span the slots of one node). Each shard is one slot, asked of Redis once (`load`); the node is
 * read from the client's slot map at each call, so it follows a failover. Before `load`, or for a slot the
 * client does not know, each shard is its own group.
 */
export class ShardNodes {
  private slots: number[] | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async load(): Promise<void> {
    if (!(this.redis instanceof Cluster)) return;
    const redis = this.redis;
    this.slots = await Promise.all(
      allShards(this.keys).map(async (shard) =>
        Number(await redis.cluster('KEYSLOT', this.keys.online(shard))),
      ),
    );
  }

  /** A name shared by the shards one node serves. */
  readonly of = (group: { shard: number }): string => {
    if (!(this.redis instanceof Cluster) || this.slots === null) return `shard:${group.shard}`;
    const slot = this.slots[group.shard];
    const nodes = slot === undefined ? undefined : this.redis.slots[slot];
    return nodes && nodes.length > 0 ? nodes.join(',') : `shard:${group.shard}`;
  };
}
