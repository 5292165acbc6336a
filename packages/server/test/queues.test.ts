import { once } from 'node:events';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { startServer } from '../src/app.js';
import { TurnBatcher } from '../src/core/turn-batcher.js';
import { freePort, OwnRedis } from './support/processes.js';
import { AUTH_SECRET, api, befriend, SERVICE_KEY, sendUdp, TestClient } from './support/server.js';
import { createTestDatabase, hasPostgres, type TestDatabase } from './support/services.js';

/**
 * Bounded queues off the hot path (issue 10, item 2): when one is full the service sheds, counted per queue,
 * and loses nothing else. The queues are held full for real: Redis frozen with SIGSTOP, a PostgreSQL table
 * locked by another session.
 */

async function sample(server: RunningServer, name: string, labels: Record<string, string>) {
  const metric = await server.metrics.registry.getSingleMetric(name)?.get();
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}

const beat = (userId: number, token: string) => ({
  user_id: userId,
  token,
  timestamp: Math.floor(Date.now() / 1000),
});

describe('TurnBatcher as a bounded queue', () => {
  it('refuses past maxQueued while paused, then drains in batches of at most maxBatch, a turn each', async () => {
    const flushed: number[][] = [];
    const batcher = new TurnBatcher<number>((items) => flushed.push(items), { maxBatch: 2, maxQueued: 5 });
    batcher.pause();
    const taken = [1, 2, 3, 4, 5, 6, 7].map((n) => batcher.add(n));
    expect(taken).toEqual([true, true, true, true, true, false, false]);
    expect(batcher.size).toBe(5);
    batcher.resume();
    const turns: number[] = [];
    for (let turn = 0; turn < 3; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      turns.push(flushed.length);
    }
    expect(flushed).toEqual([[1, 2], [3, 4], [5]]);
    expect(turns).toEqual([1, 2, 3]);
  });
});

describe('the UDP ingest queue, while the hot store does not answer', () => {
  let redis: OwnRedis;
  let server: RunningServer;

  beforeAll(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
    server = await startServer({
      port: 0,
      udpPort: 0,
      logLevel: 'silent',
      dataDir: 'memory://',
      redisUrl: redis.url,
      authSecret: AUTH_SECRET,
      // Frozen Redis must hold the batch in flight, not put the process in degraded mode.
      redisCommandTimeoutMs: 60_000,
      queueLimits: { udpBatch: 1, udpInFlight: 1, udpQueued: 3 },
    });
  });
  afterAll(async () => {
    redis.thaw();
    await server.close();
    await redis.stop();
  });

  it('sheds what does not fit as overloaded, counted, and applies everything it kept', async () => {
    const users = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const tokens = new Map(
      await Promise.all(users.map(async (u) => [u, await server.mintToken(u)] as const)),
    );
    redis.freeze();
    // One batch in flight (stuck in Redis), three waiting: the other six are shed.
    const shed = await sendUdp(
      server,
      users.map((u) => beat(u, tokens.get(u) as string)),
      6,
    );
    expect(shed).toEqual(Array(6).fill(['dropped', 'overloaded']));
    expect(await sample(server, 'presence_queue_depth', { queue: 'udp' })).toBe(3);
    expect(await sample(server, 'presence_queue_shed_total', { queue: 'udp' })).toBe(6);

    const kept: number[] = [];
    const accepted = new Promise<void>((resolve) => {
      server.events.on('udp', (result, _reason, count) => {
        if (result === 'accepted') kept.push(count);
        if (kept.reduce((a, b) => a + b, 0) === 4) resolve();
      });
    });
    redis.thaw();
    await accepted;
    expect(await sample(server, 'presence_queue_depth', { queue: 'udp' })).toBe(0);
    expect(
      await sample(server, 'presence_udp_packets_total', { result: 'dropped', reason: 'overloaded' }),
    ).toBe(6);
    expect(await sample(server, 'presence_udp_packets_total', { result: 'accepted', reason: 'none' })).toBe(
      4,
    );
    const online = await server.service.presences(users);
    const onlineUsers = users.filter((u) => online.get(u)?.status === 'online');
    expect(onlineUsers).toHaveLength(4);

    // A shed heartbeat costs its sender nothing: the next one is taken (not rate limited as a repeat).
    // (One at a time: a burst would overflow this tiny queue again.)
    for (const u of users.filter((u) => !onlineUsers.includes(u))) {
      expect(await sendUdp(server, [beat(u, tokens.get(u) as string)])).toEqual([['accepted', 'none']]);
    }
    const after = await server.service.presences(users);
    expect(users.filter((u) => after.get(u)?.status === 'online')).toHaveLength(users.length);
  });
});

const postgres = await hasPostgres();

