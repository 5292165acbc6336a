import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { startServer } from '../src/app.js';
import { freePort, OwnRedis } from './support/processes.js';
import { AUTH_SECRET, api, befriend, SERVICE_KEY, TestClient } from './support/server.js';
import { createTestDatabase, hasPostgres, PG_ADMIN_URL, type TestDatabase } from './support/services.js';

const available = await hasPostgres();

describe.skipIf(!available)('degraded mode: Redis stops and comes back', () => {
  let redis: OwnRedis;
  let database: TestDatabase;
  let server: RunningServer;
  let db: pg.Client;

  beforeAll(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
    database = await createTestDatabase();
    server = await startServer({
      port: 0,
      udpPort: 0,
      logLevel: 'silent',
      databaseUrl: database.url,
      redisUrl: redis.url,
      authSecret: AUTH_SECRET,
      serviceKey: SERVICE_KEY,
      presenceTimeoutMs: 20_000,
      heartbeatMinIntervalMs: 100,
    });
    db = new pg.Client({ connectionString: database.url });
    // The last test terminates every connection to this database, this one included.
    db.on('error', () => {});
    await db.connect();
  });
  afterAll(async () => {
    await db.end().catch(() => {});
    await server.close();
    await redis.stop();
    await database.drop();
  });

  const stored = async (userId: number) =>
    (await db.query('select status, last_seen from user_presence where user_id = $1', [userId])).rows[0];

  it('keeps serving on local state and PostgreSQL, reports it, and rebuilds Redis when it returns', async () => {
    await befriend(server, 1, 2);
    const watcher = await TestClient.connect(server, 2);
    await watcher.next('presence.snapshot');
    const t1 = await server.mintToken(1);
    expect((await api(server, 'POST', '/api/presence/heartbeat/', { token: t1 })).status).toBe(200);
    await watcher.next('presence.status', (m) => m.user_id === 1 && m.status === 'online');

    await redis.stop();
    const stopped = Date.now();
    const t3 = await server.mintToken(3);
    const beat = await api(server, 'POST', '/api/presence/heartbeat/', {
      token: t3,
      body: { status: 'away' },
    });
    expect(beat.status).toBe(200);
    const answeredAfter = Date.now() - stopped;
    expect(beat.body).toMatchObject({ user_id: 3, status: 'away' });
    const ready = await api(server, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ redis: 'down', database: 'up', degraded: true });
    expect((await api(server, 'GET', '/metrics')).body).toContain('presence_degraded 1');
    // The transition reached PostgreSQL although Redis is gone, and reads fall back to it.
    await expect.poll(() => stored(3), { timeout: 3_000 }).toMatchObject({ status: 'away' });
    expect((await api(server, 'GET', '/api/presence/status/1', { token: t1 })).body.status).toBe('online');
    expect(await stored(1)).toMatchObject({ status: 'online' });

    await redis.start();
    const back = Date.now();
    await expect
      .poll(async () => (await api(server, 'GET', '/readyz')).body.degraded, {
        timeout: 10_000,
        interval: 100,
      })
      .toBe(false);
    console.log(
      `fault: redis-stopped recovered in ${Date.now() - back} ms after Redis returned (empty) ` +
        `(the first heartbeat after the stop answered in ${answeredAfter} ms, in degraded mode)`,
    );
    expect((await api(server, 'GET', '/metrics')).body).toContain('presence_degraded 0');
    // What the process learned while degraded is in Redis now: the watcher (held by a socket) is online again,
    // and user 3's away survived.
    expect((await api(server, 'GET', '/api/presence/status/3', { token: t3 })).body.status).toBe('away');
    const t2 = await server.mintToken(2);
    expect((await api(server, 'GET', '/api/presence/status/2', { token: t2 })).body.status).toBe('online');
    await watcher.close();
  });

  it('answers /readyz with 503 while PostgreSQL refuses connections, and 200 once it is back', async () => {
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    const name = new URL(database.url).pathname.slice(1);
    try {
      await admin.query(`alter database ${name} allow_connections false`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
      const down = await api(server, 'GET', '/readyz');
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ database: 'down' });
      expect((await api(server, 'GET', '/healthz')).status).toBe(200);
      // A user seen for the first time and a graph write need the database: 503 unavailable, never 500.
      const firstSight = await api(server, 'POST', '/api/presence/heartbeat/', {
        token: await server.mintToken(777),
      });
      expect(firstSight.status).toBe(503);
      expect(firstSight.body.error.code).toBe('unavailable');
      const write = await api(server, 'PUT', '/api/graph/users/778', { token: SERVICE_KEY, body: {} });
      expect(write.status).toBe(503);
      expect(write.body.error.code).toBe('unavailable');
    } finally {
      await admin.query(`alter database ${name} allow_connections true`);
      await admin.end();
    }
    await expect.poll(async () => (await api(server, 'GET', '/readyz')).status, { timeout: 5_000 }).toBe(200);
  });
});
