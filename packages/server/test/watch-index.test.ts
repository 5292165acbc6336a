import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { befriend, Cluster, graph, serverSetups, TestClient } from './support/server.js';
import { hasPostgres, hasRedis } from './support/services.js';

/**
 * Fan-out through each process's watch index (issue 10): a change is published once and every process finds
 * the connections watching that user itself. What a watcher sees when the graph moves under it, over real
 * sockets, on both stores and across two processes.
 */

const setups = await serverSetups();
const sharedUp = (await hasRedis()) && (await hasPostgres());

/** A connected client whose snapshot has been read. */
async function connect(server: RunningServer, userId: number, query: Record<string, string> = {}) {
  const client = await TestClient.connect(server, userId, query);
  await client.next('presence.snapshot');
  return client;
}

for (const setup of setups) {
  describe.skipIf(!setup.available)(`the watch index on ${setup.name}`, () => {
    let server: RunningServer;
    let stop: () => Promise<void>;
    const clients: TestClient[] = [];
    beforeAll(async () => {
      ({ server, stop } = await setup.start());
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await stop();
    });
    const open = async (userId: number, query: Record<string, string> = {}) => {
      const client = await connect(server, userId, query);
      clients.push(client);
      return client;
    };

    it('announces a user who becomes visible with their presence now, then their changes', async () => {
      const [w, u] = [7_001, 7_002];
      const watcher = await open(w);
      const user = await open(u);
      user.send({ type: 'presence.status.set', status: 'away' });
      await user.next('presence.status', (m) => m.user_id === u && m.status === 'away');
      // A one-way follow shows nothing; the follow back makes them mutual: the watcher hears u's presence at
      // once, with no change of u's to carry it.
      await graph(server, 'PUT', `follows/${w}/${u}`);
      await graph(server, 'PUT', `follows/${u}/${w}`);
      expect(await watcher.next('presence.status', (m) => m.user_id === u)).toMatchObject({
        status: 'away',
        clients: { web: 'away' },
      });
      user.send({ type: 'presence.status.set', status: 'online' });
      expect(await watcher.next('presence.status', (m) => m.user_id === u)).toMatchObject({
        status: 'online',
      });
    });

    it('watches for a lazy connection only the visible users it subscribed to', async () => {
      const w = 7_100;
      const friends = Array.from({ length: 12 }, (_, i) => w + 1 + i);
      for (const f of friends) await befriend(server, w, f);
      const stranger = w + 50;
      const before = server.service.watches.subjects;
      const lazy = await open(w, { subscribe: 'manual' });
      expect(server.service.watches.subjects).toBe(before);
      lazy.send({ type: 'presence.subscribe', user_ids: [friends[0], friends[1], stranger] });
      await lazy.next('presence.subscribed');
      // Two watched, not twelve, and never the stranger outside visible(w).
      expect(server.service.watches.subjects).toBe(before + 2);
      lazy.send({ type: 'presence.unsubscribe', user_ids: [friends[0]] });
      // Barrier: the answer to a later subscribe comes after the unsubscribe took effect.
      lazy.send({ type: 'presence.subscribe', user_ids: [stranger] });
      await lazy.next('presence.subscribed');
      expect(server.service.watches.subjects).toBe(before + 1);
      // A connection for everything watches all twelve; closing both lets go of every one of them.
      const all = await connect(server, w);
      expect(server.service.watches.subjects).toBe(before + 12);
      const gauge = await server.metrics.registry.getSingleMetric('presence_watched_users')?.get();
      expect(gauge?.values[0]?.value).toBe(before + 12);
      await Promise.all([all.close(), lazy.close()]);
      await expect.poll(() => server.service.watches.subjects, { timeout: 5_000 }).toBe(before);
    });
  });
}

describe.skipIf(!sharedUp)('the watch index across two processes', () => {
  const cluster = new Cluster();
  let one: RunningServer;
  let two: RunningServer;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    [one, two] = await Promise.all([cluster.start(), cluster.start()]);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster.stop();
  });
  const open = async (server: RunningServer, userId: number) => {
    const client = await connect(server, userId);
    clients.push(client);
    return client;
  };

  it('applies a follow made on one process to a change made there right after, for a watcher on the other', async () => {
    const [w, u] = [7_201, 7_202];
    const watcher = await open(two, w);
    const user = await open(one, u);
    await befriend(one, w, u);
    user.send({ type: 'presence.status.set', status: 'away' });
    // Either the presence read when u became visible or the change itself: the watcher ends up with away.
    await watcher.next('presence.status', (m) => m.user_id === u && m.status === 'away');
  });

  it('stops the changes of an ex-friend at once for a watcher on the other process', async () => {
    const [w, u, f] = [7_301, 7_302, 7_303];
    await befriend(one, w, u);
    await befriend(one, w, f);
    const watcher = await open(two, w);
    const user = await open(one, u);
    await watcher.next('presence.status', (m) => m.user_id === u && m.status === 'online');
    const friend = await open(one, f);
    await watcher.next('presence.status', (m) => m.user_id === f && m.status === 'online');
    await graph(one, 'DELETE', `follows/${w}/${u}`);
    user.send({ type: 'presence.status.set', status: 'away' });
    await user.next('presence.status', (m) => m.user_id === u && m.status === 'away');
    // Barrier: f's change, published on the same process after u's, reaches the watcher after anything of u's.
    friend.send({ type: 'presence.status.set', status: 'away' });
    await watcher.next('presence.status', (m) => m.user_id === f && m.status === 'away');
    expect(watcher.received.filter((m) => m.type === 'presence.status' && m.user_id === u)).toEqual([]);
  });
});
