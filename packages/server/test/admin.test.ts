import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminSnapshot } from '../src/admin-snapshot.js';
import type { RunningServer } from '../src/app.js';
import { api, Cluster, SERVICE_KEY, sendUdp, startEmbedded, TestClient } from './support/server.js';
import { hasPostgres, hasRedis } from './support/services.js';

/** The fields docs/operations.md documents for one snapshot of /admin/stream. */
const SNAPSHOT_FIELDS = [
  'database',
  'degraded',
  'event_loop_lag_ms',
  'health_checked_at',
  'interval_s',
  'memory_bytes',
  'online_users',
  'rates',
  'redis',
  'time',
  'totals',
  'ws_connections',
];
const COUNTER_FIELDS = [
  'broadcasts',
  'http_accepted',
  'http_rate_limited',
  'transitions',
  'udp_accepted',
  'udp_dropped',
  'ws_closed',
];

/** A reader of /admin/stream that queues snapshots, so tests wait for the one they expect instead of sleeping. */
class SnapshotStream {
  readonly received: AdminSnapshot[] = [];
  preamble = '';
  private waiters: Array<{ match: (s: AdminSnapshot) => boolean; resolve: (s: AdminSnapshot) => void }> = [];
  readonly ended: Promise<void>;

  private constructor(
    readonly response: Response,
    private readonly abort: AbortController,
  ) {
    this.ended = this.read();
  }

  static async open(server: RunningServer, key?: string): Promise<SnapshotStream> {
    const headers: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
    const abort = new AbortController();
    const response = await fetch(`${server.httpUrl}/admin/stream`, { headers, signal: abort.signal });
    if (response.status !== 200) throw new Error(`stream answered ${response.status}`);
    return new SnapshotStream(response, abort);
  }

  private async read(): Promise<void> {
    const body = this.response.body;
    if (!body) return;
    let buffer = '';
    try {
      const reader = body.pipeThrough(new TextDecoderStream()).getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        buffer += chunk.value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!frame.startsWith('data: ')) {
            this.preamble += `${frame}\n`;
            continue;
          }
          const snapshot = JSON.parse(frame.slice('data: '.length)) as AdminSnapshot;
          this.received.push(snapshot);
          this.waiters = this.waiters.filter((w) => {
            if (!w.match(snapshot)) return true;
            w.resolve(snapshot);
            return false;
          });
        }
      }
    } catch {
      // Aborted by close(): the test is done with it.
    }
  }

  /** The first snapshot (already received or still to come) that matches; fails after `timeoutMs`. */
  next(match: (s: AdminSnapshot) => boolean = () => true, timeoutMs = 8_000): Promise<AdminSnapshot> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const last = JSON.stringify(this.received.at(-1));
        reject(new Error(`no matching snapshot within ${timeoutMs} ms; last: ${last}`));
      }, timeoutMs);
      this.waiters.push({
        match,
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
      });
    });
  }

  /** Snapshots from now on only. */
  after(snapshot: AdminSnapshot): (match: (s: AdminSnapshot) => boolean) => Promise<AdminSnapshot> {
    return (match) => this.next((s) => s.time > snapshot.time && match(s));
  }

  close(): void {
    this.abort.abort();
  }
}

async function metricsText(server: RunningServer): Promise<string> {
  return (await fetch(`${server.httpUrl}/metrics`)).text();
}

