import { afterAll, describe, expect, it } from 'vitest';
import { storeBackends } from '../support/stores.js';
import { rules, T } from './setup.js';

for (const backend of await storeBackends()) {
  describe.skipIf(!backend.available)(`liveness conformance: ${backend.name}`, () => {
    afterAll(() => backend.cleanup());
    const open = (options?: { processId?: string; scope?: string }) => backend.open(rules, options);

    it('takes a first heartbeat online and reports the transition once', async () => {
      const store = await open();
      const [first] = await store.heartbeat([{ userId: 1, status: 'online', at: T }]);
      expect(first).toEqual({
        accepted: true,
        transition: {
          userId: 1,
          status: 'online',
          previous: 'offline',
          lastSeen: T,
          v: T,
          clients: { web: 'online' },
          custom: null,
        },
        deadline: T + 60_000,
        v: T,
        status: 'online',
        clients: { web: 'online' },
        custom: null,
      });
      const [second] = await store.heartbeat([{ userId: 1, status: 'online', at: T + 10_000 }]);
      expect(second).toEqual({
        accepted: true,
        transition: null,
        deadline: T + 70_000,
        v: T,
        status: 'online',
        clients: { web: 'online' },
        custom: null,
      });
      expect(await store.countOnline()).toBe(1);
    });

    it('refuses an unchanged heartbeat within the interval with the time left, but takes a changed one', async () => {
      const store = await open();
      await store.heartbeat([{ userId: 1, status: 'online', at: T }]);
      const outcomes = await store.heartbeat([
        { userId: 1, status: 'online', at: T + 4_000 },
        { userId: 1, status: 'away', at: T + 5_000 },
        { userId: 1, status: 'away', at: T + 6_000 },
      ]);
      expect(outcomes[0]).toEqual({ accepted: false, retryAfterMs: 6_000 });
      expect(outcomes[1]).toMatchObject({
        accepted: true,
        transition: { status: 'away', previous: 'online' },
      });
      expect(outcomes[2]).toEqual({ accepted: false, retryAfterMs: 9_000 });
    });

    it('refuses a repeated offline heartbeat within the interval, though the device it ended is gone', async () => {
      const store = await open();
      await store.heartbeat([{ userId: 31, status: 'online', at: T }]);
      const [off] = await store.heartbeat([{ userId: 31, status: 'offline', at: T + 1_000 }]);
      expect(off).toMatchObject({ accepted: true, transition: { status: 'offline' } });
      const [again] = await store.heartbeat([{ userId: 31, status: 'offline', at: T + 2_000 }]);
      expect(again).toEqual({ accepted: false, retryAfterMs: 9_000 });
      expect((await store.getMany([31])).get(31)?.lastSeen).toBe(T + 1_000);
      const [later] = await store.heartbeat([{ userId: 31, status: 'offline', at: T + 11_000 }]);
      expect(later).toMatchObject({ accepted: true, transition: null });
    });

    it('goes offline at once on an offline heartbeat and holds it against open sockets', async () => {
      const store = await open();
      await store.connect(2, T);
      const [off] = await store.heartbeat([{ userId: 2, status: 'offline', at: T + 1_000 }]);
      expect(off).toMatchObject({ accepted: true, transition: { status: 'offline', lastSeen: T + 1_000 } });
      await store.touch([{ userId: 2, sockets: 1 }], T + 2_000);
      expect((await store.getMany([2])).get(2)?.status).toBe('offline');
      expect(await store.countOnline()).toBe(0);
      const { transition } = await store.connect(2, T + 3_000);
      expect(transition).toMatchObject({ status: 'online', previous: 'offline' });
    });

    it('expires at the timeout with last_seen at the last heartbeat, exactly once', async () => {
      const store = await open();
      await store.heartbeat([{ userId: 3, status: 'away', at: T }]);
      expect(await store.expire(3, T + 59_999)).toEqual({
        transition: null,
        deadline: T + 60_000,
        stoppedTyping: [],
      });
      expect(await store.expire(3, T + 61_000)).toEqual({
        transition: {
          userId: 3,
          status: 'offline',
          previous: 'away',
          lastSeen: T,
          v: T + 61_000,
          clients: {},
          custom: null,
        },
        deadline: null,
        stoppedTyping: [],
      });
      expect((await store.expire(3, T + 62_000)).transition).toBeNull();
      expect(await store.countOnline()).toBe(0);
    });

    it('keeps a user with an open socket online past the timeout, and offline after the grace once closed', async () => {
      const store = await open();
      expect((await store.connect(4, T)).transition).toMatchObject({ status: 'online', lastSeen: T });
      expect(await store.expire(4, T + 600_000)).toMatchObject({ transition: null, deadline: null });
      const { deadline } = await store.disconnect(4, T + 600_000, true);
      expect(deadline).toBe(T + 605_000);
      expect((await store.expire(4, T + 604_999)).transition).toBeNull();
      expect((await store.expire(4, T + 605_000)).transition).toEqual({
        userId: 4,
        status: 'offline',
        previous: 'online',
        lastSeen: T + 600_000,
        v: T + 605_000,
        clients: {},
        custom: null,
      });
    });

    it('sets a status over a socket without making it a heartbeat', async () => {
      const store = await open();
      await store.connect(30, T);
      expect((await store.setStatus(30, 'away', T + 1_000)).transition).toEqual({
        userId: 30,
        status: 'away',
        previous: 'online',
        lastSeen: T + 1_000,
        v: T + 1_000,
        clients: { web: 'away' },
        custom: null,
      });
      expect((await store.setStatus(30, 'away', T + 2_000)).transition).toBeNull();
      expect((await store.disconnect(30, T + 3_000, true)).deadline).toBe(T + 8_000);
      expect((await store.expire(30, T + 8_000)).transition).toMatchObject({
        status: 'offline',
        previous: 'away',
      });
    });

    it('cancels the offline on a reconnect within the grace: no transition either way', async () => {
      const store = await open();
      await store.connect(5, T);
      await store.disconnect(5, T + 1_000, true);
      expect((await store.connect(5, T + 2_000)).transition).toBeNull();
      expect(await store.expire(5, T + 10_000)).toMatchObject({ transition: null, deadline: null });
    });

    it('waits for the later of heartbeat timeout and close grace', async () => {
      const store = await open();
      await store.heartbeat([{ userId: 6, status: 'online', at: T }]);
      await store.connect(6, T + 1_000);
      const { deadline } = await store.disconnect(6, T + 2_000, true);
      expect(deadline).toBe(T + 60_000);
      expect((await store.expire(6, T + 7_000)).transition).toBeNull();
    });

    it('counts sockets on two processes: closing one keeps the user online', async () => {
      const scope = `two-${Math.random()}`;
      const a = await open({ processId: 'a', scope });
      const b = await open({ processId: 'b', scope });
      await a.connect(7, T);
      await b.connect(7, T + 100);
      await a.disconnect(7, T + 200, true);
      expect(await a.expire(7, T + 60_000)).toMatchObject({ transition: null, deadline: null });
      await b.disconnect(7, T + 300, true);
      expect((await b.expire(7, T + 5_300)).transition).toMatchObject({
        status: 'offline',
        lastSeen: T + 300,
      });
    });

    it('lists users whose liveness is older than a cutoff, and touch keeps held users fresh', async () => {
      const store = await open();
      await store.heartbeat([
        { userId: 8, status: 'online', at: T },
        { userId: 9, status: 'online', at: T + 30_000 },
      ]);
      await store.connect(10, T);
      await store.touch([{ userId: 10, sockets: 1 }], T + 40_000);
      expect(await store.staleUsers(T + 20_000, 100)).toEqual([8]);
      // A refresh is this process vouching for the socket, not the user doing anything.
      expect((await store.getMany([10])).get(10)?.lastSeen).toBe(T);
    });

    it('keeps last_seen at the last activity: a frame or pong moves it, a dead socket close does not', async () => {
      const store = await open();
      await store.connect(11, T);
      await store.touch([{ userId: 11, sockets: 1 }], T + 20_000);
      await store.activity([11], T + 25_000);
      await store.touch([{ userId: 11, sockets: 1 }], T + 40_000);
      expect((await store.getMany([11])).get(11)?.lastSeen).toBe(T + 25_000);
      // The socket stopped answering; the server cuts it at T + 60 s. That is detection, not activity.
      const { deadline } = await store.disconnect(11, T + 60_000, false);
      expect(deadline).toBe(T + 60_000 + rules.disconnectGraceMs);
      expect((await store.expire(11, T + 65_000)).transition).toMatchObject({
        status: 'offline',
        lastSeen: T + 25_000,
      });
      // Activity never revives an offline user.
      await store.activity([11], T + 70_000);
      expect((await store.getMany([11])).get(11)).toMatchObject({ status: 'offline', lastSeen: T + 25_000 });
    });

    it('counts a clean close (the client said goodbye) as activity', async () => {
      const store = await open();
      await store.connect(12, T);
      await store.disconnect(12, T + 30_000, true);
      expect((await store.expire(12, T + 35_000)).transition).toMatchObject({ lastSeen: T + 30_000 });
    });
  });
}
