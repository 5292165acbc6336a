import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { startServer } from '../src/app.js';
import { canRunOwnPostgres, OwnPostgres } from './support/own-postgres.js';
import {
  AUTH_SECRET,
  api,
  befriend,
  SERVICE_KEY,
  sendUdp,
  TestClient,
  tryUpgrade,
} from './support/server.js';
import { hasRedis, REDIS_URL, testPrefix } from './support/services.js';

const available = (await hasRedis()) && (await canRunOwnPostgres());

describe.skipIf(!available)('PostgreSQL stopped and started again', () => {
  let postgres: OwnPostgres;
  let server: RunningServer;
  const prefix = testPrefix();

  beforeAll(async () => {
    postgres = await OwnPostgres.create();
    server = await startServer({
      port: 0,
      udpPort: 0,
      logLevel: 'silent',
      databaseUrl: postgres.url,
      redisUrl: REDIS_URL,
      redisKeyPrefix: prefix,
      authSecret: AUTH_SECRET,
      serviceKey: SERVICE_KEY,
      presenceTimeoutMs: 20_000,
      heartbeatMinIntervalMs: 100,
      disconnectGraceMs: 200,
    });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await postgres?.destroy();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  /** What PostgreSQL holds for the users, on a connection of its own (the server's die with each stop). */
  const stored = async (ids: number[]) => {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query(
        'select user_id::int as id, status, last_seen from user_presence where user_id = any($1) order by user_id',
        [ids],
      );
      return Object.fromEntries(
        rows.map((r) => [r.id, { status: r.status, last_seen: r.last_seen?.toISOString() ?? null }]),
      );
    } finally {
      await client.end();
    }
  };
  const heartbeat = async (userId: number, status?: string) =>
    api(server, 'POST', '/api/presence/heartbeat/', {
      token: await server.mintToken(userId),
      ...(status === undefined ? {} : { body: { status } }),
    });

  it('answers 503 for what needs it, keeps presence flowing, and writes the outage transitions once back', async () => {
    for (const friend of [2, 3, 4]) await befriend(server, 1, friend);
    const watcher = await TestClient.connect(server, 1);
    await watcher.next('presence.snapshot');
    expect((await heartbeat(2)).status).toBe(200);
    await watcher.next('presence.status', (m) => m.user_id === 2 && m.status === 'online');
    const leaving = await TestClient.connect(server, 3);
    await leaving.next('presence.snapshot');
    await watcher.next('presence.status', (m) => m.user_id === 3 && m.status === 'online');
    await expect
      .poll(() => stored([2, 3]), { timeout: 5_000 })
      .toMatchObject({ 2: { status: 'online' }, 3: { status: 'online' } });

    await postgres.stop();

    // What needs PostgreSQL is refused with the documented 503, never a 500.
    const firstSight = await heartbeat(900);
    expect(firstSight.status).toBe(503);
    expect(firstSight.body.error.code).toBe('unavailable');
    expect(firstSight.headers.get('retry-after')).toBe('5');
    const graphWrite = await api(server, 'PUT', '/api/graph/follows/1/901', {
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    });
    expect(graphWrite.status).toBe(503);
    expect(graphWrite.body.error.code).toBe('unavailable');
    expect((await api(server, 'GET', '/readyz')).status).toBe(503);
    // The same for a first-seen user's WebSocket: refused at the upgrade, not opened and then cut with 1011.
    const socket = await tryUpgrade(`${server.wsUrl}?token=${await server.mintToken(903)}`);
    expect(socket).toMatchObject({
      opened: false,
      status: 503,
      retryAfter: '5',
      body: { error: { code: 'unavailable' } },
    });

    // Live presence of known users keeps reaching watchers over the socket: an HTTP flip, a closed socket, a
    // UDP heartbeat (and a first-sight user over UDP, which waits for no database work).
    const away = await heartbeat(2, 'away');
    expect(away.status).toBe(200);
    const awayFrame = await watcher.next('presence.status', (m) => m.user_id === 2 && m.status === 'away');
    await leaving.close();
    const offlineFrame = await watcher.next(
      'presence.status',
      (m) => m.user_id === 3 && m.status === 'offline',
    );
    const now = Math.floor(Date.now() / 1000);
    const udp = await sendUdp(server, [
      { user_id: 4, token: await server.mintToken(4), timestamp: now },
      { user_id: 902, token: await server.mintToken(902), timestamp: now },
    ]);
    expect(udp).toEqual([
      ['accepted', 'none'],
      ['accepted', 'none'],
    ]);
    // User 4 had no transition since this process started: who sees them is not cached, and PostgreSQL,
    // which holds the graph, is down. The watcher still hears of it.
    const onlineFrame = await watcher.next(
      'presence.status',
      (m) => m.user_id === 4 && m.status === 'online',
    );

    await postgres.start();
    const back = Date.now();
    // The transitions made during the outage reach PostgreSQL by themselves, with the times watchers saw.
    await expect
      .poll(() => stored([2, 3, 4, 902]), { timeout: 10_000, interval: 50 })
      .toEqual({
        2: { status: 'away', last_seen: awayFrame.last_seen },
        3: { status: 'offline', last_seen: offlineFrame.last_seen },
        4: { status: 'online', last_seen: onlineFrame.last_seen },
        902: { status: 'online', last_seen: expect.any(String) },
      });
    const caughtUp = Date.now() - back;
    await expect.poll(async () => (await heartbeat(900)).status, { timeout: 10_000, interval: 50 }).toBe(200);
    const serving = Date.now() - back;
    console.log(
      `fault: postgres-stopped recovered in ${Math.max(caughtUp, serving)} ms ` +
        `(outage transitions written ${caughtUp} ms, first-sight users served ${serving} ms after PostgreSQL was back)`,
    );
    expect((await api(server, 'GET', '/readyz')).status).toBe(200);

    // No re-announcement when PostgreSQL returns: after a barrier (a change that must come later on the same
    // socket), the watcher has nothing more about users 2 to 4.
    expect((await heartbeat(2, 'online')).status).toBe(200);
    await watcher.next('presence.status', (m) => m.user_id === 2 && m.status === 'online');
    expect(
      watcher.received.filter((m) => m.type === 'presence.status' && [2, 3, 4].includes(m.user_id)),
    ).toEqual([]);
    await watcher.close();
  });
});
