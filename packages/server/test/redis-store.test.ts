import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../src/store/redis/keys.js';
import { RedisStore } from '../src/store/redis-store.js';
import { hasRedis, REDIS_URL, testPrefix } from './support/services.js';

const rules = { presenceTimeoutMs: 60_000, disconnectGraceMs: 5_000, heartbeatMinIntervalMs: 10_000 };
const T = 1_764_278_000_000;

describe.skipIf(!(await hasRedis()))('Redis store specifics', () => {
  const prefix = testPrefix();
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  const store = (processId: string, processTtlMs = 60_000) =>
    new RedisStore(redis, { rules, processId, ttlSeconds: 300, processTtlMs, prefix });

  it('keeps the contract key layout', async () => {
    const s = store('layout');
    await s.register();
    await s.heartbeat([{ userId: 1, status: 'away', at: T }]);
    await s.startTyping(1, 9, T, 3_000);
    expect(await redis.zscore(`${prefix}presence:online_users`, '1')).toBe(String(T));
    const hash = await redis.hgetall(`${prefix}presence:user:1`);
    expect(hash).toMatchObject({ status: 'away', last_seen: String(T), typing_in: '9' });
    const ttl = await redis.ttl(`${prefix}presence:user:1`);
    expect(ttl).toBeGreaterThan(290);
    expect(await redis.zrange(`${prefix}presence:typing:9`, 0, -1)).toEqual(['1']);
  });

  it("stops counting a dead process's sockets once its entry runs out", async () => {
    const dying = store('dying', 200);
    await dying.register();
    await dying.connect(2, T);
    expect(await dying.expire(2, T + 600_000)).toMatchObject({ transition: null, deadline: null });
    const survivor = store('survivor');
    // The scripts judge a process by Redis's clock, so the test waits on that clock too.
    const runOut = async () => {
      const [seconds, micros] = await redis.time();
      const until = await redis.zscore(redisKeys(prefix).processes, 'dying');
      return until === null || Number(until) < Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
    };
    await expect.poll(runOut, { timeout: 2_000 }).toBe(true);
    // The socket never closed: it counts from its last sign of life plus the timeout.
    expect(await survivor.expire(2, T + 59_999)).toMatchObject({ transition: null, deadline: T + 60_000 });
    expect((await survivor.expire(2, T + 60_000)).transition).toMatchObject({
      status: 'offline',
      lastSeen: T,
    });
  });

  it('hands back online users whose hash expired, and expiring them announces offline at their last score', async () => {
    const s = store('cleanup');
    await s.register();
    await s.heartbeat([{ userId: 3, status: 'online', at: T }]);
    await redis.del(`${prefix}presence:user:3`);
    expect(await s.cleanup(T + 1_000)).toEqual([3]);
    expect((await s.expire(3, T + 1_000)).transition).toEqual({
      userId: 3,
      status: 'offline',
      previous: 'online',
      lastSeen: T,
    });
    expect(await s.cleanup(T + 2_000)).toEqual([]);
  });
});
