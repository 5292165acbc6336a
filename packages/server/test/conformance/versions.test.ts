import { afterAll, describe, expect, it } from 'vitest';
import { storeBackends } from '../support/stores.js';
import { rules, T } from './setup.js';

/**
 * Every change of a user's presence gets a version from the store, atomically with the change: larger than
 * every version before it, on every process, and never below the time of the change, so it keeps growing
 * after the hot state is lost (a restart, an expired hash).
 */
for (const backend of await storeBackends()) {
  describe.skipIf(!backend.available)(`versions conformance: ${backend.name}`, () => {
    afterAll(() => backend.cleanup());
    const open = (options?: { processId?: string; scope?: string }) => backend.open(rules, options);

    it('gives each transition a larger version, at least the time of the change', async () => {
      const store = await open();
      const [first] = await store.heartbeat([{ userId: 1, status: 'online', at: T }]);
      const v1 = first?.accepted ? first.transition?.v : undefined;
      expect(v1).toBe(T);
      const away = await store.setStatus(1, 'away', T);
      expect(away.transition?.v).toBe(T + 1);
      const [back] = await store.heartbeat([{ userId: 1, status: 'online', at: T + 1 }]);
      expect(back?.accepted && back.transition?.v).toBe(T + 2);
      const off = await store.heartbeat([{ userId: 1, status: 'offline', at: T + 50_000 }]);
      expect(off[0]?.accepted && off[0].transition?.v).toBe(T + 50_000);
      expect((await store.getMany([1])).get(1)?.v).toBe(T + 50_000);
    });

    it('bumps the version alone (a privacy change), leaving status, clients and last_seen as they are', async () => {
      const store = await open();
      await store.heartbeat([{ userId: 5, status: 'away', at: T, device: 'phone', client: 'mobile' }]);
      const bumped = await store.bumpVersion(5, T + 10);
      expect(bumped).toEqual({
        userId: 5,
        status: 'away',
        previous: 'away',
        lastSeen: T,
        v: T + 10,
        clients: { mobile: 'away' },
        custom: null,
      });
      expect(await store.bumpVersion(5, T + 10)).toMatchObject({ v: T + 11 });
      expect((await store.getMany([5])).get(5)).toMatchObject({ status: 'away', lastSeen: T, v: T + 11 });
      const [next] = await store.heartbeat([{ userId: 5, status: 'online', at: T + 11, device: 'phone' }]);
      expect(next?.accepted && next.transition?.v).toBe(T + 12);
    });

    it('reports the current version with every accepted heartbeat, changed or not', async () => {
      const store = await open();
      const [first] = await store.heartbeat([{ userId: 2, status: 'away', at: T }]);
      const [same] = await store.heartbeat([{ userId: 2, status: 'away', at: T + 20_000 }]);
      expect(first).toMatchObject({ accepted: true, v: T });
      expect(same).toMatchObject({ accepted: true, transition: null, v: T });
    });

    it('versions the offline of an expiry and of a socket that connects, across processes', async () => {
      const scope = `versions-${Math.random()}`;
      const a = await open({ processId: 'a', scope });
      const b = await open({ processId: 'b', scope });
      const { transition: on } = await a.connect(3, T);
      expect(on?.v).toBe(T);
      await a.disconnect(3, T + 10, true);
      const expired = await b.expire(3, T + 10 + rules.disconnectGraceMs);
      expect(expired.transition?.v).toBe(T + 10 + rules.disconnectGraceMs);
      // A clock behind the last version still moves it forward.
      const { transition: again } = await b.connect(3, T + 1);
      expect(again?.v).toBe(T + 10 + rules.disconnectGraceMs + 1);
    });

    it('keeps the version of a refilled durable record and counts on from it', async () => {
      const store = await open();
      await store.fill(
        new Map([
          [
            4,
            {
              status: 'offline',
              lastSeen: T - 1_000,
              lastHeartbeat: null,
              devices: {},
              v: T + 900_000,
            },
          ],
        ]),
      );
      expect((await store.getMany([4])).get(4)?.v).toBe(T + 900_000);
      const { transition } = await store.connect(4, T);
      expect(transition?.v).toBe(T + 900_001);
    });
  });
}
