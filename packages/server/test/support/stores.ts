import { Cluster, Redis } from 'ioredis';
import pino from 'pino';
import { REDIS_CLUSTER_SHARDS } from '../../src/config.js';
import type { HotStore } from '../../src/core/ports.js';
import type { RuleConfig } from '../../src/core/rules.js';
import { FailoverStore } from '../../src/store/failover-store.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { hasRedis, REDIS_URL, redisClusterNodes, testPrefix } from './services.js';

export interface StoreBackend {
  name: 'memory' | 'redis' | 'redis-cluster' | 'failover' | 'failover-degraded';
  available: boolean;
  /** A fresh, empty store as process `processId`; several calls with one `scope` share state, like processes. */
  open(rules: RuleConfig, options?: { processId?: string; scope?: string }): Promise<HotStore>;
  /** Frees everything the backend's stores created. */
  cleanup(): Promise<void>;
}

interface OpenOptions {
  processId?: string;
  scope?: string;
}

/** Memory stores, one per scope (a memory store is one process's whole state). */
function memoryStores() {
  const byScope = new Map<string, MemoryStore>();
  return {
    open(rules: RuleConfig, options?: OpenOptions): MemoryStore {
      const scope = options?.scope;
      const existing = scope === undefined ? undefined : byScope.get(scope);
      if (existing) return existing;
      const store = new MemoryStore(rules, 300_000);
      if (scope !== undefined) byScope.set(scope, store);
      return store;
    },
    clear: () => byScope.clear(),
  };
}

/** Redis stores on the machine's Redis, each scope under a key prefix of its own. */
function redisStores() {
  const clients: Redis[] = [];
  const prefixes = new Map<string, string>();
  return {
    async open(rules: RuleConfig, options?: OpenOptions): Promise<RedisStore> {
      const scope = options?.scope ?? String(Math.random());
      let prefix = prefixes.get(scope);
      if (prefix === undefined) {
        prefix = testPrefix();
        prefixes.set(scope, prefix);
      }
      const redis = new Redis(REDIS_URL);
      clients.push(redis);
      const store = new RedisStore(redis, {
        rules,
        processId: options?.processId ?? 'p1',
        ttlSeconds: 300,
        processTtlMs: 60_000,
        prefix,
      });
      await store.register();
      return store;
    },
    async clear() {
      const redis = new Redis(REDIS_URL);
      for (const prefix of prefixes.values()) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
      }
      redis.disconnect();
      for (const client of clients) client.disconnect();
      clients.length = 0;
      prefixes.clear();
    },
  };
}

/** Shards of the cluster layout in the tests: the production number, so the suites walk as many. */
export const TEST_CLUSTER_SHARDS = REDIS_CLUSTER_SHARDS;

/** `host:port,…` as ioredis's Cluster takes its seed nodes. */
export const clusterSeeds = (nodes: string) =>
  nodes.split(',').map((node) => {
    const [host, port] = node.split(':');
    return { host: host as string, port: Number(port) };
  });

/** Deletes every key under `prefix` on every master (KEYS answers for one node only; DEL for one slot). */
export async function clearClusterPrefix(cluster: Cluster, prefix: string): Promise<void> {
  for (const node of cluster.nodes('master')) {
    const keys = await node.keys(`${prefix}*`);
    await Promise.all(keys.map((key) => cluster.del(key)));
  }
}

/**
 * Redis stores on the test run's Redis Cluster, in the cluster layout, each scope under a key prefix of its
 * own; one Cluster client serves them all.
 */
function clusterStores(nodes: string | null) {
  let cluster: Cluster | null = null;
  const prefixes = new Map<string, string>();
  return {
    async open(rules: RuleConfig, options?: OpenOptions): Promise<RedisStore> {
      cluster ??= new Cluster(clusterSeeds(nodes as string));
      const scope = options?.scope ?? String(Math.random());
      let prefix = prefixes.get(scope);
      if (prefix === undefined) {
        prefix = testPrefix();
        prefixes.set(scope, prefix);
      }
      const store = new RedisStore(cluster, {
        rules,
        processId: options?.processId ?? 'p1',
        ttlSeconds: 300,
        processTtlMs: 60_000,
        prefix,
        clusterShards: TEST_CLUSTER_SHARDS,
      });
      await store.register();
      return store;
    },
    async clear() {
      if (cluster === null) return;
      for (const prefix of prefixes.values()) await clearClusterPrefix(cluster, prefix);
      cluster.disconnect();
      cluster = null;
      prefixes.clear();
    },
  };
}

/** A port nothing listens on: a Redis client pointed there fails every call at once, as in an outage. */
const DEAD_REDIS = 'redis://127.0.0.1:1';

const quiet = pino({ level: 'silent' });

/**
 * The hot-state backends every conformance suite runs against: memory, Redis, a 3-master Redis Cluster (the
 * cluster layout), the failover wrapper over a Redis that answers, and the failover wrapper in degraded mode
 * (its Redis unreachable, the stand-in answering).
 */
export async function storeBackends(): Promise<StoreBackend[]> {
  const redisUp = await hasRedis();
  const nodes = redisClusterNodes();
  const cluster = clusterStores(nodes);
  const memory = memoryStores();
  const redis = redisStores();
  const fallbacks = memoryStores();
  const deadClients: Redis[] = [];
  const failovers: FailoverStore[] = [];
  const degradedByScope = new Map<string, HotStore>();
  return [
    {
      name: 'memory',
      available: true,
      open: async (rules, options) => memory.open(rules, options),
      cleanup: async () => memory.clear(),
    },
    {
      name: 'redis',
      available: redisUp,
      open: (rules, options) => redis.open(rules, options),
      cleanup: redis.clear,
    },
    {
      name: 'redis-cluster',
      available: nodes !== null,
      open: (rules, options) => cluster.open(rules, options),
      cleanup: cluster.clear,
    },
    {
      name: 'failover',
      available: redisUp,
      async open(rules, options) {
        const failover = new FailoverStore(
          await redis.open(rules, options),
          new MemoryStore(rules, 300_000),
          {
            logger: quiet,
            clock: Date.now,
          },
        );
        failovers.push(failover);
        return failover.store;
      },
      async cleanup() {
        for (const failover of failovers) failover.close();
        await redis.clear();
      },
    },
    {
      name: 'failover-degraded',
      available: true,
      async open(rules, options) {
        const existing = options?.scope === undefined ? undefined : degradedByScope.get(options.scope);
        if (existing) return existing;
        const dead = new Redis(DEAD_REDIS, {
          lazyConnect: true,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        dead.on('error', () => {});
        deadClients.push(dead);
        const primary = new RedisStore(dead, {
          rules,
          processId: 'p1',
          ttlSeconds: 300,
          processTtlMs: 60_000,
        });
        const failover = new FailoverStore(primary, fallbacks.open(rules), {
          logger: quiet,
          clock: Date.now,
        });
        failovers.push(failover);
        if (options?.scope !== undefined) degradedByScope.set(options.scope, failover.store);
        return failover.store;
      },
      async cleanup() {
        for (const failover of failovers) failover.close();
        for (const client of deadClients) client.disconnect();
        fallbacks.clear();
      },
    },
  ];
}
