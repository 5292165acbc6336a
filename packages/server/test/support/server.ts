import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { ServerMessage } from '@presence/protocol';
import { WebSocket } from 'ws';
import { type RunningServer, type ServerOptions, startServer } from '../../src/app.js';
import { parseRedisNodes } from '../../src/config.js';
import {
  createTestDatabase,
  hasPostgres,
  hasRedis,
  REDIS_URL,
  type TestDatabase,
  testPrefix,
} from './services.js';

export const SERVICE_KEY = 'test-service-key-0123456789';
export const AUTH_SECRET = 'test-auth-secret-0123456789abcdef';

/** A server on embedded defaults (memory store, in-memory PGlite) on free ports, quiet. */
export function startEmbedded(options: ServerOptions = {}): Promise<RunningServer> {
  return startServer({
    port: 0,
    udpPort: 0,
    dataDir: 'memory://',
    logLevel: 'silent',
    serviceKey: SERVICE_KEY,
    ...options,
  });
}

/**
 * A cluster of server processes sharing one throw-away PostgreSQL database and one Redis key prefix, on the
 * machine's Redis or, given its seed nodes (`host:port,…`), on a Redis Cluster.
 */
export class Cluster {
  private database: Promise<TestDatabase> | null = null;
  readonly prefix = testPrefix();
  readonly servers: RunningServer[] = [];

  constructor(readonly redisClusterNodes: string | null = null) {}

  /** What a server process of this cluster reads from its environment to reach the same Redis. */
  get redisEnv(): Record<string, string> {
    return this.redisClusterNodes === null
      ? { REDIS_URL, REDIS_KEY_PREFIX: this.prefix }
      : { REDIS_CLUSTER_NODES: this.redisClusterNodes, REDIS_KEY_PREFIX: this.prefix };
  }

  async start(options: ServerOptions = {}): Promise<RunningServer> {
    // One database for the whole cluster, created once even when several servers start at the same time.
    this.database ??= createTestDatabase();
    const { url } = await this.database;
    const server = await startServer({
      port: 0,
      udpPort: 0,
      logLevel: 'silent',
      databaseUrl: url,
      ...(this.redisClusterNodes === null
        ? { redisUrl: REDIS_URL }
        : {
            redisClusterNodes: parseRedisNodes(this.redisClusterNodes),
          }),
      redisKeyPrefix: this.prefix,
      authSecret: AUTH_SECRET,
      serviceKey: SERVICE_KEY,
      ...options,
    });
    this.servers.push(server);
    return server;
  }

  async databaseUrl(): Promise<string> {
    if (!this.database) throw new Error('no server started yet');
    return (await this.database).url;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
    await (await this.database)?.drop();
  }
}

/** A real WebSocket client that queues what it receives, so tests await messages instead of sleeping. */
export class TestClient {
  readonly received: ServerMessage[] = [];
  private waiters: Array<{ match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }> = [];
  closeCode: number | null = null;
  private readonly closed: Promise<number>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as ServerMessage;
      this.received.push(message);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(message)) return true;
        w.resolve(message);
        return false;
      });
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
  }

  static async connect(
    server: Pick<RunningServer, 'wsUrl' | 'mintToken'>,
    userId: number,
    query: Record<string, string> = {},
  ): Promise<TestClient> {
    const token = await server.mintToken(userId);
    const params = new URLSearchParams({ token, ...query });
    const socket = new WebSocket(`${server.wsUrl}?${params}`);
    const client = new TestClient(socket);
    await once(socket, 'open');
    return client;
  }

  /** The first message (already received or still to come) that matches; fails after `timeoutMs`. */
  next<T extends ServerMessage['type']>(
    type: T,
    match: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 5_000,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    type M = Extract<ServerMessage, { type: T }>;
    const test = (m: ServerMessage) => m.type === type && match(m as M);
    const seen = this.received.findIndex(test);
    if (seen >= 0) return Promise.resolve(this.received.splice(seen, 1)[0] as M);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`no ${type} message within ${timeoutMs} ms; got ${JSON.stringify(this.received)}`),
          ),
        timeoutMs,
      );
      this.waiters.push({
        match: test,
        resolve: (m) => {
          clearTimeout(timer);
          this.received.splice(this.received.indexOf(m), 1);
          resolve(m as M);
        },
      });
    });
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the close code once the server or the client closed the connection. */
  waitClose(): Promise<number> {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    this.socket.close();
    await this.closed;
  }
}

