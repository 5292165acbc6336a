import { readdir, readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserState } from '../src/core/rules.js';
import { redisKeys } from '../src/store/redis/keys.js';
import { RedisStore } from '../src/store/redis-store.js';
import { hasRedis, REDIS_URL, testPrefix } from './support/services.js';

const rules = { presenceTimeoutMs: 60_000, disconnectGraceMs: 5_000, heartbeatMinIntervalMs: 10_000 };
const T = 1_764_278_000_000;
const state = (status: UserState['status'], lastSeen: number): UserState => ({
  status,
  lastSeen,
  lastHeartbeat: lastSeen,
  v: lastSeen,
  devices: {},
});

describe.skipIf(!(await hasRedis()))('Redis store specifics', () => {
  const prefixes = [testPrefix()];
  const prefix = prefixes[0] as string;
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    for (const p of prefixes) {
      const keys = await redis.keys(`${p}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
    redis.disconnect();
  });
  const store = (processId: string, processTtlMs = 60_000, keyPrefix = prefix) =>
    new RedisStore(redis, { rules, processId, ttlSeconds: 300, processTtlMs, prefix: keyPrefix });

  it('keeps the contract key layout', async () => {
    const s = store('layout');
    await s.register();
    await s.heartbeat([{ userId: 1, status: 'away', at: T }]);
    await s.startTyping(1, 9, T, 3_000);
    expect(await redis.zscore(`${prefix}presence:online_users`, '1')).toBe(String(T));
    const hash = await redis.hgetall(`${prefix}presence:user:1`);
    expect(hash).toMatchObject({ status: 'away', last_seen: String(T), typing_in: '9' });
    expect(hash).not.toHaveProperty('held');
    const ttl = await redis.ttl(`${prefix}presence:user:1`);
    expect(ttl).toBeGreaterThan(290);
    expect(await redis.zrange(`${prefix}presence:typing:9`, 0, -1)).toEqual(['1']);
  });

  it('keeps the hash of a user with a custom status from expiring, and gives it the TTL back once it is gone', async () => {
    const s = store('custom-ttl');
    await s.register();
    const key = `${prefix}presence:user:11`;
    await s.heartbeat([{ userId: 11, status: 'online', at: T }]);
    await s.setCustom(11, { text: 'Lunch', emoji: '🍕', expiresAt: T + 1_000 }, T + 1);
    expect(await redis.hget(key, 'cu')).toBe('{"text":"Lunch","emoji":"🍕","expires_at":1764278001000}');
    expect(await redis.zscore(`${prefix}presence:custom_due`, '11')).toBe(String(T + 1_000));
    await s.heartbeat([{ userId: 11, status: 'offline', at: T + 2 }]);
    expect(await redis.ttl(key)).toBe(-1);
    await s.expireCustom(11, T + 1_000);
    expect(await redis.hexists(key, 'cu')).toBe(0);
    expect(await redis.ttl(key)).toBeGreaterThan(290);
    expect(await redis.zscore(`${prefix}presence:custom_due`, '11')).toBeNull();
  });

  it('restores a custom status learned while degraded with its later version, due set included', async () => {
    const s = store('custom-restore');
    await s.register();
    await s.setCustom(12, { text: 'Old', emoji: null, expiresAt: null }, T);
    const learned = { text: 'New', emoji: null, expiresAt: T + 5_000 };
    expect(await s.restore(new Map([[12, { ...state('offline', T + 10), custom: learned }]]))).toEqual([12]);
    expect((await s.getMany([12])).get(12)).toMatchObject({ custom: learned, v: T + 10 });
    expect(await s.dueCustom(T + 5_000, 10)).toEqual([12]);
  });

  it('restores what a degraded process learned without dropping the devices another process holds', async () => {
    const here = store('restore-here');
    const there = store('restore-there');
    await Promise.all([here.register(), there.register()]);
    const tabHere = { id: 'tab-here', kind: 'web' as const };
    const tabThere = { id: 'tab-there', kind: 'web' as const };
    await here.connect(40, T, tabHere);
    const { transition } = await there.connect(40, T + 1, tabThere);
    expect(transition).toBeNull();
    // While Redis was away, this process saw its tab go idle: all it knows of the user is that device, away.
    const before = (await here.getMany([40])).get(40) as UserState;
    const learned: UserState = {
      ...before,
      status: 'away',
      v: before.v + 50,
      devices: {
        'tab-here': { ...(before.devices['tab-here'] as UserState['devices'][string]), status: 'away' },
      },
    };
    expect(await here.restore(new Map([[40, learned]]))).toEqual([40]);
    const after = (await here.getMany([40])).get(40) as UserState;
    // The other process's tab is still there and online, so the user is online; the idle tab is away.
    expect(Object.keys(after.devices).sort()).toEqual(['tab-here', 'tab-there']);
    expect(after.status).toBe('online');
    expect(after.devices['tab-here']?.status).toBe('away');
    // Not what this process announced during the outage: a newer version, so its watchers take the correction.
    expect(after.v).toBeGreaterThan(learned.v);
    // The other process's tab still counts: closing this one leaves the user online.
    await here.disconnect(40, T + 2, true, 'tab-here');
    const { transition: end } = await here.expire(40, T + 2 + rules.disconnectGraceMs);
    expect(end?.status ?? 'online').toBe('online');
  });

  it('never repeats a graph or settings version after its counter expired, so no cache takes an old list as current', async () => {
    const s = store('versions');
    const keys = redisKeys(prefix);
    await s.bumpGraphVersions([70], [], true);
    const [user, settings] = [await s.graphVersions('user', 70), await s.graphVersions('settings', 0)];
    // The counters run out (an hour without a change, or Redis restarted empty); a cache may still hold a list
    // read at the old version. The next change must not land on that same number.
    await redis.del(keys.graphVersion('user', 70), keys.graphVersion('settings', 0));
    await s.bumpGraphVersions([70], [], true);
    expect(await s.graphVersions('user', 70)).toBeGreaterThan(user);
    expect(await s.graphVersions('settings', 0)).toBeGreaterThan(settings);
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
      const until = await redis.zscore(redisKeys(prefix).processes(0), 'dying');
      return until === null || Number(until) < Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
    };
    await expect.poll(runOut, { timeout: 10_000 }).toBe(true);
    // The socket never closed: it counts from its last sign of life plus the timeout.
    expect(await survivor.expire(2, T + 59_999)).toMatchObject({ transition: null, deadline: T + 60_000 });
    expect((await survivor.expire(2, T + 60_000)).transition).toMatchObject({
      status: 'offline',
      lastSeen: T,
    });
  });

  it('still ends typing once when its conversation key expired before anyone looked (a process died)', async () => {
    const s = store('typist');
    await s.register();
    const keys = redisKeys(prefix);
    // A tiny TTL, so the conversation's typing key (kept for twice the TTL) expires within the test.
    expect(await s.startTyping(5, 77, T, 20)).toBe(true);
    await expect.poll(() => redis.exists(keys.typing(77, 0)), { timeout: 2_000 }).toBe(0);
    expect(await s.dueTyping(T + 20, 10)).toEqual([{ userId: 5, conversationId: 77 }]);
    expect(await s.expireTyping(5, 77, T + 20)).toBe(true);
    expect(await s.expireTyping(5, 77, T + 20)).toBe(false);
    expect(await s.dueTyping(T + 20, 10)).toEqual([]);
  });

  it("counts a process's sockets again at its next refresh after a stall outlived its entry", async () => {
    const stalled = store('stalled', 200);
    await stalled.register();
    // Two tabs on one process.
    await stalled.connect(6, T);
    await stalled.connect(6, T);
    const runOut = async () => {
      const [seconds, micros] = await redis.time();
      const until = await redis.zscore(redisKeys(prefix).processes(0), 'stalled');
      return until === null || Number(until) < Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
    };
    await expect.poll(runOut, { timeout: 10_000 }).toBe(true);
    // Meanwhile another process looks at the user: the stalled process's counts stop counting.
    const other = store('other');
    expect((await other.expire(6, T + 1_000)).transition).toBeNull();
    // The stalled process wakes up and refreshes what it holds; then one tab closes.
    await stalled.touch([{ userId: 6, sockets: 2 }], T + 2_000);
    expect((await stalled.disconnect(6, T + 3_000, true)).deadline).toBeNull();
    expect((await other.expire(6, T + 600_000)).transition).toBeNull();
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
      v: T + 1_000,
      clients: {},
      custom: null,
    });
    expect(await s.cleanup(T + 2_000)).toEqual([]);
  });

  it('creates no key the key schema does not name', async () => {
    const own = testPrefix();
    prefixes.push(own);
    const keys = redisKeys(own);
    const a = store('a', 60_000, own);
    const b = store('b', 60_000, own);
    await a.register();
    await b.register();
    await a.heartbeat([
      { userId: 1, status: 'online', at: T },
      { userId: 2, status: 'away', at: T },
    ]);
    await a.connect(3, T);
    await b.connect(3, T);
    await a.setStatus(3, 'away', T + 1);
    await b.disconnect(3, T + 2, true);
    await a.startTyping(1, 9, T + 10, 3_000);
    await a.startTyping(2, 8, T + 10, 3_000);
    await a.startTyping(3, 7, T + 10, 3_000);
    await a.stopTyping(2, 8);
    await a.expireTyping(3, 7, T + 3_010);
    expect((await a.expire(1, T + 60_000)).stoppedTyping).toEqual([9]);
    await a.touch([{ userId: 3, device: 'default', sockets: 1 }], T + 3);
    await a.fill(new Map([[4, state('offline', T - 1)]]));
    await a.restore(new Map([[5, state('online', T)]]));
    await a.acquireLease('sync', 'a', 60_000);
    await a.bumpGraphVersions([1], [9]);
    await a.setCustom(2, { text: 'Lunch', emoji: null, expiresAt: T + 1_000 }, T + 3);
    await a.setCustom(3, { text: null, emoji: '🌴', expiresAt: T + 1_000 }, T + 3);
    await a.setCustom(3, null, T + 4);
    await a.expireCustom(2, T + 1_000);
    await a.cleanup(T + 4);
    await b.renewProcess();
    await a.detach([{ userId: 3, device: 'default', sockets: 0 }], T + 5);

    const named = new Set([
      keys.online(0),
      keys.processes(0),
      keys.typingDue(0),
      keys.customDue(0),
      ...[1, 2, 3, 4, 5].map((u) => keys.user(u)),
      ...[7, 8, 9].map((c) => keys.typing(c, 0)),
      keys.lease('sync'),
      keys.graphVersion('user', 1),
      keys.graphVersion('conversation', 9),
    ]);
    const created = await redis.keys(`${own}*`);
    expect(created.filter((key) => !named.has(key))).toEqual([]);
    expect(created).toEqual(
      expect.arrayContaining([keys.online(0), keys.processes(0), keys.user(5), keys.lease('sync')]),
    );
  });

  it('lets no script spell a key: every key comes in KEYS', async () => {
    const dir = new URL('../src/store/redis/lua/', import.meta.url);
    const files = await readdir(dir);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files)
      expect(await readFile(new URL(file, dir), 'utf8'), file).not.toMatch(/presence:/);
  });
});
