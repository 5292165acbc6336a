import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisClusterNodes } from './support/services.js';

const nodes = redisClusterNodes();

describe.skipIf(nodes === null)('the test run’s Redis Cluster', () => {
  const cluster = new Cluster(
    (nodes ?? '').split(',').map((node) => {
      const [host, port] = node.split(':');
      return { host, port: Number(port) };
    }),
  );
  afterAll(() => cluster.disconnect());

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
});
