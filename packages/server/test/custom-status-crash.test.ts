import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import type { Transition } from '../src/core/types.js';
import { type ChildServer, spawnServer } from './support/processes.js';
import { AUTH_SECRET, api, befriend, Cluster, SERVICE_KEY, TestClient } from './support/server.js';
import { hasPostgres, hasRedis, redisClusterNodes } from './support/services.js';

/**
 * Contract section 14, crash-safe expiry: the process that set a custom status may be gone when it expires
 * (killed, or shut down with the expiry still in its wheel); another process announces it, once, on time.
 */

const postgres = await hasPostgres();
const nodes = redisClusterNodes();
const targets = [
  { name: 'one Redis', available: postgres && (await hasRedis()), nodes: null },
  { name: 'a Redis Cluster', available: postgres && nodes !== null, nodes },
];

/** The sweep runs every PRESENCE_TIMEOUT_MS / 4 (375 ms here). */
const timing = { presenceTimeoutMs: 1_500, heartbeatMinIntervalMs: 300, disconnectGraceMs: 200 };
const EXPIRES_IN_MS = 1_500;

for (const target of targets)
  describe.skipIf(!target.available)(
    `custom status expiry on ${target.name} when its process is gone`,
    () => {
      const cluster = new Cluster(target.nodes);
      let survivor: RunningServer;
      let doomed: ChildServer;
      const transitions: Transition[] = [];
      const clients: TestClient[] = [];

      beforeAll(async () => {
        survivor = await cluster.start(timing);
        survivor.service.events.on('transition', (t) => transitions.push(t));
        doomed = await spawnServer({
          DATABASE_URL: await cluster.databaseUrl(),
          ...cluster.redisEnv,
          AUTH_SECRET,
          SERVICE_KEY,
          PRESENCE_TIMEOUT_MS: String(timing.presenceTimeoutMs),
          HEARTBEAT_MIN_INTERVAL_MS: String(timing.heartbeatMinIntervalMs),
          DISCONNECT_GRACE_MS: String(timing.disconnectGraceMs),
        });
      });
      afterAll(async () => {
        await doomed.crash();
        await Promise.all(clients.map((c) => c.close()));
        await cluster.stop();
      });

      const watch = async (userId: number) => {
        const client = await TestClient.connect(survivor, userId);
        clients.push(client);
        await client.next('presence.snapshot');
        return client;
      };

      /** Sets a custom status on `server` for `userId`; answers the presence with it. */
      const setOn = async (server: Pick<RunningServer, 'httpUrl' | 'mintToken'>, userId: number) => {
        const token = await server.mintToken(userId);
        const expires_at = new Date(Date.now() + EXPIRES_IN_MS).toISOString();
        const answer = await api(server, 'PUT', '/api/presence/custom-status', {
          token,
          body: { text: 'Back soon', emoji: '⏳', expires_at },
        });
        expect(answer.status).toBe(200);
        return answer.body;
      };

      it('is announced by a survivor when the process that set it was killed (SIGKILL)', async () => {
        await befriend(survivor, 301, 302);
        const watcher = await watch(302);
        const set = await setOn(doomed, 301);
        await watcher.next('presence.status', (m) => m.user_id === 301 && m.custom !== null);
        await doomed.crash();
        const expired = await watcher.next(
          'presence.status',
          (m) => m.user_id === 301 && m.custom === null,
          6_000,
        );
        const late = Date.now() - Date.parse(set.custom.expires_at);
        expect(late).toBeGreaterThanOrEqual(0);
        // Within one sweep (and the scheduling around it) of the expiry.
        expect(late).toBeLessThan(1_500);
        expect(expired.v).toBeGreaterThan(set.v);
        expect(
          transitions.filter((t) => t.userId === 301 && t.custom === null && t.v === expired.v),
        ).toHaveLength(1);
        const token = await survivor.mintToken(302);
        expect((await api(survivor, 'GET', '/api/presence/status/301', { token })).body).toMatchObject({
          custom: null,
          v: expired.v,
        });
      });

      it('is announced once by the other process when the one that set it shut down with it in its wheel', async () => {
        const other = await cluster.start(timing);
        const seen: Transition[] = [];
        other.service.events.on('transition', (t) => seen.push(t));
        await befriend(survivor, 311, 312);
        const watcher = await watch(312);
        await setOn(other, 311);
        await watcher.next('presence.status', (m) => m.user_id === 311 && m.custom !== null);
        await other.close();
        const expired = await watcher.next(
          'presence.status',
          (m) => m.user_id === 311 && m.custom === null,
          6_000,
        );
        expect(transitions.filter((t) => t.userId === 311 && t.custom === null)).toHaveLength(1);
        expect(seen.filter((t) => t.userId === 311 && t.custom === null)).toHaveLength(0);
        // Barrier: the survivor's sweeps ran past it; a second announcement would have come before this one.
        await Promise.all([survivor.service.sweep(), survivor.service.sweep()]);
        watcher.send({ type: 'presence.status.set', status: 'away' });
        await watcher.next('presence.status', (m) => m.user_id === 312 && m.status === 'away');
        expect(watcher.received.filter((m) => m.type === 'presence.status' && m.user_id === 311)).toEqual([]);
        expect(expired.custom).toBeNull();
      });
    },
  );
