import type { PresenceClient, PresenceClientEvents, PresenceStatus } from '@presence/client';
import { startServer } from '@presence/server';

export type TestServer = Awaited<ReturnType<typeof startServer>>;
type ServerOptions = NonNullable<Parameters<typeof startServer>[0]>;

const SERVICE_KEY = 'client-tests-service-key';

/**
 * A server on port 0 with an in-memory PGlite and the graph endpoints on. Starting one takes seconds, so a
 * test file shares one and gives each test its own users (see `freshPair`).
 */
export function startTestServer(overrides: Partial<ServerOptions> = {}): Promise<TestServer> {
  return startServer({
    port: 0,
    udpPort: 0,
    demo: true,
    dataDir: 'memory://',
    serviceKey: SERVICE_KEY,
    logLevel: 'silent',
    ...overrides,
  });
}

let nextId = 1000;

async function graph(server: TestServer, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${server.httpUrl}/api/graph/${path}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status !== 204) throw new Error(`PUT /api/graph/${path} answered ${response.status}`);
}

/** Calls a graph endpoint with the service key (`PUT blocks/1/2`), expecting 204. */
export async function graphCall(server: TestServer, method: 'PUT' | 'DELETE', path: string): Promise<void> {
  const response = await fetch(`${server.httpUrl}/api/graph/${path}`, {
    method,
    headers: { authorization: `Bearer ${SERVICE_KEY}` },
  });
  if (response.status !== 204) throw new Error(`${method} /api/graph/${path} answered ${response.status}`);
}

/** Two users no test has touched, mutual friends sharing a conversation: isolation without a new server. */
export async function freshPair(
  server: TestServer,
): Promise<{ alice: number; bob: number; conversation: number }> {
  const alice = nextId++;
  const bob = nextId++;
  const conversation = nextId++;
  await graph(server, `follows/${alice}/${bob}`);
  await graph(server, `follows/${bob}/${alice}`);
  await graph(server, `conversations/${conversation}`, { participant_ids: [alice, bob] });
  return { alice, bob, conversation };
}

/** Resolves with the next event of this kind that satisfies `match`. */
export function nextEvent<K extends keyof PresenceClientEvents>(
  client: PresenceClient,
  event: K,
  match: (value: PresenceClientEvents[K]) => boolean = () => true,
): Promise<PresenceClientEvents[K]> {
  return new Promise((resolve) => {
    const off = client.on(event, (value) => {
      if (!match(value)) return;
      off();
      resolve(value);
    });
  });
}

/** Resolves once `client` holds `status` for `userId`, at once if it already does. */
export async function statusOf(
  client: PresenceClient,
  userId: number,
  status: PresenceStatus,
): Promise<void> {
  if (client.get(userId)?.status === status) return;
  await nextEvent(client, 'status', (change) => change.user_id === userId && change.status === status);
}

/** Collects clients and closes them all after a test, even when it failed half-way. */
export class Cleanup {
  readonly #steps: Array<() => unknown> = [];

  add<T>(value: T, close: (value: T) => unknown): T {
    this.#steps.push(() => close(value));
    return value;
  }

  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) await step();
  }
}
