import { afterAll, describe, expect, it } from 'vitest';
import { storeBackends } from '../support/stores.js';
import { rules, T } from './setup.js';

for (const backend of await storeBackends()) {
  describe.skipIf(!backend.available)(`presence reads conformance: ${backend.name}`, () => {
    afterAll(() => backend.cleanup());
    const open = (options?: { processId?: string; scope?: string }) => backend.open(rules, options);

    it('returns hot state for known users only, and fill never overwrites it', async () => {
      const store = await open();
      await store.heartbeat([{ userId: 11, status: 'away', at: T }]);
      await store.fill(
        new Map([
          [
            11,
            {
              status: 'offline',
              lastSeen: 1,
              lastHeartbeat: 1,
              devices: {},
              v: 1,
            },
          ],
          [
            12,
            {
              status: 'offline',
              lastSeen: T - 5,
              lastHeartbeat: null,
              devices: {},
              v: 2,
            },
          ],
        ]),
      );
      const states = await store.getMany([11, 12, 13]);
      expect(states.get(11)).toMatchObject({ status: 'away', lastSeen: T });
      expect(states.get(12)).toMatchObject({ status: 'offline', lastSeen: T - 5 });
      expect(states.has(13)).toBe(false);
    });

    it('pages through every online user', async () => {
      const store = await open();
      const ids = Array.from({ length: 250 }, (_, i) => 1_000 + i);
      await store.heartbeat(ids.map((userId) => ({ userId, status: 'online', at: T })));
      const seen = new Set<number>();
      let cursor = '0';
      do {
        const page = await store.scanOnline(cursor, 100);
        for (const [userId, state] of page.states) {
          expect(state.status).toBe('online');
          seen.add(userId);
        }
        cursor = page.cursor;
      } while (cursor !== '0');
      expect(seen.size).toBe(250);
    });
  });
}