describe.skipIf(!postgres)('the write-through queue, while PostgreSQL does not answer', () => {
  let database: TestDatabase;
  let server: RunningServer;
  let locker: pg.Client;
  let db: pg.Client;
  const shedEvents: Array<[string, number]> = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startServer({
      port: 0,
      udpPort: 0,
      logLevel: 'silent',
      databaseUrl: database.url,
      authSecret: AUTH_SECRET,
      queueLimits: { writeQueued: 3 },
    });
    locker = new pg.Client({ connectionString: database.url });
    db = new pg.Client({ connectionString: database.url });
    await Promise.all([locker.connect(), db.connect()]);
  });
  afterEach(async () => {
    await locker.query('rollback').catch(() => {});
  });
  afterAll(async () => {
    await Promise.all([locker.end(), db.end()]);
    await server.close();
    await database.drop();
  });

  const stored = async (users: number[]) =>
    (
      await db.query<{ user_id: string; status: string }>(
        'select user_id, status from user_presence where user_id = any($1) order by user_id',
        [users],
      )
    ).rows.map((r) => Number(r.user_id));

  it('sheds transitions past its bound, counted; the hot state keeps them and the sync repairs the record', async () => {
    const users = [21, 22, 23, 24, 25, 26, 27, 28, 29, 30];
    // Users exist first, so the heartbeats below need nothing but the locked table.
    await server.service.ensureUsers(users);
    await locker.query('begin');
    await locker.query('lock table user_presence in access exclusive mode');
    const shedSeen = new Promise<void>((resolve) => {
      server.service.events.on('shed', (queue, count) => {
        shedEvents.push([queue, count]);
        if (shedEvents.reduce((sum, [, n]) => sum + n, 0) >= 6) resolve();
      });
    });
    // The first transition's write waits on the lock; three more wait behind it; six are shed.
    for (const userId of users) {
      const token = await server.mintToken(userId);
      expect((await api(server, 'POST', '/api/presence/heartbeat/', { token })).status).toBe(200);
    }
    await shedSeen;
    expect(shedEvents.every(([queue]) => queue === 'write_through')).toBe(true);
    expect(await sample(server, 'presence_queue_depth', { queue: 'write_through' })).toBe(3);
    expect(await sample(server, 'presence_queue_shed_total', { queue: 'write_through' })).toBe(6);

    const written = once(server.service.events, 'written');
    await locker.query('commit');
    await written;
    await expect.poll(() => stored(users), { timeout: 5_000 }).toHaveLength(4);
    expect(await sample(server, 'presence_queue_depth', { queue: 'write_through' })).toBe(0);
    // Nothing else is lost: every user is online in the hot state, and the periodic sync writes them all.
    const online = await server.service.presences(users);
    expect(users.filter((u) => online.get(u)?.status === 'online')).toEqual(users);
    await server.service.syncToDatabase();
    expect(await stored(users)).toEqual(users);
  });
});

describe.skipIf(!postgres)('the lookup queue, while PostgreSQL does not answer graph reads', () => {
  let database: TestDatabase;
  let server: RunningServer;
  let locker: pg.Client;
  let db: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startServer({
      port: 0,
      udpPort: 0,
      logLevel: 'silent',
      databaseUrl: database.url,
      authSecret: AUTH_SECRET,
      serviceKey: SERVICE_KEY,
      queueLimits: { lookupInFlight: 1, lookupQueued: 2 },
    });
    locker = new pg.Client({ connectionString: database.url });
    db = new pg.Client({ connectionString: database.url });
    await Promise.all([locker.connect(), db.connect()]);
  });
  afterAll(async () => {
    await locker.query('rollback').catch(() => {});
    await Promise.all([locker.end(), db.end()]);
    await server.close();
    await database.drop();
  });

  it('sheds graph lookups past their bound, counted, while transitions need none and all reach watchers', async () => {
    const users = [41, 42, 43, 44, 45, 46, 47, 48, 49, 50];
    const watcherId = 60;
    for (const userId of users) await befriend(server, userId, watcherId);
    const watcher = await TestClient.connect(server, watcherId);
    await watcher.next('presence.snapshot');
    const tokens = await Promise.all(users.map((userId) => server.mintToken(userId)));
    const shed = new Promise<number>((resolve) => {
      let total = 0;
      server.service.events.on('shed', (queue, count) => {
        if (queue === 'lookups') total += count;
        if (total >= 7) resolve(total);
      });
    });
    await locker.query('begin');
    await locker.query('lock table follows in access exclusive mode');
    // A transition needs no graph lookup (the watcher's list was loaded when it connected): every one of them
    // reaches the watcher while the graph cannot be read.
    for (const token of tokens)
      expect((await api(server, 'POST', '/api/presence/heartbeat/', { token })).status).toBe(200);
    for (const userId of users)
      await watcher.next('presence.status', (m) => m.user_id === userId && m.status === 'online');
    // Reads of the users' own lists need lookups: one waits on the lock, two wait behind it, seven are shed.
    const reads = tokens.map((token) => api(server, 'GET', '/api/presence/online-friends/', { token }));
    expect(await shed).toBe(7);
    expect(await sample(server, 'presence_queue_depth', { queue: 'lookups' })).toBe(2);
    expect(await sample(server, 'presence_queue_shed_total', { queue: 'lookups' })).toBe(7);
    await locker.query('commit');
    // A shed read is told to come back: 503 with Retry-After, not a 500. The three kept are answered.
    const answers = await Promise.all(reads);
    const refused = answers.filter((a) => a.status === 503);
    expect(refused).toHaveLength(7);
    for (const answer of refused) {
      expect(answer.body.error.code).toBe('unavailable');
      expect(answer.headers.get('retry-after')).toBe('1');
    }
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
    // Nothing else is lost: every transition was written through.
    const stored = async () =>
      (
        await db.query<{ n: string }>(
          "select count(*) as n from user_presence where user_id = any($1) and status = 'online'",
          [users],
        )
      ).rows[0]?.n;
    await expect.poll(stored, { timeout: 5_000 }).toBe(String(users.length));
    await watcher.close();
  });
});
