import type { UserPresence } from '@presence/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { api, befriend, Cluster, TestClient } from './support/server.js';
import { hasPostgres, hasRedis } from './support/services.js';

const available = (await hasRedis()) && (await hasPostgres());

/**
 * One user with a tab on each of two processes, flipping idle, closing and reopening: every watcher, on either
 * process, ends with the store's state, and the versions it heard only ever grow.
 */
describe.skipIf(!available)('watchers on every process converge on the store', () => {
  const cluster = new Cluster();
  let a: RunningServer;
  let b: RunningServer;
  const clients: TestClient[] = [];
  const connect = async (server: RunningServer, userId: number) => {
    const client = await TestClient.connect(server, userId);
    clients.push(client);
    await client.next('presence.snapshot');
    return client;
  };

  beforeAll(async () => {
    const timing = { presenceTimeoutMs: 5_000, heartbeatMinIntervalMs: 100, disconnectGraceMs: 300 };
    [a, b] = await Promise.all([cluster.start(timing), cluster.start(timing)]);
    await befriend(a, 1, 2);
    await befriend(a, 1, 3);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster.stop();
  });

  /** What a watcher believes of a user: the presence with the largest version among all it heard. */
  const belief = (watcher: TestClient, userId: number): UserPresence | undefined => {
    let best: UserPresence | undefined;
    for (const m of watcher.received) {
      const candidates = m.type === 'presence.status' ? [m] : m.type === 'presence.snapshot' ? m.users : [];
      for (const p of candidates) {
        if (p.user_id === userId && (best === undefined || p.v > best.v)) {
          best = {
            user_id: p.user_id,
            status: p.status,
            last_seen: p.last_seen,
            v: p.v,
            clients: p.clients,
            custom: p.custom,
          };
        }
      }
    }
    return best;
  };

  it('shows every watcher the same final state as the store, with v strictly increasing', async () => {
    const here = await connect(a, 2);
    const there = await connect(b, 3);
    let tabA = await connect(a, 1);
    const tabB = await connect(b, 1);
    const flips: Array<[TestClient, 'online' | 'away']> = [
      [tabA, 'away'],
      [tabB, 'online'],
      [tabA, 'online'],
      [tabB, 'away'],
      [tabA, 'away'],
      [tabB, 'online'],
    ];
    for (const [tab, status] of flips) tab.send({ type: 'presence.status.set', status });
    await tabA.close();
    tabA = await connect(a, 1);
    tabA.send({ type: 'presence.status.set', status: 'online' });
    tabB.send({ type: 'presence.status.set', status: 'away' });

    // The store's final word, once both tabs' last frames are through: read until two reads agree.
    const read = async () =>
      (await api(a, 'GET', '/api/presence/status/1', { token: await a.mintToken(2) })).body as UserPresence;
    let store = await read();
    await expect
      .poll(
        async () => {
          const again = await read();
          const settled = again.v === store.v;
          store = again;
          return settled && belief(here, 1)?.v === store.v && belief(there, 1)?.v === store.v;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(true);
    // Activity that changes neither status nor clients moves last_seen without being a change (section 10), so
    // watchers hold the last_seen of the last change, and the store may be later.
    const { last_seen: _, ...change } = store;
    for (const watcher of [here, there]) {
      expect(belief(watcher, 1)).toMatchObject(change);
      const heard = watcher.received.flatMap((m) =>
        m.type === 'presence.status' && m.user_id === 1 ? [m.v] : [],
      );
      // Each change has a version of its own, and none is heard twice.
      expect(new Set(heard).size).toBe(heard.length);
    }
    const final = (await api(b, 'GET', '/api/presence/status/1', { token: await b.mintToken(3) })).body;
    expect(final).toMatchObject(change);
  });
});
