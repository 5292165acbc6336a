import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import type { LeaseStore } from '../src/core/ports.js';
import type { PresenceRecord } from '../src/core/types.js';
import type { Database } from '../src/db/database.js';
import { PresenceRepository } from '../src/db/presence-repository.js';
import { createLogger } from '../src/logger.js';
import {
  retryDelay,
  WebhookDispatcher,
  type WebhookDispatcherOptions,
  type WebhookResult,
} from '../src/webhooks/dispatcher.js';
import { OutboxSignal } from '../src/webhooks/queue.js';
import { databaseBackends } from './support/backends.js';
import {
  expectedSignature,
  outOfOrder,
  type ReceivedEvent,
  WEBHOOK_SECRET,
  WebhookReceiver,
} from './support/webhook-receiver.js';

const T = Date.parse('2026-12-01T10:00:00.000Z');
const STATUSES = ['online', 'away', 'offline'] as const;
const record = (userId: number, v: number): PresenceRecord => ({
  userId,
  status: STATUSES[v % 3] as PresenceRecord['status'],
  lastSeen: T + v,
  lastHeartbeat: T + v,
  v,
  clients: v % 3 === 0 ? {} : { mobile: STATUSES[v % 3] as 'online' | 'away' },
});
const ids = (events: readonly ReceivedEvent[]) => events.map((e) => e.id);

/** One holder at a time, like the stores' leases (TTLs are not under test here). */
class OneLease implements LeaseStore {
  holder: string | null = null;
  async acquireLease(_name: string, holder: string): Promise<boolean> {
    this.holder ??= holder;
    return this.holder === holder;
  }
  async releaseLease(_name: string, holder: string): Promise<void> {
    if (this.holder === holder) this.holder = null;
  }
}

for (const backend of await databaseBackends()) {
  describe.skipIf(!backend.available)(`webhook dispatcher on ${backend.name}`, () => {
    let database: Database;
    let repo: PresenceRepository;
    let cleanup: () => Promise<void>;
    let receiver: WebhookReceiver;
    const signal = new OutboxSignal();
    const dispatchers: WebhookDispatcher[] = [];
    let results: Record<WebhookResult, number>;
    let resultWaiters: Array<() => boolean> = [];
    /** Resolves once the dispatcher's own counts satisfy `done` (they follow the receiver's answer). */
    const counted = (done: (r: Record<WebhookResult, number>) => boolean) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (!done(results)) return false;
          resolve();
          return true;
        };
        if (!check()) resultWaiters.push(check);
      });
    let nextUser = 1;

    beforeAll(async () => {
      ({ database, cleanup } = await backend.open());
      repo = new PresenceRepository(database.db, { outbox: true, onEnqueued: () => signal.notify() });
    });
    afterEach(async () => {
      await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
      await receiver.close();
      await repo.deleteOutbox((await repo.peekOutbox(100_000)).map((e) => e.seq));
    });
    afterAll(() => cleanup());

    async function start(options: Partial<WebhookDispatcherOptions> = {}): Promise<void> {
      receiver = await WebhookReceiver.start();
      results = { delivered: 0, failed: 0, retried: 0 };
      const dispatcher = new WebhookDispatcher({
        url: receiver.url,
        secret: WEBHOOK_SECRET,
        timeoutMs: 1_000,
        retryMs: 20,
        retryMaxMs: 80,
        maxAgeMs: 3_600_000,
        outbox: repo,
        leases: new OneLease(),
        holder: 'test',
        signal,
        logger: createLogger('silent'),
        onResult: (result, count) => {
          results[result] += count;
          resultWaiters = resultWaiters.filter((check) => !check());
        },
        onDepth: () => {},
        ...options,
      });
      dispatchers.push(dispatcher);
      dispatcher.start();
    }

    /** `rounds` changes of each of `users` new users, written round by round (users interleaved). */
    async function changes(users: number, rounds: number): Promise<string[]> {
      const first = nextUser;
      nextUser += users;
      const written: string[] = [];
      for (let v = 1; v <= rounds; v++) {
        const batch = Array.from({ length: users }, (_, i) => record(first + i, v));
        await repo.upsertPresences(batch);
        written.push(...batch.map((r) => `${r.userId}-${r.v}`));
      }
      return written;
    }

    it('delivers every event signed, in batches of at most 100, each user in version order', async () => {
      const written = await changes(10, 25);
      await start();
      await receiver.until(() => receiver.accepted().length >= written.length, 'all 250 events');
      const accepted = receiver.accepted();
      expect(ids(accepted).sort()).toEqual([...written].sort());
      expect(outOfOrder(accepted)).toEqual([]);
      expect(Math.max(...receiver.deliveries.map((d) => d.events.length))).toBe(100);
      for (const delivery of receiver.deliveries) {
        expect(delivery.signature).toBe(expectedSignature(WEBHOOK_SECRET, delivery.timestamp, delivery.body));
        expect(Math.abs(Number(delivery.timestamp) - Date.now() / 1000)).toBeLessThan(30);
      }
      expect(accepted[0]).toEqual({
        id: accepted[0]?.id,
        type: 'presence.changed',
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        presence: {
          user_id: accepted[0]?.presence.user_id,
          status: 'away',
          last_seen: new Date(T + 1).toISOString(),
          v: 1,
          clients: { mobile: 'away' },
          custom: null,
        },
      });
    });

    it('retries a receiver that is down, then delivers everything in order, at least once', async () => {
      const before = await changes(3, 4);
      await start();
      receiver.status = 500;
      await receiver.until(() => receiver.deliveries.length >= 3, 'three refused deliveries');
      const during = await changes(3, 4);
      receiver.status = 200;
      await receiver.until(
        () => receiver.accepted().length >= before.length + during.length,
        'every event after the receiver came back',
      );
      const accepted = receiver.accepted();
      await counted((r) => r.delivered >= accepted.length);
      expect(new Set(ids(accepted))).toEqual(new Set([...before, ...during]));
      expect(outOfOrder(accepted)).toEqual([]);
      // Every retry starts from the same head: nothing behind it went first.
      const refused = receiver.deliveries.filter((d) => d.status === 500);
      for (const delivery of refused) expect(delivery.events[0]?.id).toBe(before[0]);
      expect(results.retried).toBeGreaterThanOrEqual(3 * before.length);
      expect(results.delivered).toBe(accepted.length);
      expect(await repo.outboxDepth()).toBe(0);
    });

    it('retries a delivery that times out', async () => {
      const written = await changes(2, 2);
      await start({ timeoutMs: 200 });
      receiver.status = 0;
      await receiver.until(() => receiver.deliveries.length >= 1, 'a delivery');
      receiver.status = 200;
      await receiver.until(() => receiver.accepted().length >= written.length, 'the events after a timeout');
      expect(ids(receiver.accepted())).toEqual(ids(receiver.deliveries[0]?.events ?? []));
      expect(results.retried).toBeGreaterThanOrEqual(written.length);
    });

    it('drops events only after retrying for their whole age, and counts them as failed', async () => {
      const written = await changes(2, 3);
      await start({ maxAgeMs: 300 });
      receiver.status = 503;
      await receiver.until(() => receiver.deliveries.length >= 3, 'refused deliveries');
      // A later change is delivered once the receiver answers; the old ones were given up on.
      await counted((r) => r.failed >= written.length);
      receiver.status = 200;
      const later = await changes(1, 1);
      await receiver.until(() => receiver.accepted().length >= 1, 'the later event');
      expect(ids(receiver.accepted())).toEqual(later);
      expect(results.failed).toBe(written.length);
      expect(receiver.deliveries.length).toBeGreaterThanOrEqual(3);
    });
  });
}

