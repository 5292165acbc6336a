import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisBus } from '../src/bus/redis-bus.js';
import { userGroup } from '../src/core/ports.js';
import { Metrics } from '../src/metrics.js';
import { hasRedis, REDIS_URL, testPrefix } from './support/services.js';

const redisUp = await hasRedis();

describe.skipIf(!redisUp)('what a process reads from the bus, on /metrics', () => {
  const clients: Redis[] = [];
  const buses: RedisBus[] = [];
  afterAll(async () => {
    for (const bus of buses) await bus.close();
    for (const client of clients) client.disconnect();
  });
  const prefix = testPrefix();
  /** A process's bus on the one Redis: a publisher and a subscriber connection of its own. */
  const open = async () => {
    const publisher = new Redis(REDIS_URL);
    const subscriber = publisher.duplicate();
    clients.push(publisher, subscriber);
    const bus = await RedisBus.create(publisher, subscriber, prefix);
    buses.push(bus);
    return bus;
  };

  it('counts every message and its bytes, the origin reading its own echo too', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const received: string[] = [];
    b.subscribe(userGroup(2), (payload) => received.push(payload));
    a.publish([userGroup(2)], 'é to b');
    await expect.poll(() => received, { timeout: 2_000 }).toEqual(['é to b']);
    await expect.poll(() => a.stats.received, { timeout: 2_000 }).toBe(1);
    expect(b.stats.received).toBe(1);
    // The envelope as sent, in UTF-8 bytes (the é is two).
    expect(b.stats.receivedBytes).toBeGreaterThan('é to b'.length + 1);
    expect(a.stats.receivedBytes).toBe(b.stats.receivedBytes);

    const metrics = new Metrics(async () => 0);
    metrics.watchBus(b.stats);
    let text = await metrics.registry.metrics();
    expect(text).toContain('presence_bus_received_total 1\n');
    expect(text).toContain(`presence_bus_received_bytes_total ${b.stats.receivedBytes}\n`);
    a.publish([userGroup(3)], 'nobody here');
    await expect.poll(() => b.stats.received, { timeout: 2_000 }).toBe(2);
    text = await metrics.registry.metrics();
    expect(text).toContain('presence_bus_received_total 2\n');
  });
});
