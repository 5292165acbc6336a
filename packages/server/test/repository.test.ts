import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.js';
import { PresenceRepository } from '../src/db/presence-repository.js';
import { seedGraph } from '../src/db/seed.js';
import { databaseBackends } from './support/backends.js';

const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

for (const backend of await databaseBackends()) {
  describe.skipIf(!backend.available)(`presence repository on ${backend.name}`, () => {
    let database: Database;
    let repo: PresenceRepository;
    let cleanup: () => Promise<void>;

    beforeAll(async () => {
      ({ database, cleanup } = await backend.open());
      repo = new PresenceRepository(database.db);
    });
    afterAll(() => cleanup());

    it('shows a mutual follow both ways and a one-way follow not at all', async () => {
      await repo.follow(1, 2);
      await repo.follow(2, 1);
      await repo.follow(3, 1);
      expect(await repo.subscribers(1)).toEqual([2]);
      expect(await repo.subscribers(2)).toEqual([1]);
      expect(await repo.subscribers(3)).toEqual([]);
      expect(await repo.mutualFollowers(1)).toEqual([2]);
    });

    it('shows users sharing a conversation, groups included, and ends it on removal', async () => {
      await repo.setConversation(100, [10, 11]);
      await repo.setConversation(101, [10, 12, 13, 14]);
      expect(sorted(await repo.subscribers(10))).toEqual([11, 12, 13, 14]);
      expect(sorted(await repo.subscribers(13))).toEqual([10, 12, 14]);
      expect(await repo.isParticipant(101, 12)).toBe(true);
      expect(await repo.isParticipant(100, 12)).toBe(false);

      const before = await repo.setConversation(101, [10, 12]);
      expect(sorted(before)).toEqual([10, 12, 13, 14]);
      expect(sorted(await repo.subscribers(10))).toEqual([11, 12]);
      expect(await repo.subscribers(13)).toEqual([]);
      expect(await repo.conversationParticipants(101)).toEqual([10, 12]);

      expect(sorted(await repo.deleteConversation(100))).toEqual([10, 11]);
      expect(await repo.subscribers(11)).toEqual([]);
      expect(await repo.conversationParticipants(100)).toEqual([]);
    });

    it('ends visibility on unfollow, and the relation stays symmetric', async () => {
      await repo.follow(20, 21);
      await repo.follow(21, 20);
      await repo.setConversation(200, [20, 22]);
      for (const [a, b] of [
        [20, 21],
        [20, 22],
      ] as const) {
        expect(await repo.subscribers(a)).toContain(b);
        expect(await repo.subscribers(b)).toContain(a);
      }
      await repo.unfollow(21, 20);
      expect(await repo.subscribers(20)).toEqual([22]);
      expect(await repo.subscribers(21)).toEqual([]);
    });

    it('answers visible(u) and participants for many keys in one query, the same as one by one', async () => {
      const many = await repo.subscribersMany([1, 10, 13, 20, 424242]);
      for (const id of [1, 10, 13, 20])
        expect(sorted(many.get(id) ?? [])).toEqual(sorted(await repo.subscribers(id)));
      expect(many.get(424242)).toEqual([]);
      const parts = await repo.participantsMany([101, 200, 999]);
      expect(sorted(parts.get(101) ?? [])).toEqual(await repo.conversationParticipants(101));
      expect(sorted(parts.get(200) ?? [])).toEqual([20, 22]);
      expect(parts.get(999)).toEqual([]);
    });

    it('counts a pair once when they are both friends and in a conversation', async () => {
      await repo.follow(30, 31);
      await repo.follow(31, 30);
      await repo.setConversation(300, [30, 31]);
      expect(await repo.subscribers(30)).toEqual([31]);
    });

    it('upserts 10,000 presences in one call and reads them back in one', async () => {
      const ids = Array.from({ length: 10_000 }, (_, i) => 100_000 + i);
      await repo.ensureUsers(ids);
      const t = Date.UTC(2026, 10, 27, 12, 0, 0, 123);
      await repo.upsertPresences(
        ids.map((userId, i) => ({
          userId,
          status: i % 3 === 0 ? 'away' : 'online',
          lastSeen: t + i,
          lastHeartbeat: t + i,
          v: t + i,
        })),
      );
      const read = await repo.getPresences(ids);
      expect(read.size).toBe(10_000);
      expect(read.get(100_000)).toEqual({
        userId: 100_000,
        status: 'away',
        lastSeen: t,
        lastHeartbeat: t,
        v: t,
        custom: null,
      });
      expect(read.get(109_999)?.lastSeen).toBe(t + 9_999);
      expect(read.get(100_001)?.status).toBe('online');
    });

    it('ignores a presence write of an older version, and never moves last_seen back', async () => {
      await repo.ensureUsers([40]);
      await repo.upsertPresence({
        userId: 40,
        status: 'online',
        lastSeen: 2_000,
        lastHeartbeat: 2_000,
        v: 10,
      });
      await repo.upsertPresence({ userId: 40, status: 'away', lastSeen: 3_000, lastHeartbeat: 3_000, v: 9 });
      expect(await repo.getPresence(40)).toMatchObject({ status: 'online', lastSeen: 2_000, v: 10 });
      // The same version later (the bulk sync): last_seen moves, the status stays the version's.
      await repo.upsertPresence({
        userId: 40,
        status: 'online',
        lastSeen: 2_500,
        lastHeartbeat: 2_500,
        v: 10,
      });
      expect(await repo.getPresence(40)).toMatchObject({ status: 'online', lastSeen: 2_500, v: 10 });
      // A newer version whose last_seen is older (a socket that died quietly) keeps the later last_seen.
      await repo.upsertPresence({
        userId: 40,
        status: 'offline',
        lastSeen: 2_400,
        lastHeartbeat: 2_000,
        v: 11,
      });
      expect(await repo.getPresence(40)).toMatchObject({ status: 'offline', lastSeen: 2_500, v: 11 });
      expect(await repo.getPresence(41)).toBeNull();
    });

    it('refuses a status outside the three (CHECK constraint)', async () => {
      await repo.ensureUsers([50]);
      await expect(
        database.db.execute(sql`insert into user_presence (user_id, status) values (50, 'typing')`),
      ).rejects.toThrow();
    });

    it('runs the migrations a second time without changing anything', async () => {
      const shape = async () => {
        const result = (await database.db.execute(sql`
          select table_name, column_name, data_type from information_schema.columns
          where table_schema = 'public' order by table_name, column_name`)) as unknown as { rows: unknown[] };
        const indexes = (await database.db.execute(
          sql`select indexname from pg_indexes where schemaname = 'public' order by indexname`,
        )) as unknown as { rows: unknown[] };
        return JSON.stringify([result.rows, indexes.rows]);
      };
      const before = await shape();
      await database.migrate();
      expect(await shape()).toBe(before);
      expect(await repo.getPresence(40)).toMatchObject({ status: 'offline' });
    });

    it('seeds a graph where each user has the asked number of mutual friends', async () => {
      const result = await seedGraph(database.db, {
        users: 1_000,
        friendsPerUser: 6,
        conversations: 50,
        firstUserId: 1_000_000,
      });
      expect(result.follows).toBe(6_000);
      expect(sorted(await repo.mutualFollowers(1_000_010))).toEqual([
        1_000_007, 1_000_008, 1_000_009, 1_000_011, 1_000_012, 1_000_013,
      ]);
      const participants = await repo.conversationParticipants(1);
      expect(participants.length).toBeGreaterThanOrEqual(2);
      expect(participants.length).toBeLessThanOrEqual(8);
    });
  });
}
