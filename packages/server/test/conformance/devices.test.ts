import { afterAll, describe, expect, it } from 'vitest';
import { storeBackends } from '../support/stores.js';
import { rules, T } from './setup.js';

const web = (id: string) => ({ id, kind: 'web' as const });

/**
 * Contract section 11: each device (a socket, or a heartbeat source naming a device) has its own status and
 * liveness; the user's status is the most available over live devices, with `clients` per kind, and a change
 * of `clients` alone is a change (a new version, announced).
 */
for (const backend of await storeBackends()) {
  describe.skipIf(!backend.available)(`devices conformance: ${backend.name}`, () => {
    afterAll(() => backend.cleanup());
    const open = (options?: { processId?: string; scope?: string }) => backend.open(rules, options);

    it('two tabs: the idle one going away never makes the active user away', async () => {
      const store = await open();
      await store.connect(1, T, web('tab-a'));
      await store.connect(1, T + 1, web('tab-b'));
      expect((await store.setStatus(1, 'away', T + 2, 'tab-b')).transition).toBeNull();
      expect((await store.getMany([1])).get(1)?.status).toBe('online');
      // The active tab leaves: after its grace the idle one is all there is, and the user is away.
      const ends = T + 3 + rules.disconnectGraceMs;
      expect((await store.disconnect(1, T + 3, true, 'tab-a')).deadline).toBe(ends);
      expect((await store.expire(1, ends - 1)).transition).toBeNull();
      const { transition } = await store.expire(1, ends);
      expect(transition).toMatchObject({ status: 'away', previous: 'online', clients: { web: 'away' } });
      const { deadline } = await store.disconnect(1, ends + 1, true, 'tab-b');
      expect(deadline).toBe(ends + 1 + rules.disconnectGraceMs);
    });

    it('two heartbeat devices with different statuses do not flip the user on every beat', async () => {
      const store = await open();
      const beat = (device: string, status: 'online' | 'away', at: number) =>
        store.heartbeat([{ userId: 2, status, at, device, client: 'mobile' }]);
      const [first] = await beat('phone', 'online', T);
      expect(first).toMatchObject({ accepted: true, transition: { status: 'online' } });
      const [tablet] = await beat('tablet', 'away', T + 1_000);
      expect(tablet).toMatchObject({ accepted: true, transition: null });
      for (let i = 1; i <= 3; i++) {
        const outcomes = [
          ...(await beat('phone', 'online', T + i * 20_000)),
          ...(await beat('tablet', 'away', T + i * 20_000 + 1)),
        ];
        for (const outcome of outcomes) expect(outcome).toMatchObject({ accepted: true, transition: null });
      }
    });

    it('is as available as its most available device, with clients per kind, and goes down device by device', async () => {
      const store = await open();
      const [away] = await store.heartbeat([
        { userId: 3, status: 'away', at: T, device: 'phone', client: 'mobile' },
      ]);
      expect(away).toMatchObject({
        accepted: true,
        transition: { status: 'away', previous: 'offline', clients: { mobile: 'away' }, v: T },
        deadline: T + rules.presenceTimeoutMs,
      });
      const { transition: on } = await store.connect(3, T + 1, web('laptop'));
      expect(on).toEqual({
        userId: 3,
        status: 'online',
        previous: 'away',
        lastSeen: T + 1,
        v: T + 1,
        clients: { mobile: 'away', web: 'online' },
        custom: null,
      });
      const { deadline } = await store.disconnect(3, T + 2, true, 'laptop');
      expect(deadline).toBe(T + 2 + rules.disconnectGraceMs);
      const down = await store.expire(3, T + 2 + rules.disconnectGraceMs);
      expect(down).toEqual({
        transition: {
          userId: 3,
          status: 'away',
          previous: 'online',
          lastSeen: T + 2,
          v: T + 2 + rules.disconnectGraceMs,
          clients: { mobile: 'away' },
          custom: null,
        },
        deadline: T + rules.presenceTimeoutMs,
        stoppedTyping: [],
      });
      const gone = await store.expire(3, T + rules.presenceTimeoutMs);
      expect(gone.transition).toMatchObject({ status: 'offline', previous: 'away', clients: {} });
      expect(gone.deadline).toBeNull();
    });

    it('announces a change of clients alone as a change with a new version', async () => {
      const store = await open();
      await store.connect(4, T, web('tab'));
      const [phone] = await store.heartbeat([
        { userId: 4, status: 'online', at: T + 10, device: 'phone', client: 'mobile' },
      ]);
      expect(phone).toMatchObject({
        accepted: true,
        transition: { status: 'online', previous: 'online', clients: { web: 'online', mobile: 'online' } },
        v: T + 10,
      });
      // An unchanged heartbeat of the same device changes nothing.
      const [again] = await store.heartbeat([
        { userId: 4, status: 'online', at: T + 20_000, device: 'phone', client: 'mobile' },
      ]);
      expect(again).toMatchObject({ accepted: true, transition: null, v: T + 10 });
    });

    it('treats a socket and heartbeats naming the same device as one device', async () => {
      const store = await open();
      await store.heartbeat([{ userId: 5, status: 'away', at: T, device: 'desk', client: 'desktop' }]);
      expect((await store.connect(5, T + 1, { id: 'desk', kind: 'desktop' })).transition).toBeNull();
      expect((await store.getMany([5])).get(5)?.status).toBe('away');
      const { transition } = await store.setStatus(5, 'online', T + 2, 'desk');
      expect(transition).toMatchObject({ status: 'online', clients: { desktop: 'online' } });
      // The socket holds the device past its heartbeat's timeout.
      expect(await store.expire(5, T + rules.presenceTimeoutMs + 1)).toMatchObject({
        transition: null,
        deadline: null,
      });
    });

    it('refuses a heartbeat that would make a 33rd device of a user, as rate limited; known devices go on', async () => {
      const store = await open();
      const beat = (device: string, at: number) =>
        store.heartbeat([{ userId: 12, status: 'online', at, device, client: 'mobile' }]);
      for (let i = 0; i < 32; i++) expect((await beat(`d${i}`, T + i))[0]).toMatchObject({ accepted: true });
      expect((await beat('d32', T + 100))[0]).toEqual({
        accepted: false,
        retryAfterMs: rules.heartbeatMinIntervalMs,
      });
      expect((await beat('d0', T + 20_000))[0]).toMatchObject({ accepted: true });
      expect(Object.keys((await store.getMany([12])).get(12)?.devices ?? {})).toHaveLength(32);
    });

    it('keeps the kind of a device a status set brings back (its socket outlived the device)', async () => {
      const store = await open();
      const { transition } = await store.setStatus(13, 'away', T, 'phone', 'mobile');
      expect(transition).toMatchObject({ status: 'away', clients: { mobile: 'away' } });
    });

    it('limits unchanged heartbeats per device, not per user', async () => {
      const store = await open();
      const outcomes = await store.heartbeat([
        { userId: 6, status: 'online', at: T, device: 'a' },
        { userId: 6, status: 'online', at: T + 1_000, device: 'b' },
        { userId: 6, status: 'online', at: T + 2_000, device: 'a' },
      ]);
      expect(outcomes[1]).toMatchObject({ accepted: true });
      expect(outcomes[2]).toEqual({ accepted: false, retryAfterMs: rules.heartbeatMinIntervalMs - 2_000 });
    });

    it('takes one device offline at once on its offline heartbeat; the others keep the user', async () => {
      const store = await open();
      await store.connect(7, T, web('tab'));
      await store.heartbeat([{ userId: 7, status: 'online', at: T, device: 'phone', client: 'mobile' }]);
      const [off] = await store.heartbeat([
        { userId: 7, status: 'offline', at: T + 1_000, device: 'phone', client: 'mobile' },
      ]);
      expect(off).toMatchObject({
        accepted: true,
        transition: { status: 'online', previous: 'online', clients: { web: 'online' } },
      });
      expect(await store.countOnline()).toBe(1);
    });

    it('reports from the refresh the users whose other devices are due, so a dead heartbeat device ends', async () => {
      const scope = `due-${Math.random()}`;
      const a = await open({ processId: 'a', scope });
      await a.connect(8, T, web('tab'));
      // The phone's heartbeats were taken by a process that died before its deadline.
      const b = await open({ processId: 'b', scope });
      await b.heartbeat([{ userId: 8, status: 'online', at: T, device: 'phone', client: 'mobile' }]);
      expect(await a.touch([{ userId: 8, sockets: 1, device: 'tab' }], T + 30_000)).toEqual([]);
      const due = await a.touch([{ userId: 8, sockets: 1, device: 'tab' }], T + rules.presenceTimeoutMs);
      expect(due).toEqual([8]);
      const { transition } = await a.expire(8, T + rules.presenceTimeoutMs);
      expect(transition).toMatchObject({ status: 'online', clients: { web: 'online' } });
    });

    it('keeps the devices of each process apart: one process closing its socket leaves the other', async () => {
      const scope = `procs-${Math.random()}`;
      const a = await open({ processId: 'a', scope });
      const b = await open({ processId: 'b', scope });
      await a.connect(9, T, web('tab-a'));
      const { transition } = await b.connect(9, T + 1, { id: 'app', kind: 'desktop' });
      expect(transition).toMatchObject({ clients: { web: 'online', desktop: 'online' } });
      await a.disconnect(9, T + 2, true, 'tab-a');
      const { transition: left } = await b.expire(9, T + 2 + rules.disconnectGraceMs);
      expect(left).toMatchObject({ status: 'online', clients: { desktop: 'online' } });
    });
  });
}
