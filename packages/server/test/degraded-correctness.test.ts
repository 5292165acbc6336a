import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { startServer } from '../src/app.js';
import { freePort, OwnRedis } from './support/processes.js';
import { AUTH_SECRET, api, befriend, SERVICE_KEY, TestClient } from './support/server.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './support/services.js';

const available = await hasPostgres();

/**
 * What watchers see and what PostgreSQL keeps across a Redis outage, on two processes sharing a Redis of the
 * test's own. The servers share a manual clock, so the rules' time moves only when the test moves it.
 */
describe.skipIf(!available)('degraded mode keeps presence right', () => {
  let redis: OwnRedis;
  let database: TestDatabase;
  let a: RunningServer;
  let b: RunningServer;
  let db: pg.Client;
  const clock = { now: Date.now() };
  const clients: TestClient[] = [];
  const connect = async (server: RunningServer, userId: number) => {
    const client = await TestClient.connect(server, userId);
    clients.push(client);
    await client.next('presence.snapshot');
    return client;
  };
  const timing = { presenceTimeoutMs: 20_000, heartbeatMinIntervalMs: 100, disconnectGraceMs: 1_000 };

  beforeAll(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
    database = await createTestDatabase();
    const start = () =>
      startServer({
        port: 0,
        udpPort: 0,
        logLevel: 'silent',
        databaseUrl: database.url,
        redisUrl: redis.url,
        authSecret: AUTH_SECRET,
        serviceKey: SERVICE_KEY,
        clock: () => clock.now,
        ...timing,
      });
    [a, b] = await Promise.all([start(), start()]);
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await db.end();
    await Promise.all([a.close(), b.close()]);
    await redis.stop();
    await database.drop();
  });

  const stored = async (userId: number) =>
    (await db.query('select status, last_seen, v from user_presence where user_id = $1', [userId])).rows[0];
  const degraded = async (server: RunningServer) => (await api(server, 'GET', '/readyz')).body.degraded;
  const status = async (server: RunningServer, viewer: number, userId: number) =>
    (await api(server, 'GET', `/api/presence/status/${userId}`, { token: await server.mintToken(viewer) }))
      .body;

  const outages = [
    {
      name: 'Redis restarted empty',
      key: 'redis-restart-empty',
      base: 0,
      begin: () => redis.stop(),
      end: () => redis.start(),
    },
    {
      name: 'Redis frozen, its data kept',
      key: 'redis-frozen',
      base: 100,
      begin: async () => redis.freeze(),
      end: async () => redis.thaw(),
    },
  ];
  for (const outage of outages) {
    describe(outage.name, () => {
      const u = (n: number) => outage.base + n;
      it('shows a user held by a socket here as online through the outage, however long', async () => {
        await befriend(a, u(10), u(11));
        await connect(a, u(10));
        await outage.begin();
        // The first call after the loss finds Redis gone; from then on this process answers from local state.
        await api(a, 'POST', '/api/presence/heartbeat/', { token: await a.mintToken(u(12)) });
        expect(await degraded(a)).toBe(true);
        clock.now += 10 * 60_000;
        expect(await status(a, u(11), u(10))).toMatchObject({ user_id: u(10), status: 'online' });
        await outage.end();
        await expect.poll(() => degraded(a), { timeout: 10_000, interval: 100 }).toBe(false);
        await expect.poll(() => degraded(b), { timeout: 10_000, interval: 100 }).toBe(false);
      });

      it('announces a departure during the outage on every process when Redis returns, with its true time', async () => {
        await befriend(a, u(20), u(21));
        await befriend(a, u(20), u(22));
        const leaving = await connect(a, u(20));
        const watcherHere = await connect(a, u(21));
        const watcherThere = await connect(b, u(22));
        await outage.begin();
        await api(a, 'POST', '/api/presence/heartbeat/', { token: await a.mintToken(u(23)) });
        await api(b, 'POST', '/api/presence/heartbeat/', { token: await b.mintToken(u(24)) });
        expect([await degraded(a), await degraded(b)]).toEqual([true, true]);

        clock.now += 5_000;
        const leftAt = clock.now;
        await leaving.close();
        clock.now += timing.disconnectGraceMs + 100;
        await a.service.tick();
        const here = await watcherHere.next(
          'presence.status',
          (m) => m.user_id === u(20) && m.status === 'offline',
        );
        expect(here.last_seen).toBe(new Date(leftAt).toISOString());

        await outage.end();
        const back = Date.now();
        await expect.poll(() => degraded(a), { timeout: 10_000, interval: 100 }).toBe(false);
        // The process across the outage hears of it now, as the same change (same version, same last_seen): by a
        // status frame, or by the fresh snapshot it sends its clients after its bus lost broadcasts.
        const learned = () => {
          for (const m of watcherThere.received) {
            if (m.type === 'presence.status' && m.user_id === u(20)) return { ...m, type: undefined };
            if (m.type !== 'presence.snapshot') continue;
            const user = m.users.find((p) => p.user_id === u(20) && p.status === 'offline');
            if (user) return { ...user, type: undefined };
          }
          return null;
        };
        await expect.poll(learned, { timeout: 10_000, interval: 100 }).not.toBeNull();
        expect(learned()).toEqual({ ...here, type: undefined });
        // The write-through is asynchronous (batched per turn, retried on failure): wait for it, bounded.
        await expect
          .poll(() => stored(u(20)), { timeout: 5_000, interval: 50 })
          .toMatchObject({ status: 'offline', last_seen: new Date(leftAt) });
        console.log(
          `fault: ${outage.key} recovered in ${Date.now() - back} ms (out of degraded mode, the departure ` +
            'announced on the other process and in PostgreSQL, after Redis answered again)',
        );
        expect(await status(b, u(22), u(20))).toEqual({
          user_id: u(20),
          status: 'offline',
          last_seen: here.last_seen,
          v: here.v,
          clients: {},
          custom: null,
        });
        expect(await stored(u(20))).toMatchObject({ status: 'offline', last_seen: new Date(leftAt) });
        // Nothing more about the user follows: the sweep finds nobody left to take offline again.
        clock.now += timing.presenceTimeoutMs * 2;
        await Promise.all([a.service.sweep(), b.service.sweep()]);
        // A barrier: the watcher's own device goes away, and that frame comes after anything about u(20).
        watcherThere.send({ type: 'presence.status.set', status: 'away' });
        await watcherThere.next('presence.status', (m) => m.user_id === u(22) && m.status === 'away');
        // Whatever arrived about user u(20) was that one offline, never a second change.
        const about20 = watcherThere.received.filter(
          (m) => m.type === 'presence.status' && m.user_id === u(20),
        );
        expect(about20.every((m) => m.type === 'presence.status' && m.v === here.v)).toBe(true);
      });
    });
  }

  it('ends typing started during the outage when Redis returns, rather than leave it stuck', async () => {
    await a.service.setConversation(500, [50, 51]);
    const typist = await connect(a, 50);
    const partner = await connect(a, 51);
    await redis.stop();
    await api(a, 'POST', '/api/presence/heartbeat/', { token: await a.mintToken(52) });
    expect(await degraded(a)).toBe(true);
    typist.send({ type: 'presence.typing.start', conversation_id: 500 });
    await partner.next('presence.typing', (m) => m.user_id === 50 && m.is_typing);
    await redis.start();
    await expect.poll(() => degraded(a), { timeout: 10_000, interval: 100 }).toBe(false);
    // Redis never heard of this typing, so no expiry can end it there: the return itself must.
    await partner.next('presence.typing', (m) => m.user_id === 50 && !m.is_typing, 5_000);
  });

  it('enters degraded mode within seconds when Redis hangs instead of failing, and recovers', async () => {
    redis.freeze();
    let answeredAfter: number;
    try {
      const started = Date.now();
      const beat = await api(a, 'POST', '/api/presence/heartbeat/', { token: await a.mintToken(30) });
      expect(beat.status).toBe(200);
      answeredAfter = Date.now() - started;
      expect(answeredAfter).toBeLessThan(10_000);
      expect(await degraded(a)).toBe(true);
    } finally {
      redis.thaw();
    }
    const thawed = Date.now();
    await expect.poll(() => degraded(a), { timeout: 15_000, interval: 200 }).toBe(false);
    expect(await status(a, 30, 30)).toMatchObject({ status: 'online' });
    console.log(
      `fault: redis-frozen recovered in ${Date.now() - thawed} ms after SIGCONT ` +
        `(a heartbeat during the freeze answered in ${answeredAfter} ms, in degraded mode)`,
    );
  });
});
