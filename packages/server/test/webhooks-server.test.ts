import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer, ServerOptions } from '../src/app.js';
import { Cluster, startEmbedded } from './support/server.js';
import { hasPostgres, hasRedis } from './support/services.js';
import {
  expectedSignature,
  outOfOrder,
  WEBHOOK_SECRET,
  WebhookReceiver,
} from './support/webhook-receiver.js';

const postgres = (await hasPostgres()) && (await hasRedis());

interface Setup {
  name: string;
  available: boolean;
  start(options: ServerOptions): Promise<{ server: RunningServer; stop(): Promise<void> }>;
}

const setups: Setup[] = [
  {
    name: 'the embedded mode (memory, PGlite)',
    available: true,
    async start(options) {
      const server = await startEmbedded(options);
      return { server, stop: () => server.close() };
    },
  },
  {
    name: 'PostgreSQL and Redis',
    available: postgres,
    async start(options) {
      const cluster = new Cluster();
      return { server: await cluster.start(options), stop: () => cluster.stop() };
    },
  },
];

for (const setup of setups) {
  describe.skipIf(!setup.available)(`webhooks of a server on ${setup.name}`, () => {
    let receiver: WebhookReceiver;
    let server: RunningServer;
    let stop: () => Promise<void>;
    // Started in the hook: a slow embedded start counts against the hook's time, not the test's.
    beforeAll(async () => {
      receiver = await WebhookReceiver.start();
      ({ server, stop } = await setup.start({ webhookUrl: receiver.url, webhookSecret: WEBHOOK_SECRET }));
    });
    afterAll(async () => {
      await stop?.();
      await receiver.close();
    });

    it('POSTs each presence change, signed, each user in version order', async () => {
      const answered = new Map<string, string>();
      const last = new Map<number, string>();
      for (const status of ['online', 'away', 'online', 'offline'] as const) {
        for (const userId of [501, 502, 503]) {
          const result = await server.service.heartbeat(userId, status);
          if (!result.accepted) throw new Error('heartbeat refused');
          const id = `${userId}-${result.presence.v}`;
          answered.set(id, result.presence.status);
          last.set(userId, id);
        }
      }
      const finals = [...last.values()];
      const arrived = () => new Set(receiver.accepted().map((e) => e.id));
      await receiver.until(() => finals.every((id) => arrived().has(id)), 'the last change of every user');

      const events = receiver.accepted();
      expect(outOfOrder(events)).toEqual([]);
      // Changes written in one turn go out merged, so some versions may be skipped, never invented.
      for (const event of events) {
        expect(event.type).toBe('presence.changed');
        expect(answered.get(event.id)).toBe(event.presence.status);
        expect(event.id).toBe(`${event.presence.user_id}-${event.presence.v}`);
      }
      for (const delivery of receiver.deliveries) {
        expect(delivery.signature).toBe(expectedSignature(WEBHOOK_SECRET, delivery.timestamp, delivery.body));
      }

      // A change after the others is a barrier: the delivery before it has been counted.
      const counted = events.length;
      const after = await server.service.heartbeat(504, 'online');
      if (!after.accepted) throw new Error('heartbeat refused');
      await receiver.until(() => arrived().has(`504-${after.presence.v}`), 'the barrier change');
      const metrics = await server.metrics.registry.metrics();
      const delivered = Number(
        /presence_webhook_events_total\{result="delivered"\} (\d+)/.exec(metrics)?.[1],
      );
      expect(delivered).toBeGreaterThanOrEqual(counted);
      expect(metrics).toMatch(/presence_webhook_queue_depth \d+/);
    });
  });
}