describe('operations stream on embedded defaults (demo mode, SERVICE_KEY set)', () => {
  let server: RunningServer;
  let stream: SnapshotStream;

  beforeAll(async () => {
    server = await startEmbedded();
    stream = await SnapshotStream.open(server, SERVICE_KEY);
  });
  afterAll(async () => {
    stream?.close();
    await server?.close();
  });

  it('sends a JSON snapshot a second with the documented fields', async () => {
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const first = await stream.next();
    expect(stream.preamble).toMatch(/^retry: \d+\n/);
    expect(Object.keys(first).sort()).toEqual(SNAPSHOT_FIELDS);
    expect(Object.keys(first.rates).sort()).toEqual(COUNTER_FIELDS);
    expect(Object.keys(first.totals).sort()).toEqual(COUNTER_FIELDS);
    expect(Object.keys(first.event_loop_lag_ms).sort()).toEqual(['max', 'p50', 'p99']);
    expect(first.memory_bytes.rss).toBeGreaterThan(0);
    expect(first).toMatchObject({ redis: 'not_configured', database: 'up', degraded: false });
    expect(first.health_checked_at).toBeTypeOf('number');

    const second = await stream.next((s) => s.time > first.time);
    expect(second.interval_s).toBeGreaterThan(0);
    expect(second.time - first.time).toBeGreaterThanOrEqual(500);
  });

  it('moves when load is applied: heartbeats, drops, online users, WebSockets, transitions', async () => {
    const base = await stream.next();
    const later = stream.after(base);
    const [a, b, c] = await Promise.all([901, 902, 903].map((id) => server.mintToken(id)));
    const now = Math.floor(Date.now() / 1000);
    const outcomes = await sendUdp(server, [
      { user_id: 901, token: a, timestamp: now },
      { user_id: 902, token: b, timestamp: now },
      { user_id: 903, token: c, timestamp: now },
      'not json',
      { user_id: 904, token: a, timestamp: now },
    ]);
    expect(outcomes.filter(([result]) => result === 'accepted')).toHaveLength(3);
    const http = await api(server, 'POST', '/api/presence/heartbeat/', {
      token: await server.mintToken(905),
    });
    expect(http.status).toBe(200);
    const socket = await TestClient.connect(server, 906);

    const moved = await later(
      (s) =>
        s.totals.udp_accepted >= base.totals.udp_accepted + 3 &&
        s.totals.http_accepted >= base.totals.http_accepted + 1 &&
        s.online_users >= base.online_users + 5 &&
        s.ws_connections === base.ws_connections + 1,
    );
    expect(moved.totals.udp_dropped.not_json).toBe((base.totals.udp_dropped.not_json ?? 0) + 1);
    expect(moved.totals.udp_dropped.user_mismatch).toBe((base.totals.udp_dropped.user_mismatch ?? 0) + 1);
    expect(moved.totals.transitions.online).toBeGreaterThanOrEqual((base.totals.transitions.online ?? 0) + 5);
    // The three accepted datagrams fall into some one-second window: that window's rate shows them.
    const rated = await later((s) => s.rates.udp_accepted > 0);
    expect(rated.rates.udp_accepted).toBeGreaterThanOrEqual(1);
    await later((s) => (s.rates.udp_dropped.not_json ?? 0) > 0);

    await socket.close();
    await later((s) => s.ws_connections === base.ws_connections);
  });

  it('answers 401 without the key and with a wrong one, in the error format', async () => {
    const missing = await api(server, 'GET', '/admin/stream');
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('unauthorized');
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await api(server, 'GET', '/admin/stream', { headers: { authorization: 'Bearer not-it' } });
    expect(wrong.status).toBe(401);
  });

  it('serves the API docs at /docs as HTML', async () => {
    for (const path of ['/docs', '/docs/']) {
      const response = await fetch(`${server.httpUrl}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toContain('swagger-ui');
    }
    const openapi = await api(server, 'GET', '/openapi.json');
    expect(Object.keys(openapi.body.paths)).toContain('/api/presence/heartbeat');
    expect(Object.keys(openapi.body.paths).filter((p) => /^\/(docs|admin)/.test(p))).toEqual([]);
  });

  it('publishes the readiness check on /metrics', async () => {
    const text = await metricsText(server);
    expect(text).toMatch(/^presence_ready 1$/m);
    expect(text).toMatch(/^presence_dependency_up\{dependency="database"\} 1$/m);
    expect(text).not.toMatch(/dependency="redis"/);
  });
});

describe('operations stream, demo mode without SERVICE_KEY', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startEmbedded({ serviceKey: undefined });
  });
  afterAll(() => server?.close());

  it('is open, and ends with the server instead of holding its close', async () => {
    const stream = await SnapshotStream.open(server);
    await stream.next();
    await server.close();
    await stream.ended;
  });
});

const available = (await hasRedis()) && (await hasPostgres());

describe.skipIf(!available)('operations stream in production mode (PostgreSQL and Redis)', () => {
  const cluster = new Cluster();
  let keyed: RunningServer;
  let keyless: RunningServer;

  beforeAll(async () => {
    keyed = await cluster.start();
    keyless = await cluster.start({ serviceKey: undefined });
  });
  afterAll(() => cluster.stop());

  it('needs the service key: 401 without it or with a wrong one, snapshots with it', async () => {
    expect((await api(keyed, 'GET', '/admin/stream')).status).toBe(401);
    const wrong = await api(keyed, 'GET', '/admin/stream', {
      headers: { authorization: `Bearer ${'x'.repeat(27)}` },
    });
    expect(wrong.status).toBe(401);
    const stream = await SnapshotStream.open(keyed, SERVICE_KEY);
    try {
      const snapshot = await stream.next((s) => s.redis !== 'unknown');
      expect(snapshot).toMatchObject({ redis: 'up', database: 'up', degraded: false });
    } finally {
      stream.close();
    }
    const text = await metricsText(keyed);
    expect(text).toMatch(/^presence_dependency_up\{dependency="redis"\} 1$/m);
    expect(text).toMatch(/^presence_ready 1$/m);
  });

  it('does not exist without SERVICE_KEY (404), while /docs still does', async () => {
    for (const path of ['/admin', '/admin/stream', '/admin/app.js']) {
      expect((await api(keyless, 'GET', path)).status).toBe(404);
      const keyed404 = await api(keyless, 'GET', path, {
        headers: { authorization: `Bearer ${SERVICE_KEY}` },
      });
      expect(keyed404.status).toBe(404);
    }
    expect((await fetch(`${keyless.httpUrl}/docs`)).status).toBe(200);
  });
});