describe('webhook settings', () => {
  const base = { WEBHOOK_URL: 'https://hooks.example.com/presence' };

  it('requires a secret of at least 16 characters with a URL, naming the variable', () => {
    const variable = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).variable;
      }
      return null;
    };
    expect(variable(base)).toBe('WEBHOOK_SECRET');
    expect(variable({ ...base, WEBHOOK_SECRET: 'too-short' })).toBe('WEBHOOK_SECRET');
    expect(variable({ ...base, WEBHOOK_URL: 'ftp://example.com', WEBHOOK_SECRET })).toBe('WEBHOOK_URL');
    expect(variable({ ...base, WEBHOOK_SECRET, WEBHOOK_TIMEOUT_MS: '0' })).toBe('WEBHOOK_TIMEOUT_MS');
    expect(variable({ ...base, WEBHOOK_SECRET, WEBHOOK_RETRY_MS: '5000', WEBHOOK_RETRY_MAX_MS: '10' })).toBe(
      'WEBHOOK_RETRY_MAX_MS',
    );
    expect(variable({ ...base, WEBHOOK_SECRET })).toBeNull();
    expect(variable({})).toBeNull();
  });

  it('defaults to a 5 s timeout, a first retry within 10 s, doubling to 5 minutes, for an hour', () => {
    const config = loadConfig({ ...base, WEBHOOK_SECRET });
    expect(config.webhookTimeoutMs).toBe(5_000);
    expect(config.webhookMaxAgeMs).toBeGreaterThanOrEqual(3_600_000);
    const settings = { retryMs: config.webhookRetryMs, retryMaxMs: config.webhookRetryMaxMs };
    for (const random of [0, 0.5, 0.999]) {
      expect(retryDelay(1, settings, random)).toBeLessThanOrEqual(10_000);
      expect(retryDelay(1, settings, random)).toBeGreaterThan(0);
      expect(retryDelay(40, settings, random)).toBeLessThanOrEqual(300_000);
    }
    expect(retryDelay(2, settings, 0.999)).toBeGreaterThan(retryDelay(1, settings, 0.999));
    expect(retryDelay(3, settings, 0)).toBe(2 * retryDelay(2, settings, 0));
    expect(retryDelay(40, settings, 0.999)).toBeGreaterThan(290_000);
  });
});
