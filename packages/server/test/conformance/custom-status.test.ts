import { afterAll, describe, expect, it } from 'vitest';
import type { StoredCustom, UserState } from '../../src/core/rules.js';
import { storeBackends } from '../support/stores.js';
import { rules, T } from './setup.js';

const lunch = (expiresAt: number | null = null): StoredCustom => ({ text: 'Lunch', emoji: '🍕', expiresAt });

/**
 * Custom statuses (contract section 14): setting, clearing and expiry are changes with a version from the
 * store, atomic with them; the status is kept while the user is offline and goes with every transition;
 * expiry is a compare-and-remove that exactly one caller wins, found by any process through the due set.
 */
for (const backend of await storeBackends()) {
  describe.skipIf(!backend.available)(`custom status conformance: ${backend.name}`, () => {
    afterAll(() => backend.cleanup());
    const open = (options?: { processId?: string; scope?: string }) => backend.open(rules, options);

    it('versions a set and a clear, and an unchanged set or a clear of nothing changes nothing', async () => {
      const store = await open();
      await store.heartbeat([{ userId: 1, status: 'online', at: T }]);
      const set = await store.setCustom(1, lunch(), T + 10);
      expect(set).toEqual({
        changed: true,
        presence: {
          userId: 1,
          status: 'online',
          previous: 'online',
          lastSeen: T,
          v: T + 10,
          clients: { web: 'online' },
          custom: lunch(),
        },
      });
      expect(await store.setCustom(1, lunch(), T + 11)).toMatchObject({
        changed: false,
        presence: { v: T + 10 },
      });
      const other = await store.setCustom(1, { text: null, emoji: '🌴', expiresAt: null }, T + 10);
      expect(other).toMatchObject({
        changed: true,
        presence: { v: T + 11, custom: { text: null, emoji: '🌴' } },
      });
      const cleared = await store.setCustom(1, null, T + 12);
      expect(cleared).toMatchObject({ changed: true, presence: { v: T + 12, custom: null } });
      expect(await store.setCustom(1, null, T + 13)).toMatchObject({
        changed: false,
        presence: { v: T + 12 },
      });
      expect((await store.getMany([1])).get(1)).toMatchObject({ v: T + 12, custom: null });
    });

    it('keeps the custom status through status changes and while offline, each transition carrying it', async () => {
      const store = await open();
      await store.heartbeat([{ userId: 2, status: 'online', at: T }]);
      await store.setCustom(2, lunch(), T + 1);
      const away = await store.setStatus(2, 'away', T + 2);
      expect(away.transition).toMatchObject({ status: 'away', custom: lunch() });
      const [off] = await store.heartbeat([{ userId: 2, status: 'offline', at: T + 3 }]);
      expect(off).toMatchObject({
        accepted: true,
        custom: lunch(),
        transition: { status: 'offline', custom: lunch() },
      });
      expect((await store.getMany([2])).get(2)).toMatchObject({ status: 'offline', custom: lunch() });
      const { transition } = await store.connect(2, T + 400_000);
      expect(transition).toMatchObject({ status: 'online', custom: lunch() });
    });

    it('expires a custom status once, when due, with a new version; the due set names it until then', async () => {
      const store = await open();
      await store.heartbeat([{ userId: 3, status: 'online', at: T }]);
      const { presence } = await store.setCustom(3, lunch(T + 1_000), T + 1);
      expect(await store.dueCustom(T + 999, 100)).not.toContain(3);
      expect(await store.expireCustom(3, T + 999)).toEqual({
        transition: null,
        due: T + 1_000,
        missing: false,
      });
      expect(await store.dueCustom(T + 1_000, 100)).toContain(3);
      const [first, second] = [
        await store.expireCustom(3, T + 1_000),
        await store.expireCustom(3, T + 1_001),
      ];
      expect(first.transition).toMatchObject({ userId: 3, status: 'online', custom: null, lastSeen: T });
      expect(first.transition?.v).toBeGreaterThan(presence.v);
      expect(second.transition).toBeNull();
      expect(await store.dueCustom(T + 5_000, 100)).not.toContain(3);
      expect((await store.getMany([3])).get(3)).toMatchObject({ custom: null, v: first.transition?.v });
    });

    it('expires the custom status of an offline user, which it kept until then', async () => {
      const store = await open();
      await store.heartbeat([{ userId: 4, status: 'online', at: T }]);
      await store.setCustom(4, lunch(T + 120_000), T + 1);
      await store.heartbeat([{ userId: 4, status: 'offline', at: T + 2 }]);
      const { transition } = await store.expireCustom(4, T + 120_000);
      expect(transition).toMatchObject({ status: 'offline', custom: null, clients: {} });
    });

    it('follows a replaced expiry: the old time is not due, the new one is', async () => {
      const store = await open();
      await store.setCustom(5, lunch(T + 1_000), T);
      await store.setCustom(5, lunch(T + 5_000), T + 1);
      expect(await store.dueCustom(T + 1_000, 100)).not.toContain(5);
      expect(await store.expireCustom(5, T + 1_000)).toMatchObject({ transition: null, due: T + 5_000 });
      await store.setCustom(5, lunch(null), T + 2);
      expect(await store.dueCustom(T + 10_000, 100)).not.toContain(5);
      expect(await store.expireCustom(5, T + 10_000)).toMatchObject({ transition: null, due: null });
    });

    it('lets exactly one of two processes announce an expiry, wherever the status was set', async () => {
      const scope = `custom-${Math.random()}`;
      const a = await open({ processId: 'a', scope });
      const b = await open({ processId: 'b', scope });
      await a.setCustom(6, lunch(T + 1_000), T);
      expect(await b.dueCustom(T + 1_000, 100)).toContain(6);
      const outcomes = await Promise.all([a.expireCustom(6, T + 1_000), b.expireCustom(6, T + 1_000)]);
      expect(outcomes.filter((o) => o.transition !== null)).toHaveLength(1);
    });

    it('refills a custom status kept only in the durable record, due set included; says when the user is missing', async () => {
      const store = await open();
      expect(await store.expireCustom(7, T)).toMatchObject({ transition: null, missing: true });
      const record: UserState = { status: 'offline', lastSeen: T, lastHeartbeat: null, v: T, devices: {} };
      await store.fill(new Map([[7, { ...record, custom: lunch(T + 1_000) }]]));
      expect((await store.getMany([7])).get(7)).toMatchObject({ custom: lunch(T + 1_000), v: T });
      expect(await store.dueCustom(T + 1_000, 100)).toContain(7);
      const { transition } = await store.expireCustom(7, T + 1_000);
      expect(transition).toMatchObject({ custom: null, v: T + 1_000 });
    });
  });
}