/** Calls the HTTP API with a user token or the service key. */
export async function api(
  server: Pick<RunningServer, 'httpUrl'>,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests check answers field by field
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${server.httpUrl}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Sets up the graph through the service-key endpoints. */
export async function graph(
  server: Pick<RunningServer, 'httpUrl'>,
  method: 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
) {
  const result = await api(server, method, `/api/graph/${path}`, {
    body,
    headers: { authorization: `Bearer ${SERVICE_KEY}` },
  });
  if (result.status !== 204)
    throw new Error(`graph ${method} ${path}: ${result.status} ${JSON.stringify(result.body)}`);
}

export async function befriend(server: Pick<RunningServer, 'httpUrl'>, a: number, b: number): Promise<void> {
  await graph(server, 'PUT', `follows/${a}/${b}`);
  await graph(server, 'PUT', `follows/${b}/${a}`);
}

/** Sends UDP datagrams and resolves once the server has decided on `expected` of them. */
export async function sendUdp(
  server: RunningServer,
  packets: Array<string | Buffer | object>,
  expected = packets.length,
): Promise<Array<[result: string, reason: string]>> {
  const outcomes: Array<[string, string]> = [];
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`only ${outcomes.length} of ${expected} decided`)),
      5_000,
    );
    const listener = (result: string, reason: string, count: number) => {
      for (let i = 0; i < count; i++) outcomes.push([result, reason]);
      if (outcomes.length >= expected) {
        clearTimeout(timer);
        server.events.off('udp', listener);
        resolve();
      }
    };
    server.events.on('udp', listener);
  });
  const socket = createSocket('udp4');
  for (const packet of packets) {
    const data =
      typeof packet === 'string' || Buffer.isBuffer(packet) ? packet : Buffer.from(JSON.stringify(packet));
    await new Promise<void>((resolve, reject) =>
      socket.send(data, server.udpPort, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
    );
  }
  await done;
  socket.close();
  return outcomes;
}

export type UpgradeOutcome =
  | { opened: true; socket: WebSocket }
  | { opened: false; status: number; retryAfter: string | undefined; body: unknown };

/** Opens a WebSocket and reports whether the upgrade was taken, or the refusal's status, header and body. */
export async function tryUpgrade(url: string): Promise<UpgradeOutcome> {
  const socket = new WebSocket(url);
  socket.on('error', () => {});
  return new Promise((resolve) => {
    socket.once('open', () => resolve({ opened: true, socket }));
    socket.once('unexpected-response', (_request, response: IncomingMessage) => {
      let text = '';
      response.on('data', (chunk: Buffer) => {
        text += chunk;
      });
      response.on('end', () => {
        socket.terminate();
        resolve({
          opened: false,
          status: response.statusCode ?? 0,
          retryAfter: response.headers['retry-after'],
          body: JSON.parse(text),
        });
      });
    });
  });
}

/** A server on one of the two stores, for suites that run every case on both. */
export interface ServerSetup {
  name: string;
  available: boolean;
  start(): Promise<{ server: RunningServer; stop(): Promise<void> }>;
}

/** The memory store with PGlite, and Redis with PostgreSQL (available when both answer). */
export async function serverSetups(): Promise<ServerSetup[]> {
  const sharedUp = (await hasRedis()) && (await hasPostgres());
  return [
    {
      name: 'the memory store and PGlite',
      available: true,
      async start() {
        const server = await startEmbedded({ demo: false, authSecret: AUTH_SECRET });
        return { server, stop: () => server.close() };
      },
    },
    {
      name: 'Redis and PostgreSQL',
      available: sharedUp,
      async start() {
        const cluster = new Cluster();
        const server = await cluster.start();
        return { server, stop: () => cluster.stop() };
      },
    },
  ];
}

/**
 * Three mutual friends a, b, c who also share conversation `base`; a on `onA`, b and c on `onB` (the same
 * server, or two processes). Each connects after the previous one has seen the last arrival, so the frames
 * left unread afterwards are only what the test causes.
 */
export async function trio(base: number, onA: RunningServer, onB: RunningServer = onA) {
  const [a, b, c] = [base + 1, base + 2, base + 3];
  await befriend(onA, a, b);
  await befriend(onA, a, c);
  await befriend(onA, b, c);
  await graph(onA, 'PUT', `conversations/${base}`, { participant_ids: [a, b, c] });
  const ca = await TestClient.connect(onA, a);
  await ca.next('presence.snapshot');
  const cb = await TestClient.connect(onB, b);
  await cb.next('presence.snapshot');
  await ca.next('presence.status', (m) => m.user_id === b && m.status === 'online');
  const cc = await TestClient.connect(onB, c);
  await cc.next('presence.snapshot');
  await ca.next('presence.status', (m) => m.user_id === c && m.status === 'online');
  await cb.next('presence.status', (m) => m.user_id === c && m.status === 'online');
  const tokens = { a: await onA.mintToken(a), b: await onA.mintToken(b), c: await onA.mintToken(c) };
  return {
    ids: { a, b, c },
    ca,
    cb,
    cc,
    tokens,
    close: () => Promise.all([ca, cb, cc].map((x) => x.close())),
  };
}

export type Trio = Awaited<ReturnType<typeof trio>>;
