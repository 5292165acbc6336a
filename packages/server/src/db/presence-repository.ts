import { type Clients, isClientKind, type PresenceStatus } from '@presence/protocol';
import { sql } from 'drizzle-orm';
import { parseCustom } from '../core/custom-rules.js';
import type { ConversationId, PresenceRecord, StoredCustom, UserId } from '../core/types.js';
import type { Db } from './database.js';
import type { OutboxEvent } from './outbox-event.js';
import * as privacy from './privacy-settings.js';
import { bigintArray, jsonArray, textArray, timestampArray, toId, toMs } from './sql-arrays.js';

type Row = Record<string, unknown>;

async function rows(db: Db, query: ReturnType<typeof sql>): Promise<Row[]> {
  const result = (await db.execute(query)) as unknown as { rows: Row[] };
  return result.rows;
}

/** A `clients` column as stored (jsonb arrives parsed from pg, and as text from some drivers). */
function clientsOfRow(value: unknown): Clients {
  const parsed = typeof value === 'string' ? JSON.parse(value) : value;
  const clients: Clients = {};
  if (typeof parsed !== 'object' || parsed === null) return clients;
  for (const [kind, status] of Object.entries(parsed)) {
    if (isClientKind(kind) && (status === 'online' || status === 'away')) clients[kind] = status;
  }
  return clients;
}

function toRecord(row: Row): PresenceRecord {
  return {
    userId: toId(row.user_id),
    status: row.status as PresenceStatus,
    lastSeen: toMs(row.last_seen),
    lastHeartbeat: toMs(row.last_heartbeat),
    v: Number(row.v ?? 0),
    custom: parseCustom(row.custom ?? null),
  };
}

/** The `custom` column's JSON (expiry in epoch ms), or JSON null for none (stored as SQL NULL). */
const customJson = (custom: StoredCustom | null | undefined) =>
  custom ? { text: custom.text, emoji: custom.emoji, expires_at: custom.expiresAt } : null;

/** Locks both users' rows, lower id first, so that writes about one pair wait for each other. */
async function lockPair(db: Db, a: UserId, b: UserId): Promise<void> {
  await db.execute(
    sql`select id from users where id = any(${bigintArray([a, b])}) order by id for no key update`,
  );
}

async function blockedEitherWay(db: Db, a: UserId, b: UserId): Promise<boolean> {
  const found = await rows(
    db,
    sql`select 1 from blocks where (blocker_id = ${a} and blocked_id = ${b}) or (blocker_id = ${b} and blocked_id = ${a})`,
  );
  return found.length > 0;
}

export interface PresenceRepositoryOptions {
  /** Enqueue a webhook event with every presence change written (webhooks on). */
  outbox?: boolean;
  /** Told how many events a write just enqueued, so a dispatcher here need not wait for its next poll. */
  onEnqueued?: (count: number) => void;
}

export type { OutboxEvent } from './outbox-event.js';

/**
 * The durable side of presence and the social graph, over Drizzle. Every method is one statement (or one
 * transaction) whatever the number of users: lists travel as array parameters, never as N queries.
 *
 * @example
 * const repo = new PresenceRepository(database.db);
 * await repo.follow(1, 2); await repo.follow(2, 1);
 * await repo.subscribers(1); // [2]
 */
export class PresenceRepository {
  constructor(
    private readonly db: Db,
    private readonly options: PresenceRepositoryOptions = {},
  ) {}

