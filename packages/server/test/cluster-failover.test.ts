import { Cluster as ClusterClient } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import type { Transition } from '../src/core/types.js';
import { type RedisCluster, startRedisCluster } from './support/redis-cluster.js';
import { api, befriend, Cluster, TestClient } from './support/server.js';
import { hasPostgres, redisClusterNodes } from './support/services.js';

// The run's cluster exists only where this machine can start one; this suite starts its own, with replicas.
const available = (await hasPostgres()) && redisClusterNodes() !== null;

const timing = {
  presenceTimeoutMs: 1_500,
  heartbeatMinIntervalMs: 300,
  disconnectGraceMs: 200,
  typingTtlMs: 500,
  presenceTtlS: 30,
};

describe.skipIf(!available)('a Redis Cluster master dies and its replica takes over', () => {
  let redis: RedisCluster;
  let servers: Cluster;
  let a: RunningServer;
  let db: pg.Client;
  const clients: TestClient[] = [];
  const transitions: Transition[] = [];

  beforeAll(async () => {
    redis = await startRedisCluster({ masters: 3, replicas: 1 });
    servers = new Cluster(redis.nodes);
    a = await servers.start(timing);
    a.service.events.on('transition', (t) => transitions.push(t));
    db = new pg.Client({ connectionString: await servers.databaseUrl() });
    await db.connect();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await db?.end();
    await servers?.stop();
    await redis?.stop();
  });

  const stored = async (userId: number) =>
    (await db.query('select status, v from user_presence where user_id = $1', [userId])).rows[0] as
      | { status: string; v: string }
      | undefined;
  const readiness = async () => (await api(a, 'GET', '/readyz')).body as { redis: string; degraded: boolean };
  /** The master serving a user's shard (`{user id mod 64}`). */
  const masterOf = async (userId: number) => {
    const probe = new ClusterClient([{ host: '127.0.0.1', port: redis.members[0]?.port ?? 0 }]);
    try {
      const slot = Number(await probe.cluster('KEYSLOT', `{${userId % 64}}`));
      const slots = await probe.cluster('SLOTS');
      const range = slots.find(([from, to]) => slot >= from && slot <= to);
      return redis.members.find((m) => m.port === range?.[2]?.[1]);
    } finally {
      probe.disconnect();
    }
  };

  it('keeps serving, writes every transition through, and is whole after the failover with no ghosts', async () => {
    await befriend(a, 1, 2);
    await befriend(a, 2, 65);
    const watcher = await TestClient.connect(a, 2);
    clients.push(watcher);
    /** Every frame about users 1 and 65, in arrival order (next() takes frames out of `received`). */
    const seen: Array<{ user_id: number; status: string; v: number }> = [];
    watcher.socket.on('message', (data) => {
      const m = JSON.parse(String(data));
      if (m.type === 'presence.status' && (m.user_id === 1 || m.user_id === 65)) seen.push(m);
    });
    await watcher.next('presence.snapshot');
    const one = await a.mintToken(1);
    await api(a, 'POST', '/api/presence/heartbeat/', { token: one });
    await watcher.next('presence.status', (m) => m.user_id === 1 && m.status === 'online');

    const victim = await masterOf(1);
    expect(victim).toBeDefined();
    victim?.process.kill('SIGKILL');

    // User 65 shares user 1's shard (65 mod 64): its keys are on the dead master. Its heartbeat is answered
    // all the same (from the local stand-in while the master is away) and its change is announced.
    const beat = await api(a, 'POST', '/api/presence/heartbeat/', { token: await a.mintToken(65) });
    expect(beat.status).toBe(200);
    expect(beat.body.status).toBe('online');
    await watcher.next('presence.status', (m) => m.user_id === 65 && m.status === 'online');

    // The replica takes over; the process leaves degraded mode and serves from the cluster again.
    await expect
      .poll(readiness, { timeout: 20_000, interval: 200 })
      .toMatchObject({ redis: 'up', degraded: false });
    const again = await api(a, 'POST', '/api/presence/heartbeat/', { token: one });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('online');

    // No ghosts: both silent heartbeaters time out (user 1 after its heartbeat on the new master).
    await watcher.next(
      'presence.status',
      (m) => m.user_id === 1 && m.status === 'offline' && m.v > again.body.v,
      10_000,
    );
    await expect
      .poll(() => seen.some((m) => m.user_id === 65 && m.status === 'offline'), { timeout: 10_000 })
      .toBe(true);
    // Barrier: the watcher's own change comes after anything announced before it.
    watcher.send({ type: 'presence.status.set', status: 'away' });
    await watcher.next('presence.status', (m) => m.user_id === 2 && m.status === 'away');
    for (const userId of [1, 65]) {
      // What a client keeps (the largest v) is offline, and PostgreSQL holds that very version: the last
      // transition was written through, none after it is missing.
      const latest = seen.filter((m) => m.user_id === userId).sort((x, y) => y.v - x.v)[0];
      expect(latest?.status, `user ${userId}`).toBe('offline');
      await expect
        .poll(() => stored(userId), { timeout: 5_000 })
        .toEqual({ status: 'offline', v: String(latest?.v) });
      // Each offline was decided once: no two offline decisions in a row. The restore after the outage
      // announces again, with the same v, what the stand-in decided (other processes missed it): one decision.
      const decided = [
        ...new Map(transitions.filter((t) => t.userId === userId).map((t) => [t.v, t])).values(),
      ];
      const statuses = decided.map((t) => t.status);
      expect(statuses.filter((st, i) => st === 'offline' && statuses[i - 1] === 'offline')).toEqual([]);
    }
  }, 60_000);
});
