import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { request } from 'node:http';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type ChildServer, spawnCli, spawnServer } from './support/processes.js';
import { AUTH_SECRET, api, graph, SERVICE_KEY, TestClient } from './support/server.js';
import {
  createTestDatabase,
  hasPostgres,
  hasRedis,
  PG_ADMIN_URL,
  REDIS_URL,
  type TestDatabase,
  testPrefix,
} from './support/services.js';

/**
 * WORKERS (contract section 17): a primary forks workers that share PORT and UDP_PORT. Real processes: the CLI
 * from source, a worker killed with SIGKILL.
 */

const timing = {
  PRESENCE_TIMEOUT_MS: '1500',
  HEARTBEAT_MIN_INTERVAL_MS: '300',
  DISCONNECT_GRACE_MS: '200',
  PRESENCE_TTL_S: '30',
};

/** A GET on a connection of its own, so that successive requests are spread over the workers. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The value of one sample in Prometheus text (`name` with its labels exactly as printed), or undefined. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('WORKERS without shared state', () => {
  const refusal = async (env: Record<string, string>) => {
    const child = spawnCli({ DATA_DIR: 'memory://', ...env });
    // A start that is not refused must not outlive the test.
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const [code] = await once(child, 'exit');
    return { code, stderr };
  };

  it('refuses to start more than one worker on the embedded default, naming what to set', async () => {
    const { code, stderr } = await refusal({ WORKERS: '2' });
    expect(code).toBe(78);
    expect(stderr).toContain('Invalid WORKERS ("2")');
    expect(stderr).toContain('REDIS_URL and DATABASE_URL');
  });

  it('refuses with Redis but the embedded database', async () => {
    const { code, stderr } = await refusal({ WORKERS: '3', REDIS_URL, AUTH_SECRET });
    expect(code).toBe(78);
    expect(stderr).toMatch(/Invalid WORKERS \("3"\): .*set DATABASE_URL, or WORKERS=1/);
  });
});

const available = (await hasRedis()) && (await hasPostgres());

describe.skipIf(!available)('WORKERS=2 when a worker cannot start', () => {
  it('stops the whole start with exit code 1, saying which worker and why', async () => {
    const child = spawnCli({
      WORKERS: '2',
      DATABASE_URL: `${PG_ADMIN_URL.replace(/\/[^/]*$/, '')}/presence_no_such_database`,
      REDIS_URL,
      REDIS_KEY_PREFIX: testPrefix(),
      AUTH_SECRET,
    });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(stderr).toContain('presence_no_such_database');
    expect(stderr).toMatch(/worker \d exited \(code 1\) before it was ready/);
  }, 60_000);
});

describe.skipIf(!available)('WORKERS=2 on one Redis and one PostgreSQL', () => {
  let database: TestDatabase;
  let server: ChildServer;
  let db: pg.Client;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await spawnServer(
      {
        WORKERS: '2',
        DATABASE_URL: database.url,
        REDIS_URL,
        REDIS_KEY_PREFIX: testPrefix(),
        AUTH_SECRET,
        SERVICE_KEY,
        ...timing,
      },
      { startTimeoutMs: 60_000 },
    );
    db = new pg.Client({ connectionString: database.url });
    await db.connect();
  }, 70_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.crash();
    await db?.end();
    await database?.drop();
  });

  const connect = async (userId: number) => {
    const client = await TestClient.connect(server, userId);
    clients.push(client);
    return { client, snapshot: await client.next('presence.snapshot') };
  };

  it('answers /healthz from either worker, naming it', async () => {
    const workers = new Set<number>();
    // Each request on a connection of its own: the primary hands connections to the workers in turn.
    for (let i = 0; i < 6 && workers.size < 2; i++) {
      const health = JSON.parse((await get(`${server.httpUrl}/healthz`)).body);
      expect(health).toMatchObject({ status: 'ok', worker: expect.any(Number), pid: expect.any(Number) });
      workers.add(health.worker);
    }
    expect(workers.size).toBe(2);
  });

  it('sums /metrics over the workers, and counts shared state once', async () => {
    const users = [1, 2, 3, 4];
    for (const userId of users) await connect(userId);
    const token = await server.mintToken(5);
    expect((await api(server, 'POST', '/api/presence/heartbeat/', { token })).status).toBe(200);
    // Any worker answers with the same sums.
    for (let i = 0; i < 2; i++) {
      const text = (await get(`${server.httpUrl}/metrics`)).body;
      expect(sample(text, 'presence_workers')).toBe(2);
      // Sockets are spread over both workers; each counts its own.
      expect(sample(text, 'presence_ws_connections')).toBe(users.length);
      // Both read the one online set in Redis: not counted twice.
      expect(sample(text, 'presence_online_users')).toBe(users.length + 1);
      expect(sample(text, 'presence_http_heartbeats_total{result="accepted"}')).toBe(1);
    }
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it('takes UDP heartbeats on the shared port, and a watcher on either worker hears of them', async () => {
    await graph(server, 'PUT', 'conversations/2', { participant_ids: [31, 32, 33, 34] });
    const watchers = await Promise.all([31, 32, 33].map(async (userId) => (await connect(userId)).client));
    const token = await server.mintToken(34);
    const socket = createSocket('udp4');
    const packet = JSON.stringify({ user_id: 34, token, timestamp: Math.floor(Date.now() / 1000) });
    await new Promise<void>((resolve, reject) =>
      socket.send(packet, server.udpPort, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
    );
    socket.close();
    for (const watcher of watchers) {
      await watcher.next('presence.status', (m) => m.user_id === 34 && m.status === 'online');
    }
    const text = (await get(`${server.httpUrl}/metrics`)).body;
    expect(sample(text, 'presence_udp_packets_total{result="accepted",reason="none"}')).toBe(1);
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it('replaces a killed worker; its users go offline once, on time, seen by watchers on the other', async () => {
    const victims = [11, 12, 13, 14, 15, 16];
    const watchers = [101, 102, 103, 104, 105, 106];
    await graph(server, 'PUT', 'conversations/1', { participant_ids: [...victims, ...watchers, 200] });
    const sockets = new Map<number, TestClient>();
    for (const userId of victims) sockets.set(userId, (await connect(userId)).client);
    for (const userId of watchers) {
      const { client, snapshot } = await connect(userId);
      sockets.set(userId, client);
      const online = snapshot.users.filter((u) => u.status === 'online').map((u) => u.user_id);
      expect(online).toEqual(expect.arrayContaining(victims));
    }

    // When each offline frame arrives (the test waits for the replacement first, which takes its own time).
    const arrivals = new Map<string, number>();
    for (const userId of watchers) {
      sockets.get(userId)?.socket.on('message', (data) => {
        const message = JSON.parse(String(data));
        if (message.type === 'presence.status' && message.status === 'offline')
          arrivals.set(`${userId}:${message.user_id}`, Date.now());
      });
    }
    const doomed = JSON.parse((await get(`${server.httpUrl}/healthz`)).body) as {
      worker: number;
      pid: number;
    };
    const killedAt = Date.now();
    process.kill(doomed.pid, 'SIGKILL');
    await server.waitForLine(`worker ${doomed.worker} died; starting a replacement`);
    // The replacement is the third worker forked.
    await server.waitForLine('worker 3 ready', 60_000);

    // The killed worker's sockets were closed by its death; the others stay open.
    const everyone = [...victims, ...watchers];
    const deadUsers = everyone.filter((id) => sockets.get(id)?.closeCode !== null);
    const liveUsers = everyone.filter((id) => sockets.get(id)?.closeCode === null);
    const liveWatchers = watchers.filter((id) => liveUsers.includes(id));
    expect(deadUsers.length).toBeGreaterThan(0);
    expect(liveWatchers.length).toBeGreaterThan(0);

    for (const watcherId of liveWatchers) {
      const watcher = sockets.get(watcherId) as TestClient;
      const offline = await Promise.all(
        deadUsers.map((id) =>
          watcher.next('presence.status', (m) => m.user_id === id && m.status === 'offline', 8_000),
        ),
      );
      // last_seen is the last sign of life before the kill, not the moment a survivor noticed.
      for (const frame of offline)
        expect(Date.parse(frame.last_seen as string)).toBeLessThanOrEqual(killedAt);
    }
    // Within the timeout plus a sweep (and some slack for a loaded machine), not whenever.
    const latest = Math.max(
      ...liveWatchers.flatMap((w) =>
        deadUsers.map((u) => arrivals.get(`${w}:${u}`) ?? Number.POSITIVE_INFINITY),
      ),
    );
    expect(latest - killedAt).toBeLessThan(Number(timing.PRESENCE_TIMEOUT_MS) * 2 + 1_000);
    console.log(`fault: worker-sigkill recovered in ${latest - killedAt} ms`);

    // Barrier: a later transition reaches every live watcher after anything announced before it.
    const late = await server.mintToken(200);
    expect((await api(server, 'POST', '/api/presence/heartbeat/', { token: late })).status).toBe(200);
    for (const watcherId of liveWatchers) {
      const watcher = sockets.get(watcherId) as TestClient;
      await watcher.next('presence.status', (m) => m.user_id === 200 && m.status === 'online');
      // Each dead user's one offline was taken above: no second one, and none about a user whose worker lives.
      const offline = watcher.received.filter(
        (m) => m.type === 'presence.status' && m.status === 'offline' && everyone.includes(m.user_id),
      );
      expect(offline).toEqual([]);
    }
    // Written through to PostgreSQL too (the writer is asynchronous: wait for it).
    const stored = async () =>
      Object.fromEntries(
        (
          await db.query<{ user_id: number; status: string }>(
            'select user_id, status from user_presence where user_id = any($1)',
            [everyone],
          )
        ).rows.map((row) => [row.user_id, row.status]),
      );
    const expected = Object.fromEntries(
      everyone.map((id) => [id, deadUsers.includes(id) ? 'offline' : 'online']),
    );
    await expect.poll(stored, { timeout: 5_000 }).toEqual(expected);
    const text = (await get(`${server.httpUrl}/metrics`)).body;
    expect(sample(text, 'presence_workers')).toBe(2);
    expect(sample(text, 'presence_worker_restarts_total')).toBe(1);
  }, 90_000);
});
