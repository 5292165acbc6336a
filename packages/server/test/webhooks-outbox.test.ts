import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PresenceRecord } from '../src/core/types.js';
import type { Database } from '../src/db/database.js';
import { PresenceRepository } from '../src/db/presence-repository.js';
import { toWebhookEvent } from '../src/webhooks/queue.js';
import { databaseBackends } from './support/backends.js';

const T = Date.parse('2026-12-01T10:00:00.000Z');
const record = (userId: number, v: number, status: PresenceRecord['status'], lastSeen = T + v) => ({
  userId,
  status,
  lastSeen,
  lastHeartbeat: lastSeen,
  v,
});

for (const backend of await databaseBackends()) {
  describe.skipIf(!backend.available)(`webhook outbox on ${backend.name}`, () => {
    let database: Database;
    let repo: PresenceRepository;
    let enqueued = 0;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      ({ database, cleanup } = await backend.open());
      repo = new PresenceRepository(database.db, { outbox: true, onEnqueued: (n) => (enqueued += n) });
    });
    beforeEach(async () => {
      await repo.deleteOutbox((await repo.peekOutbox(10_000)).map((e) => e.seq));
      enqueued = 0;
    });
    afterAll(() => cleanup());

    const queued = async () => (await repo.peekOutbox(10_000)).map((e) => [e.userId, e.v, e.status]);

    it('enqueues a change in the statement that stores it, with the stored fields', async () => {
      await repo.upsertPresences([record(1, 100, 'online'), record(2, 100, 'away')]);
      const [first] = await repo.peekOutbox(1);
      expect(await queued()).toEqual([
        [1, 100, 'online'],
        [2, 100, 'away'],
      ]);
      expect(enqueued).toBe(2);
      expect(toWebhookEvent(first as NonNullable<typeof first>)).toMatchObject({
        id: '1-100',
        type: 'presence.changed',
        presence: { user_id: 1, status: 'online', last_seen: new Date(T + 100).toISOString(), v: 100 },
      });
      expect(await repo.outboxDepth()).toBe(2);
    });

    it('enqueues a change of clients alone, carrying the clients of that version', async () => {
      await repo.upsertPresences([{ ...record(8, 100, 'online'), clients: { web: 'online' } }]);
      await repo.upsertPresences([
        { ...record(8, 101, 'online'), clients: { web: 'online', mobile: 'away' } },
      ]);
      const events = await repo.peekOutbox(10);
      expect(events.map((e) => [e.v, e.status, e.clients])).toEqual([
        [100, 'online', { web: 'online' }],
        [101, 'online', { web: 'online', mobile: 'away' }],
      ]);
      expect(toWebhookEvent(events[1] as NonNullable<(typeof events)[1]>).presence).toMatchObject({
        status: 'online',
        clients: { web: 'online', mobile: 'away' },
      });
      // An older version arriving late never replaces the clients stored with a newer one.
      await repo.upsertPresences([{ ...record(8, 99, 'away'), clients: { web: 'away' } }]);
      const stored = (await database.db.execute(
        sql`select clients from user_presence where user_id = 8`,
      )) as unknown as { rows: Array<{ clients: unknown }> };
      expect(stored.rows[0]?.clients).toEqual({
        web: 'online',
        mobile: 'away',
      });
    });

    it('enqueues nothing for a write that only moves times (the bulk sync) or brings an older version', async () => {
      await repo.upsertPresences([record(3, 100, 'online')]);
      await repo.deleteOutbox((await repo.peekOutbox(10)).map((e) => e.seq));
      enqueued = 0;
      // The sync writes what the hot state holds: the same version with a later last_seen.
      await repo.upsertPresences([record(3, 100, 'online', T + 5_000)]);
      await repo.upsertPresences([record(3, 99, 'offline', T + 9_000)]);
      expect(await queued()).toEqual([]);
      expect((await repo.getPresence(3))?.lastSeen).toBe(T + 5_000);
      // A shutdown persisting its users as they are, or as offline at the same version, is no change either.
      await repo.upsertPresences([record(3, 100, 'offline', T + 6_000)]);
      expect(await queued()).toEqual([]);
      expect(enqueued).toBe(0);
    });

    it('enqueues each version once, whichever write stores it first', async () => {
      await repo.upsertPresences([record(4, 100, 'online')]);
      await repo.upsertPresences([record(4, 100, 'online', T + 1)]);
      await Promise.all([
        repo.upsertPresences([record(4, 200, 'away')]),
        repo.upsertPresences([record(4, 200, 'away', T + 300)]),
      ]);
      expect(await queued()).toEqual([
        [4, 100, 'online'],
        [4, 200, 'away'],
      ]);
    });

    it('keeps each user in version order and drops only what is older than a cutoff', async () => {
      for (let v = 1; v <= 5; v++) await repo.upsertPresences([record(5, v, v % 2 ? 'online' : 'away')]);
      await repo.upsertPresences([record(6, 1, 'online'), record(5, 6, 'offline')]);
      const events = await repo.peekOutbox(100);
      expect(events.filter((e) => e.userId === 5).map((e) => e.v)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b));
      expect(await repo.dropOutboxBefore(Date.now() - 60_000)).toBe(0);
      expect(await repo.dropOutboxBefore(Date.now() + 60_000)).toBe(7);
      expect(await repo.outboxDepth()).toBe(0);
    });

    it('enqueues nothing with webhooks off', async () => {
      const plain = new PresenceRepository(database.db);
      await plain.upsertPresences([record(7, 100, 'online')]);
      expect(await queued()).toEqual([]);
      expect((await plain.getPresence(7))?.v).toBe(100);
    });
  });
}
