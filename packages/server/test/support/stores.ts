import { Redis } from 'ioredis';
import type { RuleConfig } from '../../src/core/rules.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { PresenceStore } from '../../src/store/presence-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { hasRedis, REDIS_URL, testPrefix } from './services.js';

export interface StoreBackend {
  name: 'memory' | 'redis';
  available: boolean;
  /** A fresh, empty store as process `processId`; several calls with one `scope` share state, like processes. */
  open(rules: RuleConfig, options?: { processId?: string; scope?: string }): Promise<PresenceStore>;
  /** Frees everything the backend's stores created. */
  cleanup(): Promise<void>;
}

/** The two hot-state backends every conformance suite runs against. */
export async function storeBackends(): Promise<StoreBackend[]> {
  const redisUp = await hasRedis();
  const memories = new Map<string, MemoryStore>();
  const clients: Redis[] = [];
  const prefixes = new Map<string, string>();
  return [
    {
      name: 'memory',
      available: true,
      async open(rules, options) {
        const scope = options?.scope;
        const existing = scope === undefined ? undefined : memories.get(scope);
        if (existing) return existing;
        const store = new MemoryStore(rules, 300_000);
        if (scope !== undefined) memories.set(scope, store);
        return store;
      },
      async cleanup() {
        memories.clear();
      },
    },
    {
      name: 'redis',
      available: redisUp,
      async open(rules, options) {
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
      async cleanup() {
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
    },
  ];
}