  /** Creates the users that do not exist yet (a valid token is enough to exist). */
  async ensureUsers(ids: readonly UserId[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.execute(
      sql`insert into users (id) select unnest(${bigintArray(ids)}) on conflict (id) do nothing`,
    );
  }

  /** Creates the user or sets its username (null keeps the one it has). */
  async upsertUser(id: UserId, username: string | null): Promise<void> {
    await this.db.execute(sql`
      insert into users (id, username) values (${id}, ${username})
      on conflict (id) do update set username = coalesce(excluded.username, users.username)`);
  }

  async follow(followerId: UserId, followeeId: UserId): Promise<void> {
    await this.ensureUsers([followerId, followeeId]);
    await this.db.execute(sql`
      insert into follows (follower_id, followee_id) values (${followerId}, ${followeeId}) on conflict do nothing`);
  }

  async unfollow(followerId: UserId, followeeId: UserId): Promise<void> {
    await this.db.execute(
      sql`delete from follows where follower_id = ${followerId} and followee_id = ${followeeId}`,
    );
  }

  /**
   * Records that `blockerId` blocks `blockedId` (creating missing users). True when the pair was blocked in
   * neither direction before, i.e. when the two just stopped seeing each other. The pair's user rows are
   * locked for the transaction, so two writes of one pair (`A blocks B` and `B blocks A` at once) are ordered
   * and exactly one of them answers true.
   */
  async block(blockerId: UserId, blockedId: UserId): Promise<boolean> {
    await this.ensureUsers([blockerId, blockedId]);
    return this.db.transaction(async (tx) => {
      const db = tx as unknown as Db;
      await lockPair(db, blockerId, blockedId);
      const before = await blockedEitherWay(db, blockerId, blockedId);
      await tx.execute(sql`
        insert into blocks (blocker_id, blocked_id) values (${blockerId}, ${blockedId}) on conflict do nothing`);
      return !before;
    });
  }

  /**
   * Lifts the block `blockerId` → `blockedId`. True when the pair was blocked before and is now blocked in
   * neither direction, i.e. when follows and conversations decide again whether the two see each other.
   */
  async unblock(blockerId: UserId, blockedId: UserId): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const db = tx as unknown as Db;
      await lockPair(db, blockerId, blockedId);
      const deleted = await rows(
        db,
        sql`delete from blocks where blocker_id = ${blockerId} and blocked_id = ${blockedId} returning 1`,
      );
      return deleted.length > 0 && !(await blockedEitherWay(db, blockerId, blockedId));
    });
  }

  /** Whether a block stands between the two users, in either direction. */
  isBlocked(a: UserId, b: UserId): Promise<boolean> {
    return blockedEitherWay(this.db, a, b);
  }

  /**
   * Replaces a conversation's participant set (creating the conversation and missing users).
   * Returns the participants it had before, so callers can invalidate what changed.
   */
  async setConversation(id: ConversationId, participantIds: readonly UserId[]): Promise<UserId[]> {
    return this.db.transaction(async (tx) => {
      const before = await rows(
        tx as unknown as Db,
        sql`select user_id from conversation_participants where conversation_id = ${id}`,
      );
      await tx.execute(
        sql`insert into users (id) select unnest(${bigintArray(participantIds)}) on conflict do nothing`,
      );
      await tx.execute(sql`insert into conversations (id) values (${id}) on conflict do nothing`);
      await tx.execute(sql`
        delete from conversation_participants
        where conversation_id = ${id} and not (user_id = any(${bigintArray(participantIds)}))`);
      await tx.execute(sql`
        insert into conversation_participants (conversation_id, user_id)
        select ${id}, unnest(${bigintArray(participantIds)}) on conflict do nothing`);
      return before.map((r) => toId(r.user_id));
    });
  }

  /** Deletes a conversation; returns who took part in it. */
  async deleteConversation(id: ConversationId): Promise<UserId[]> {
    const deleted = await rows(
      this.db,
      sql`delete from conversation_participants where conversation_id = ${id} returning user_id`,
    );
    await this.db.execute(sql`delete from conversations where id = ${id}`);
    return deleted.map((r) => toId(r.user_id));
  }

  /** Users with a follow in both directions with `userId`. */
  async mutualFollowers(userId: UserId): Promise<UserId[]> {
    const result = await rows(
      this.db,
      sql`
      select f1.followee_id as id from follows f1
      join follows f2 on f2.follower_id = f1.followee_id and f2.followee_id = f1.follower_id
      where f1.follower_id = ${userId}`,
    );
    return result.map((r) => toId(r.id));
  }

  async conversationParticipants(conversationId: ConversationId): Promise<UserId[]> {
    const result = await rows(
      this.db,
      sql`select user_id from conversation_participants where conversation_id = ${conversationId} order by user_id`,
    );
    return result.map((r) => toId(r.user_id));
  }

  async isParticipant(conversationId: ConversationId, userId: UserId): Promise<boolean> {
    const result = await rows(
      this.db,
      sql`select 1 from conversation_participants where conversation_id = ${conversationId} and user_id = ${userId}`,
    );
    return result.length > 0;
  }

  /**
   * visible(user): mutual followers ∪ users sharing any conversation with the user, less anyone blocked
   * either way, in one query.
   */
  async subscribers(userId: UserId): Promise<UserId[]> {
    return (await this.subscribersMany([userId])).get(userId) ?? [];
  }

  /**
   * visible(u) for many users in one query: what a burst of transitions needs on a cold cache. A pair with a
   * block in either direction is left out whatever follows and conversations say.
   */
  async subscribersMany(userIds: readonly UserId[]): Promise<Map<UserId, UserId[]>> {
    const found = new Map<UserId, UserId[]>(userIds.map((id) => [id, []]));
    if (userIds.length === 0) return found;
    const ids = bigintArray(userIds);
    const result = await rows(
      this.db,
      sql`
      select v.owner, v.id from (
        select f1.follower_id as owner, f1.followee_id as id from follows f1
        join follows f2 on f2.follower_id = f1.followee_id and f2.followee_id = f1.follower_id
        where f1.follower_id = any(${ids})
        union
        select mine.user_id, other.user_id from conversation_participants mine
        join conversation_participants other on other.conversation_id = mine.conversation_id
        where mine.user_id = any(${ids}) and other.user_id <> mine.user_id
      ) v
      where not exists (select 1 from blocks b where b.blocker_id = v.owner and b.blocked_id = v.id)
        and not exists (select 1 from blocks b where b.blocker_id = v.id and b.blocked_id = v.owner)`,
    );
    for (const row of result) found.get(toId(row.owner))?.push(toId(row.id));
    return found;
  }

  // Privacy settings live in their own module (db/privacy-settings.ts); these hand the database over.
  readonly mutualsMany = (ids: readonly UserId[]) => privacy.mutualsMany(this.db, ids);
  readonly settingsMany = (ids: readonly UserId[]) => privacy.settingsMany(this.db, ids);
  readonly updateSettings = (id: UserId, to: privacy.SettingsChange) =>
    privacy.updateSettings(this.db, id, to);
  readonly freezeHidden = (id: UserId, at: number | null, v: number) =>
    privacy.freezeHidden(this.db, id, at, v);

  /** The participants of many conversations in one query. */
  async participantsMany(conversationIds: readonly ConversationId[]): Promise<Map<ConversationId, UserId[]>> {
    const found = new Map<ConversationId, UserId[]>(conversationIds.map((id) => [id, []]));
    if (conversationIds.length === 0) return found;
    const result = await rows(
      this.db,
      sql`select conversation_id, user_id from conversation_participants
          where conversation_id = any(${bigintArray(conversationIds)})`,
    );
    for (const row of result) found.get(toId(row.conversation_id))?.push(toId(row.user_id));
    return found;
  }

  async getPresence(userId: UserId): Promise<PresenceRecord | null> {
    const [row] = await rows(
      this.db,
      sql`select user_id, status, last_seen, last_heartbeat, v, custom from user_presence where user_id = ${userId}`,
    );
    return row ? toRecord(row) : null;
  }

  /** The stored presence of many users in one round trip; users with no row are absent from the map. */
  async getPresences(userIds: readonly UserId[]): Promise<Map<UserId, PresenceRecord>> {
    const found = new Map<UserId, PresenceRecord>();
    if (userIds.length === 0) return found;
    const result = await rows(
      this.db,
      sql`select user_id, status, last_seen, last_heartbeat, v, custom from user_presence where user_id = any(${bigintArray(userIds)})`,
    );
    for (const row of result) {
      const record = toRecord(row);
      found.set(record.userId, record);
    }
    return found;
  }

  async upsertPresence(record: PresenceRecord): Promise<void> {
    await this.upsertPresences([record]);
  }

  /**
   * Writes many presences in one statement (creating users it has not seen). A write of an older version than
   * the stored one is ignored, so a bulk sync that read Redis a moment before a transition cannot undo it; at
   * the same version only last_seen and the last heartbeat move, and neither ever moves back.
   *
   * With the outbox on, each row whose version the statement raised enqueues its webhook event in the same
   * statement: a change is never stored without its event. Only a raised version counts, so a write that only
   * moves times (the bulk sync, a shutdown persisting what it holds) enqueues nothing, and each version
   * enqueues once whichever path stores it first.
   */
  async upsertPresences(records: readonly PresenceRecord[]): Promise<void> {
    if (records.length === 0) return;
    const ids = bigintArray(records.map((r) => r.userId));
    // Users seen for the first time are created in the same statement (their rows are checked against the
    // foreign key at its end), so the heartbeat path never waits on a separate insert.
    const upsert = sql`
      insert into user_presence (user_id, status, last_seen, last_heartbeat, v, clients, custom)
      select r.user_id, r.status, r.last_seen, r.last_heartbeat, r.v, r.clients, nullif(r.custom, 'null') from unnest(
        ${ids},
        ${textArray(records.map((r) => r.status))},
        ${timestampArray(records.map((r) => r.lastSeen))},
        ${timestampArray(records.map((r) => r.lastHeartbeat))},
        ${bigintArray(records.map((r) => r.v))},
        ${jsonArray(records.map((r) => r.clients ?? {}))},
        ${jsonArray(records.map((r) => customJson(r.custom)))}
      ) as r(user_id, status, last_seen, last_heartbeat, v, clients, custom)
      on conflict (user_id) do update set
        status = excluded.status,
        clients = case when excluded.v >= user_presence.v then excluded.clients else user_presence.clients end,
        custom = case when excluded.v >= user_presence.v then excluded.custom else user_presence.custom end,
        last_seen = greatest(user_presence.last_seen, excluded.last_seen),
        last_heartbeat = greatest(user_presence.last_heartbeat, excluded.last_heartbeat),
        v = excluded.v
      where excluded.v > user_presence.v
        or (excluded.v = user_presence.v and (user_presence.last_seen is null
          or excluded.last_seen > user_presence.last_seen
          or excluded.last_heartbeat > user_presence.last_heartbeat))`;
    const newUsers = sql`new_users as (insert into users (id) select unnest(${ids}) on conflict (id) do nothing)`;
    if (!this.options.outbox) {
      await this.db.execute(sql`with ${newUsers} ${upsert}`);
      return;
    }
    // Every sub-statement sees the rows as they were before it, so `before` holds the versions replaced.
    const enqueued = await rows(
      this.db,
      sql`
      with ${newUsers},
      before as (select user_id, v from user_presence where user_id = any(${ids})),
      written as (${upsert} returning user_id, status, last_seen, v, clients, custom)
      insert into presence_outbox (user_id, status, last_seen, v, clients, custom, invisible)
      select w.user_id, w.status, w.last_seen, w.v, w.clients, w.custom, coalesce(ps.invisible, false)
      from written w left join before b on b.user_id = w.user_id
      left join privacy_settings ps on ps.user_id = w.user_id
      where b.v is null or w.v > b.v
      order by w.user_id, w.v
      on conflict (user_id, v) do nothing
      returning id`,
    );
    if (enqueued.length > 0) this.options.onEnqueued?.(enqueued.length);
  }

  // ---- webhook outbox -------------------------------------------------------------------------------------

  /** The oldest queued events, in enqueue order (per user, `v` order). */
  async peekOutbox(limit: number): Promise<OutboxEvent[]> {
    const result = await rows(
      this.db,
      sql`select id, user_id, status, last_seen, v, clients, custom, invisible, created_at from presence_outbox order by id limit ${limit}`,
    );
    return result.map((row) => ({
      seq: toId(row.id),
      userId: toId(row.user_id),
      status: row.status as PresenceStatus,
      lastSeen: toMs(row.last_seen),
      v: Number(row.v),
      clients: clientsOfRow(row.clients),
      custom: parseCustom(row.custom ?? null),
      invisible: row.invisible === true,
      at: toMs(row.created_at) ?? 0,
    }));
  }

  /** Removes delivered events. */
  async deleteOutbox(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.db.execute(sql`delete from presence_outbox where id = any(${bigintArray(seqs)})`);
  }

  /** Removes events enqueued before `cutoff` (epoch ms); returns how many. */
  async dropOutboxBefore(cutoff: number): Promise<number> {
    const dropped = await rows(
      this.db,
      sql`delete from presence_outbox where created_at < ${new Date(cutoff).toISOString()}::timestamptz returning id`,
    );
    return dropped.length;
  }

  async outboxDepth(): Promise<number> {
    const [row] = await rows(this.db, sql`select count(*) as depth from presence_outbox`);
    return Number(row?.depth ?? 0);
  }

  /** Marks every user offline, keeping last_seen: for a process that owns all hot state and just started. */
  async markAllOffline(): Promise<void> {
    await this.db.execute(sql`update user_presence set status = 'offline' where status <> 'offline'`);
  }
}
