import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildServer, spawnServer } from './support/processes.js';
import { AUTH_SECRET } from './support/server.js';
import {
  createTestDatabase,
  hasPostgres,
  hasRedis,
  REDIS_URL,
  type TestDatabase,
  testPrefix,
} from './support/services.js';
import { outOfOrder, WEBHOOK_SECRET, WebhookReceiver } from './support/webhook-receiver.js';

const available = (await hasRedis()) && (await hasPostgres());

describe.skipIf(!available)('webhooks when the delivering process dies', () => {
  let receiver: WebhookReceiver;
  let database: TestDatabase;
  const children: ChildServer[] = [];
  let env: Record<string, string>;
  let a: ChildServer;
  let b: ChildServer;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    database = await createTestDatabase();
    env = {
      DATABASE_URL: database.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: testPrefix(),
      AUTH_SECRET,
      DEMO: '0',
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET,
      // Short settings keep the test quick: the lease of a dead holder lapses within three timeouts.
      WEBHOOK_TIMEOUT_MS: '300',
      WEBHOOK_RETRY_MS: '50',
      WEBHOOK_RETRY_MAX_MS: '200',
    };
    // `a` starts alone and is refused once, so it holds the lease before `b` exists.
    receiver.status = 500;
    a = await start();
    await changes(a, [9], ['online']);
    await receiver.until(() => receiver.deliveries.length > 0, 'a first refused delivery');
    b = await start();
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => c.crash()));
    await receiver.close();
    await database?.drop();
  });

  async function start(): Promise<ChildServer> {
    const child = await spawnServer(env);
    children.push(child);
    return child;
  }

  /** Heartbeats with alternating statuses over HTTP; returns the id of each user's last change. */
  async function changes(server: ChildServer, users: number[], statuses: string[]): Promise<string[]> {
    const last = new Map<number, string>();
    for (const status of statuses) {
      for (const userId of users) {
        const response = await fetch(`${server.httpUrl}/api/presence/heartbeat`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${await server.mintToken(userId)}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ status }),
        });
        expect(response.status).toBe(200);
        const presence = (await response.json()) as { v: number };
        last.set(userId, `${userId}-${presence.v}`);
      }
    }
    return [...last.values()];
  }

  it('loses nothing: another process takes the lease and delivers everything in order', async () => {
    const first = await changes(a, [1, 2, 3], ['online', 'away', 'online']);
    // A refused delivery holding every user's last change: they are all in the outbox, and `a` delivers.
    const refusedAll = () =>
      receiver.deliveries.some((d) => {
        const ids = new Set(d.events.map((e) => e.id));
        return d.status === 500 && first.every((id) => ids.has(id));
      });
    await receiver.until(refusedAll, 'a refused delivery with every change');
    const queued = new Set(
      receiver.deliveries.filter((d) => d.status === 500).flatMap((d) => d.events.map((e) => e.id)),
    );

    await a.crash();
    const later = await changes(b, [2, 4], ['away', 'online']);
    receiver.status = 200;
    const arrived = () => new Set(receiver.accepted().map((e) => e.id));
    await receiver.until(
      () => [...queued, ...later].every((id) => arrived().has(id)),
      'every change queued before the crash and made after it',
      25_000,
    );
    expect(outOfOrder(receiver.accepted())).toEqual([]);
    expect(receiver.deliveries.every((d) => d.events.length <= 100)).toBe(true);
  });
});
