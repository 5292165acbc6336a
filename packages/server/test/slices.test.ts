import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBus } from '../src/bus/bus.js';
import { PresenceService } from '../src/core/presence-service.js';
import { inSlices, SLICE } from '../src/core/slices.js';
import { type Database, openDatabase } from '../src/db/database.js';
import { PresenceRepository } from '../src/db/presence-repository.js';
import { MemoryStore } from '../src/store/memory-store.js';

/**
 * Periodic work over many items runs in slices that yield to the event loop (issue 10, item 3), so sockets,
 * datagrams and timers get their turn between slices instead of waiting for the whole of it.
 */

describe('inSlices', () => {
  it('runs every item in order, a slice per turn, letting other work in between', async () => {
    const order: string[] = [];
    // Queued before the work starts: it runs at the first yield, not after the last item.
    setImmediate(() => order.push('other'));
    await inSlices([1, 2, 3, 4, 5, 6, 7], 3, (item) => {
      order.push(String(item));
    });
    expect(order).toEqual(['1', '2', '3', 'other', '4', '5', '6', '7']);
  });

  it('awaits what each slice started before the next begins', async () => {
    let running = 0;
    let most = 0;
    await inSlices(
      Array.from({ length: 10 }, (_, i) => i),
      4,
      async () => {
        running += 1;
        most = Math.max(most, running);
        await Promise.resolve();
        running -= 1;
      },
    );
    expect(most).toBe(4);
  });

  it('does not yield for work that fits in one slice', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('other'));
    await inSlices([1, 2], 2, (item) => {
      order.push(String(item));
    });
    order.push('done');
    expect(order).toEqual(['1', '2', 'done']);
  });
});

describe('the crash-safe sweep', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({ dataDir: 'memory://' });
    await database.migrate();
  });
  afterAll(() => database.close());

  it('expires a big batch of stale users in slices, yielding between them', async () => {
    const rules = { presenceTimeoutMs: 60_000, disconnectGraceMs: 5_000, heartbeatMinIntervalMs: 10_000 };
    let now = 1_764_278_000_000;
    const clock = () => now;
    const store = new MemoryStore(rules, 300_000, clock);
    const service = new PresenceService({
      store,
      durable: new PresenceRepository(database.db),
      bus: new LocalBus(),
      typingTtlMs: 3_000,
      clock,
      resolutionMs: 25,
      cacheTtlMs: 300_000,
    });
    const users = Array.from({ length: SLICE * 3 }, (_, i) => ({ userId: i + 1, status: 'online' as const }));
    await service.heartbeats(users);
    now += rules.presenceTimeoutMs + 1;

    // Each turn given to other work while the sweep runs, and how many users were offline by then.
    const seen: number[] = [];
    let offline = 0;
    service.events.on('transition', (t) => {
      if (t.status === 'offline') offline += 1;
    });
    let sweeping = true;
    const watch = () => {
      if (!sweeping) return;
      seen.push(offline);
      setImmediate(watch);
    };
    setImmediate(watch);
    // The memory store answers within the same turn: without slices the whole sweep would end before `watch`.
    expect(await service.sweep(now)).toBe(users.length);
    sweeping = false;
    expect(offline).toBe(users.length);
    const midway = seen.filter((n) => n > 0 && n < users.length);
    expect(midway.length).toBeGreaterThanOrEqual(2);
    service.shutdown().catch(() => {});
  });
});
