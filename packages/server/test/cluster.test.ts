import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import type { Transition } from '../src/core/types.js';
import { type ChildServer, spawnServer } from './support/processes.js';
import {
  AUTH_SECRET,
  api,
  befriend,
  Cluster,
  graph,
  SERVICE_KEY,
  sendUdp,
  TestClient,
} from './support/server.js';
import { hasPostgres, hasRedis, redisClusterNodes } from './support/services.js';

const postgres = await hasPostgres();
const nodes = redisClusterNodes();
/** The same suite on one Redis and on the run's 3-master Redis Cluster (cluster layout, sharded bus). */
const targets = [
  { name: 'one Redis', available: postgres && (await hasRedis()), nodes: null },
  { name: 'a Redis Cluster', available: postgres && nodes !== null, nodes },
];

const timing = {
  presenceTimeoutMs: 1_500,
  heartbeatMinIntervalMs: 300,
  disconnectGraceMs: 200,
  typingTtlMs: 500,
  presenceTtlS: 30,
};

for (const target of targets)
  describe.skipIf(!target.available)(`several processes on ${target.name} and one PostgreSQL`, () => {
    const cluster = new Cluster(target.nodes);
    let a: RunningServer;
    let b: RunningServer;
    let db: pg.Client;
    const clients: TestClient[] = [];
    const transitions: Array<Transition & { on: string }> = [];

    beforeAll(async () => {
      // Both start at once on a fresh database: the migrations' advisory lock must keep them from colliding.
      [a, b] = await Promise.all([cluster.start(timing), cluster.start(timing)]);
      for (const [name, server] of [
        ['a', a],
        ['b', b],
      ] as const) {
        server.service.events.on('transition', (t) => transitions.push({ ...t, on: name }));
      }
      db = new pg.Client({ connectionString: await cluster.databaseUrl() });
      await db.connect();
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await db.end();
      await cluster.stop();
    });

    const connect = async (server: Pick<RunningServer, 'wsUrl' | 'mintToken'>, userId: number) => {
      const client = await TestClient.connect(server, userId);
      clients.push(client);
      await client.next('presence.snapshot');
      return client;
    };
    const storedPresence = async (userId: number) =>
      (await db.query('select status, last_seen from user_presence where user_id = $1', [userId])).rows[0];

    it('delivers a heartbeat received by one process to a client of the other', async () => {
      await befriend(a, 1, 2);
      const friend = await connect(b, 2);
      const token = await a.mintToken(1);
      await sendUdp(a, [{ user_id: 1, token, timestamp: Math.floor(Date.now() / 1000) }]);
      expect(await friend.next('presence.status', (m) => m.user_id === 1)).toMatchObject({
        status: 'online',
      });
      // Both processes read the same state.
      expect((await api(b, 'GET', '/api/presence/status/1', { token })).body.status).toBe('online');
    });

    it('delivers typing on one process to a participant on the other, and graph changes apply everywhere', async () => {
      await graph(b, 'PUT', 'conversations/30', { participant_ids: [3, 4] });
      const typist = await connect(a, 3);
      const reader = await connect(b, 4);
      typist.send({ type: 'presence.typing.start', conversation_id: 30 });
      expect(await reader.next('presence.typing')).toEqual({
        type: 'presence.typing',
        user_id: 3,
        conversation_id: 30,
        is_typing: true,
      });
      expect(await reader.next('presence.typing', (m) => !m.is_typing, 3_000)).toMatchObject({ user_id: 3 });
      // Removed from the conversation on process b: process a refuses the next start at once.
      await graph(b, 'PUT', 'conversations/30', { participant_ids: [4] });
      typist.send({ type: 'presence.typing.start', conversation_id: 30 });
      expect((await typist.next('error')).code).toBe('forbidden');
    });

    it('writes transitions through to PostgreSQL, and not every heartbeat', async () => {
      const token = await a.mintToken(5);
      const first = await api(a, 'POST', '/api/presence/heartbeat/', { token });
      await expect.poll(() => storedPresence(5), { timeout: 2_000 }).toMatchObject({ status: 'online' });
      expect((await storedPresence(5)).last_seen.toISOString()).toBe(first.body.last_seen);
      // An unchanged heartbeat after the interval moves last_seen in Redis only (the bulk sync writes it later).
      await new Promise<void>((resolve) => setTimeout(resolve, timing.heartbeatMinIntervalMs + 20));
      const second = await api(b, 'POST', '/api/presence/heartbeat/', { token });
      expect(second.status).toBe(200);
      expect((await api(a, 'GET', '/api/presence/status/5', { token })).body.last_seen).toBe(
        second.body.last_seen,
      );
      expect((await storedPresence(5)).last_seen.toISOString()).toBe(first.body.last_seen);
      // The sync job writes it in bulk.
      await a.service.syncToDatabase();
      expect((await storedPresence(5)).last_seen.toISOString()).toBe(second.body.last_seen);
    });

    it('times out a silent user with last_seen at the last heartbeat, announced by exactly one process', async () => {
      await befriend(a, 6, 7);
      await befriend(a, 7, 11);
      const watcher = await connect(b, 7);
      const token = await a.mintToken(6);
      const beat = await api(a, 'POST', '/api/presence/heartbeat/', { token });
      await watcher.next('presence.status', (m) => m.user_id === 6 && m.status === 'online');
      const offline = await watcher.next(
        'presence.status',
        (m) => m.user_id === 6 && m.status === 'offline',
        5_000,
      );
      expect(offline.last_seen).toBe(beat.body.last_seen);
      await expect.poll(() => storedPresence(6), { timeout: 2_000 }).toMatchObject({ status: 'offline' });
      // Both processes run the crash-safe sweep now: a second announcement it would make comes before the barrier.
      await Promise.all([a.service.sweep(), b.service.sweep()]);
      // Barrier on both processes: a transition announced by each reaches the watcher after anything either of
      // them announced before (a's through Redis pub/sub, b's locally).
      watcher.send({ type: 'presence.status.set', status: 'away' });
      await api(a, 'POST', '/api/presence/heartbeat/', { token: await a.mintToken(11) });
      await Promise.all([
        watcher.next('presence.status', (m) => m.user_id === 7 && m.status === 'away'),
        watcher.next('presence.status', (m) => m.user_id === 11 && m.status === 'online'),
      ]);
      expect(transitions.filter((t) => t.userId === 6 && t.status === 'offline')).toHaveLength(1);
      expect(watcher.received.filter((m) => m.type === 'presence.status' && m.user_id === 6)).toEqual([]);
    });

    describe('when a process dies', () => {
      let doomed: ChildServer;
      beforeAll(async () => {
        doomed = await spawnServer({
          DATABASE_URL: await cluster.databaseUrl(),
          ...cluster.redisEnv,
          AUTH_SECRET,
          SERVICE_KEY,
          PRESENCE_TIMEOUT_MS: String(timing.presenceTimeoutMs),
          HEARTBEAT_MIN_INTERVAL_MS: String(timing.heartbeatMinIntervalMs),
          DISCONNECT_GRACE_MS: String(timing.disconnectGraceMs),
          PRESENCE_TTL_S: String(timing.presenceTtlS),
        });
      });
      afterAll(() => doomed.crash());

      it('takes its users offline on the survivors within the timeout plus one sweep, announced once', async () => {
        await befriend(a, 8, 9);
        await befriend(a, 8, 10);
        const onA = await connect(a, 9);
        const onB = await connect(b, 10);
        const victim = await TestClient.connect(doomed, 8);
        clients.push(victim);
        await victim.next('presence.snapshot');
        await onA.next('presence.status', (m) => m.user_id === 8 && m.status === 'online');
        await onB.next('presence.status', (m) => m.user_id === 8 && m.status === 'online');
        const crashedAt = Date.now();
        await doomed.crash();
        const [seenOnA, seenOnB] = await Promise.all([
          onA.next('presence.status', (m) => m.user_id === 8 && m.status === 'offline', 6_000),
          onB.next('presence.status', (m) => m.user_id === 8 && m.status === 'offline', 6_000),
        ]);
        const took = Date.now() - crashedAt;
        expect(took).toBeLessThan(timing.presenceTimeoutMs * 2 + 1_000);
        expect(seenOnA).toEqual(seenOnB);
        // last_seen is the last sign of life before the crash, not the moment the survivors noticed.
        expect(Date.parse(seenOnA.last_seen as string)).toBeLessThanOrEqual(crashedAt);
        expect(transitions.filter((t) => t.userId === 8 && t.status === 'offline')).toHaveLength(1);
        // The durable record agrees with what watchers saw: offline, with the same last_seen.
        await expect
          .poll(() => storedPresence(8), { timeout: 3_000, interval: 50 })
          .toMatchObject({ status: 'offline' });
        expect((await storedPresence(8)).last_seen.toISOString()).toBe(seenOnA.last_seen);
        const durable = Date.now() - crashedAt;
        console.log(
          `fault: process-sigkill (${target.name}) recovered in ${durable} ms (watchers saw offline after ` +
            `${took} ms, PostgreSQL held it after ${durable} ms; PRESENCE_TIMEOUT_MS ${timing.presenceTimeoutMs})`,
        );
      });
    });
  });
