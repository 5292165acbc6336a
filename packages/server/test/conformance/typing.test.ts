import { afterAll, describe, expect, it } from 'vitest';
import { storeBackends } from '../support/stores.js';
import { rules, T } from './setup.js';

for (const backend of await storeBackends()) {
  describe.skipIf(!backend.available)(`typing conformance: ${backend.name}`, () => {
    afterAll(() => backend.cleanup());
    const open = (options?: { processId?: string; scope?: string }) => backend.open(rules, options);

    it('announces typing once per run of starts, stops it once, and expires it once', async () => {
      const store = await open();
      expect(await store.startTyping(20, 500, T, 3_000)).toBe(true);
      expect(await store.startTyping(20, 500, T + 1_000, 3_000)).toBe(false);
      expect(await store.typingIn(500, T + 1_500)).toEqual([20]);
      expect(await store.stopTyping(20, 500)).toBe(true);
      expect(await store.stopTyping(20, 500)).toBe(false);
      expect(await store.startTyping(20, 500, T + 2_000, 3_000)).toBe(true);
      expect(await store.dueTyping(T + 4_999, 10)).toEqual([]);
      expect(await store.expireTyping(20, 500, T + 4_999)).toBe(false);
      expect(await store.dueTyping(T + 5_000, 10)).toEqual([{ userId: 20, conversationId: 500 }]);
      expect(await store.expireTyping(20, 500, T + 5_000)).toBe(true);
      expect(await store.expireTyping(20, 500, T + 5_000)).toBe(false);
      expect(await store.typingIn(500, T + 5_000)).toEqual([]);
    });

    it('ends typing when its user goes offline', async () => {
      const store = await open();
      await store.heartbeat([{ userId: 21, status: 'online', at: T }]);
      await store.startTyping(21, 501, T + 50_000, 3_000);
      const outcome = await store.expire(21, T + 60_000);
      expect(outcome.transition?.status).toBe('offline');
      expect(outcome.stoppedTyping).toEqual([501]);
      expect(await store.typingIn(501, T + 60_000)).toEqual([]);
    });
  });
}
