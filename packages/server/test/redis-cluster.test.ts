import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { UserState } from '../src/core/rules.js';
import { allShards, clusterKeys } from '../src/store/redis/keys.js';
import { RedisStore } from '../src/store/redis-store.js';
import { redisClusterNodes, testPrefix } from './support/services.js';
import { clearClusterPrefix, clusterSeeds, TEST_CLUSTER_SHARDS } from './support/stores.js';

const nodes = redisClusterNodes();
const rules = { presenceTimeoutMs: 60_000, disconnectGraceMs: 5_000, heartbeatMinIntervalMs: 10_000 };
const T = 1_764_278_000_000;
const state = (status: UserState['status'], lastSeen: number): UserState => ({
  status,
  lastSeen,
  lastHeartbeat: lastSeen,
  v: lastSeen,
  devices: {},
});

describe.skipIf(nodes === null)('the test run’s Redis Cluster', () => {
  const cluster = new Cluster(clusterSeeds(nodes ?? ''));
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const prefix of prefixes) await clearClusterPrefix(cluster, prefix);
    cluster.disconnect();
  });
  const store = (processId: string, prefix: string) =>
    new RedisStore(cluster, {
      rules,
      processId,
      ttlSeconds: 300,
      processTtlMs: 60_000,
      prefix,
      clusterShards: TEST_CLUSTER_SHARDS,
    });
  /** Every key under a prefix, over all masters. */
  const keysUnder = async (prefix: string) =>
    (await Promise.all(cluster.nodes('master').map((node) => node.keys(`${prefix}*`)))).flat();

  it('is three masters sharing every slot', async () => {
    const slots = await cluster.cluster('SLOTS');
    const masters = new Set(slots.map(([, , master]) => master?.[1]));
    expect(masters.size).toBe(3);
    const covered = slots.reduce((sum, [from, to]) => sum + (to - from + 1), 0);
    expect(covered).toBe(16_384);
  });

  it('refuses a script over keys of two slots, as the store must never send', async () => {
    await expect(
      cluster.eval("return redis.call('GET', KEYS[1])", 2, 'test:cluster:{a}', 'test:cluster:{b}'),
    ).rejects.toThrow(/CROSSSLOT|same slot/);
  });

  it('keeps the cluster layout: sharded online sets, each user beside its shard, spread over the masters', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const s = store('layout', prefix);
    await s.register();
    // Users 1 and 65 share shard 1 (of 64); user 2 is in shard 2. One batch spans both shards.
    await s.heartbeat([
      { userId: 1, status: 'away', at: T },
      { userId: 2, status: 'online', at: T },
      { userId: 65, status: 'online', at: T },
    ]);
    await s.startTyping(1, 9, T, 3_000);
    expect(await cluster.zrange(`${prefix}presence:online_users:{1}`, 0, -1)).toEqual(['1', '65']);
    expect(await cluster.zrange(`${prefix}presence:online_users:{2}`, 0, -1)).toEqual(['2']);
    expect(await cluster.hgetall(`${prefix}presence:user:{1}:1`)).toMatchObject({
      status: 'away',
      last_seen: String(T),
      typing_in: '9',
    });
    expect(await cluster.zrange(`${prefix}presence:typing:{1}:9`, 0, -1)).toEqual(['1']);
    for (const shard of allShards(clusterKeys(prefix, TEST_CLUSTER_SHARDS)))
      expect(await cluster.zscore(`${prefix}presence:processes:{${shard}}`, 'layout')).not.toBeNull();
    // The shards' tags land on every master, so the online set is not on one node.
    const holders = await Promise.all(
      cluster.nodes('master').map(async (node) => (await node.keys(`${prefix}presence:processes:*`)).length),
    );
    expect(holders.every((n) => n > 0)).toBe(true);
    expect(await s.countOnline()).toBe(3);
  });

  it('creates no key the cluster schema does not name, and walks every shard', async () => {
    const own = testPrefix();
    prefixes.push(own);
    const keys = clusterKeys(own, TEST_CLUSTER_SHARDS);
    const a = store('a', own);
    const b = store('b', own);
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
    await a.startTyping(19, 9, T + 10, 3_000);
    expect((await a.typingIn(9, T + 10)).sort()).toEqual([1, 19]);
    await a.stopTyping(2, 8);
    await a.expireTyping(3, 7, T + 3_010);
    expect((await a.dueTyping(T + 3_010, 10)).map((e) => e.userId).sort()).toEqual([1, 19]);
    expect((await a.expire(1, T + 60_000)).stoppedTyping).toEqual([9]);
    await a.touch([{ userId: 3, device: 'default', sockets: 1 }], T + 3);
    await a.fill(new Map([[4, state('offline', T - 1)]]));
    await a.restore(new Map([[5, state('online', T)]]));
    await a.acquireLease('sync', 'a', 60_000);
    await a.bumpGraphVersions([1, 2], [9]);
    await a.setCustom(2, { text: 'Lunch', emoji: null, expiresAt: T + 1_000 }, T + 3);
    await a.setCustom(19, { text: null, emoji: '🌴', expiresAt: T + 2_000 }, T + 3);
    expect((await a.dueCustom(T + 2_000, 10)).sort((x, y) => x - y)).toEqual([2, 19]);
    await a.expireCustom(2, T + 1_000);
    expect(await a.staleUsers(T + 10, 10)).toEqual(expect.arrayContaining([2, 3, 5]));
    let cursor = '0';
    const scanned: number[] = [];
    do {
      const page = await a.scanOnline(cursor, 1);
      cursor = page.cursor;
      scanned.push(...page.states.keys());
    } while (cursor !== '0');
    expect(scanned.sort()).toEqual([2, 3, 5]);
    await a.cleanup(T + 4);
    await b.renewProcess();
    await a.detach([{ userId: 3, device: 'default', sockets: 0 }], T + 5);

    const shards = allShards(keys);
    const named = new Set([
      ...shards.flatMap((n) => [keys.online(n), keys.processes(n), keys.typingDue(n), keys.customDue(n)]),
      ...[1, 2, 3, 4, 5, 19].map((u) => keys.user(u)),
      ...[
        [1, 9],
        [2, 8],
        [3, 7],
        [19, 9],
      ].map(([u, c]) => keys.typing(c as number, keys.shardOf(u as number))),
      keys.lease('sync'),
      keys.graphVersion('user', 1),
      keys.graphVersion('user', 2),
      keys.graphVersion('conversation', 9),
    ]);
    const created = await keysUnder(own);
    expect(created.filter((key) => !named.has(key))).toEqual([]);
    expect(created).toEqual(
      expect.arrayContaining([keys.online(2), keys.processes(0), keys.user(5), keys.lease('sync')]),
    );
  });
});
