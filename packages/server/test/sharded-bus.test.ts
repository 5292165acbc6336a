import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterChannels } from '../src/backends/redis.js';
import { ShardedRedisBus } from '../src/bus/sharded-redis-bus.js';
import { REDIS_CLUSTER_SHARDS } from '../src/config.js';
import { GRAPH_GROUP, userGroup, watchGroup } from '../src/core/ports.js';
import { clusterBusChannels } from '../src/store/redis/keys.js';
import { redisClusterNodes, testPrefix } from './support/services.js';
import { clusterSeeds } from './support/stores.js';

const nodes = redisClusterNodes();

describe.skipIf(nodes === null)('the sharded bus on a Redis Cluster', () => {
  const seeds = clusterSeeds(nodes ?? '');
  const clients: Cluster[] = [];
  const buses: ShardedRedisBus[] = [];
  const prefix = testPrefix();
  const channels = clusterBusChannels(prefix, REDIS_CLUSTER_SHARDS);
  const { channelOf } = clusterChannels(prefix);
  afterAll(async () => {
    for (const bus of buses) await bus.close();
    for (const client of clients) client.disconnect();
  });
  /** A process's bus: a publisher and a sharded subscriber of its own. */
  const open = async () => {
    const publisher = new Cluster(seeds);
    const subscriber = new Cluster(seeds, { shardedSubscribers: true });
    clients.push(publisher, subscriber);
    const bus = await ShardedRedisBus.create(publisher, subscriber, {
      channelOf,
      broadcast: channels.broadcast,
    });
    buses.push(bus);
    return bus;
  };
  const next = (bus: ShardedRedisBus, group: string) =>
    new Promise<string>((resolve) => {
      const off = bus.subscribe(group, (payload) => {
        off();
        resolve(payload);
      });
    });
  /** Subscribers of a sharded channel, asked of the node that owns its slot. */
  const subscribers = async (channel: string) => {
    const counts = await Promise.all(
      clients[0]?.nodes('master').map(async (node) => {
        try {
          const reply = (await node.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
          return Number(reply[1]);
        } catch {
          return 0;
        }
      }) ?? [],
    );
    return counts.reduce((sum, n) => sum + n, 0);
  };

  it('delivers a user’s broadcast only to the processes holding that user, and graph changes to all', async () => {
    const [a, b, c] = await Promise.all([open(), open(), open()]);
    const offA = a.subscribe(userGroup(1), () => {});
    const received: string[] = [];
    const offB = b.subscribe(userGroup(2), (payload) => received.push(payload));
    await Promise.all([a.ready(userGroup(1)), b.ready(userGroup(2))]);
    // Redis itself says who listens: b alone for user 2, nobody else; c holds no user and listens to none.
    expect(await subscribers(channels.user(2))).toBe(1);
    expect(await subscribers(channels.user(1))).toBe(1);
    expect(await subscribers(channels.broadcast)).toBe(3);
    expect(c.stats.channels).toBe(1);

    a.publish([userGroup(2), userGroup(3)], 'to two');
    await expect.poll(() => received, { timeout: 2_000 }).toEqual(['to two']);
    // Every process reads graph changes; once c has this one, a's publish to users 2 and 3 reached only b.
    const onC = next(c, GRAPH_GROUP);
    const onB = next(b, GRAPH_GROUP);
    a.publish([GRAPH_GROUP], 'graph');
    expect(await Promise.all([onB, onC])).toEqual(['graph', 'graph']);
    expect(c.stats.received).toBe(1);
    expect(b.stats.received).toBe(2);
    expect(b.stats.receivedBytes).toBeGreaterThan(c.stats.receivedBytes);

    // The last subscriber of a user gone, the process stops listening to that user's channel.
    offB();
    await expect.poll(() => subscribers(channels.user(2)), { timeout: 2_000 }).toBe(0);
    offA();
  });

  it('sends a transition on the changed user’s channel: one publish, read only where that user is held or watched', async () => {
    const [holder, watcher, idle] = await Promise.all([open(), open(), open()]);
    const offHolder = holder.subscribe(userGroup(7), () => {});
    const seen: string[] = [];
    const offWatcher = watcher.subscribe(watchGroup(7), (payload) => seen.push(payload));
    await Promise.all([holder.ready(userGroup(7)), watcher.ready(watchGroup(7))]);
    // The user's own group and watch group share the user's channel: both processes on it, nobody else.
    expect(channelOf(watchGroup(7))).toBe(channels.user(7));
    expect(await subscribers(channels.user(7))).toBe(2);

    const published = idle.stats.published;
    idle.publish([userGroup(7), watchGroup(7)], 'seven changed');
    idle.publish([userGroup(8), watchGroup(8)], 'nobody watches eight');
    expect(idle.stats.published - published).toBe(2);
    await expect.poll(() => seen, { timeout: 2_000 }).toEqual(['seven changed']);
    await expect.poll(() => holder.stats.received, { timeout: 2_000 }).toBe(1);
    expect(watcher.stats.received).toBe(1);
    // Nobody holds or watches user 8: no process subscribes to that channel, so none receives its change.
    expect(await subscribers(channels.user(8))).toBe(0);
    expect(idle.stats.received).toBe(0);
    offHolder();
    offWatcher();
  });
});
