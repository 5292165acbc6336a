import { Cluster, Redis } from 'ioredis';
import { RedisBus } from '../bus/redis-bus.js';
import { ShardedRedisBus } from '../bus/sharded-redis-bus.js';
import { REDIS_CLUSTER_SHARDS, type RedisNode } from '../config.js';
import { subjectOfGroup } from '../core/ports.js';
import type { RuleConfig } from '../core/rules.js';
import type { Clock } from '../core/types.js';
import type { Logger } from '../logger.js';
import { FailoverStore } from '../store/failover-store.js';
import { MemoryStore } from '../store/memory-store.js';
import { clusterBusChannels } from '../store/redis/keys.js';
import type { RedisClient } from '../store/redis/replies.js';
import { RedisStore } from '../store/redis-store.js';
import type { Backend } from './backend.js';

export interface RedisBackendOptions {
  /** One Redis (REDIS_URL), or the seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES). */
  target: { url: string } | { cluster: RedisNode[] };
  prefix: string;
  rules: RuleConfig;
  processId: string;
  ttlSeconds: number;
  processTtlMs: number;
  clock: Clock;
  logger: Logger;
  /** A command unanswered this long fails (and counts as an outage). */
  commandTimeoutMs: number;
}

/**
 * The shared backend: hot state and bus on Redis, any number of processes. The store runs behind the failover
 * wrapper, so an outage puts this process in degraded mode instead of failing every call.
 */
export async function openRedisBackend(options: RedisBackendOptions): Promise<Backend> {
  const redis = openClient(options);
  // Failures surface on the calls (and put the process in degraded mode); the client's own events stay quiet.
  redis.on('error', () => {});
  // On a cluster the bus subscribes per node (sharded pub/sub); on one Redis, one connection of its own.
  const subscriber =
    redis instanceof Cluster && 'cluster' in options.target
      ? new Cluster(options.target.cluster, {
          ...redis.options,
          shardedSubscribers: true,
          lazyConnect: false,
        })
      : redis.duplicate();
  subscriber.on('error', () => {});
  try {
    await redis.connect();
    const primary = new RedisStore(redis, {
      rules: options.rules,
      processId: options.processId,
      ttlSeconds: options.ttlSeconds,
      processTtlMs: options.processTtlMs,
      prefix: options.prefix,
      clusterShards: 'cluster' in options.target ? REDIS_CLUSTER_SHARDS : undefined,
    });
    await primary.register();
    const bus =
      redis instanceof Cluster && subscriber instanceof Cluster
        ? await ShardedRedisBus.create(redis, subscriber, clusterChannels(options.prefix))
        : await RedisBus.create(redis, subscriber, options.prefix);
    const listeners: Array<(degraded: boolean) => void> = [];
    const failover = new FailoverStore(
      primary,
      new MemoryStore(options.rules, options.ttlSeconds * 1000, options.clock),
      {
        logger: options.logger,
        clock: options.clock,
        onChange: (degraded) => {
          for (const listener of listeners) listener(degraded);
        },
      },
    );
    return {
      store: failover.store,
      bus,
      busTraffic: bus.stats,
      health: async () => ((await primary.ping()) ? 'up' : 'down'),
      onDegraded: (hook) => failover.onDegraded(hook),
      onRestore: (hook) => failover.onRestore(hook),
      onBusGap: (listener) => bus.onGap(listener),
      onDegradedChange: (listener) => listeners.push(listener),
      async close() {
        failover.close();
        await bus.close();
        redis.disconnect();
      },
    };
  } catch (error) {
    subscriber.disconnect();
    redis.disconnect();
    throw error;
  }
}

function openClient(options: RedisBackendOptions): RedisClient {
  const connection = {
    maxRetriesPerRequest: 1,
    // A Redis that hangs instead of failing must not hang every call: time out, and degraded mode takes over.
    commandTimeout: options.commandTimeoutMs,
  };
  if ('url' in options.target)
    return new Redis(options.target.url, { lazyConnect: true, enableAutoPipelining: true, ...connection });
  return new Cluster(options.target.cluster, {
    lazyConnect: true,
    // Off on a cluster: ioredis picks an auto-pipeline's node from the command's first argument, which for a
    // script is its key count, not a key, so script calls of different slots land in one pipeline and fail
    // (redis/ioredis#2109). The store groups its batches by slot itself.
    enableAutoPipelining: false,
    redisOptions: connection,
  });
}

/**
 * A user's own group and the group of their watchers to the user's channel (one SPUBLISH carries both);
 * every other group (graph changes) to the one all processes read.
 */
export function clusterChannels(prefix: string): { channelOf: (group: string) => string; broadcast: string } {
  const channels = clusterBusChannels(prefix, REDIS_CLUSTER_SHARDS);
  return {
    channelOf: (group) => {
      const userId = subjectOfGroup(group);
      return userId === null ? channels.broadcast : channels.user(userId);
    },
    broadcast: channels.broadcast,
  };
}
