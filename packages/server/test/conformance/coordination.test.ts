import { afterAll, describe, expect, it } from 'vitest';
import { storeBackends } from '../support/stores.js';
import { rules } from './setup.js';

for (const backend of await storeBackends()) {
  describe.skipIf(!backend.available)(`leases and graph versions conformance: ${backend.name}`, () => {
    afterAll(() => backend.cleanup());
    const open = (options?: { processId?: string; scope?: string }) => backend.open(rules, options);

    it('bumps graph versions per user and per conversation, seen by every process', async () => {
      const scope = `versions-${Math.random()}`;
      const a = await open({ processId: 'a', scope });
      const b = await open({ processId: 'b', scope });
      expect(await b.graphVersions('user', 1)).toBe(0);
      await a.bumpGraphVersions([1, 2, 1], [9]);
      const first = await b.graphVersions('user', 1);
      expect(first).toBeGreaterThan(0);
      expect(await b.graphVersions('user', 2)).toBeGreaterThan(0);
      expect(await b.graphVersions('user', 3)).toBe(0);
      expect(await b.graphVersions('conversation', 9)).toBeGreaterThan(0);
      // Each bump moves the version on, once per bump however often the user is named in it.
      await b.bumpGraphVersions([1], []);
      expect(await a.graphVersions('user', 1)).toBeGreaterThan(first);
    });

    it('gives a lease to one holder at a time and lets the holder renew and release it', async () => {
      const store = await open();
      expect(await store.acquireLease('sync', 'a', 60_000)).toBe(true);
      expect(await store.acquireLease('sync', 'b', 60_000)).toBe(false);
      expect(await store.acquireLease('sync', 'a', 60_000)).toBe(true);
      await store.releaseLease('sync', 'b');
      expect(await store.acquireLease('sync', 'b', 60_000)).toBe(false);
      await store.releaseLease('sync', 'a');
      expect(await store.acquireLease('sync', 'b', 60_000)).toBe(true);
    });
  });
}
