import { isLastSeenVisibility } from '@presence/protocol';
import { sql } from 'drizzle-orm';
import { DEFAULT_PRIVACY } from '../core/privacy.js';
import type { StoredPrivacy, UserId } from '../core/types.js';
import type { Db } from './database.js';
import { bigintArray, toId, toMs } from './sql-arrays.js';

/** Privacy settings (contract section 13) and the mutual follows `friends` needs, in PostgreSQL. */

type Row = Record<string, unknown>;

export type SettingsChange = Partial<Pick<StoredPrivacy, 'invisible' | 'lastSeen'>>;

async function rows(db: Db, query: ReturnType<typeof sql>): Promise<Row[]> {
  const result = (await db.execute(query)) as unknown as { rows: Row[] };
  return result.rows;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function settingsOfRow(row: Row): StoredPrivacy {
  const lastSeen = row.last_seen;
  return {
    invisible: row.invisible === true,
    lastSeen: isLastSeenVisibility(lastSeen) ? lastSeen : 'everyone',
    hiddenLastSeen: toMs(row.hidden_last_seen),
    hiddenV: row.hidden_v === null || row.hidden_v === undefined ? null : Number(row.hidden_v),
  };
}

/** Mutual followers of many users in one query (blocks aside: visible sets leave those out). */
export async function mutualsMany(db: Db, userIds: readonly UserId[]): Promise<Map<UserId, UserId[]>> {
  const found = new Map<UserId, UserId[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return found;
  const result = await rows(
    db,
    sql`select f1.follower_id as owner, f1.followee_id as id from follows f1
        join follows f2 on f2.follower_id = f1.followee_id and f2.followee_id = f1.follower_id
        where f1.follower_id = any(${bigintArray(userIds)})`,
  );
  for (const row of result) found.get(toId(row.owner))?.push(toId(row.id));
  return found;
}

/** The privacy settings of many users; a user without a row has the defaults. */
export async function settingsMany(db: Db, userIds: readonly UserId[]): Promise<Map<UserId, StoredPrivacy>> {
  const found = new Map<UserId, StoredPrivacy>(userIds.map((id) => [id, DEFAULT_PRIVACY]));
  if (userIds.length === 0) return found;
  const result = await rows(
    db,
    sql`select user_id, invisible, last_seen, hidden_last_seen, hidden_v from privacy_settings
        where user_id = any(${bigintArray(userIds)})`,
  );
  for (const row of result) found.set(toId(row.user_id), settingsOfRow(row));
  return found;
}

/**
 * Applies a change of a user's settings under a lock of their row, so concurrent changes are ordered; returns
 * the settings before and after. Turning `invisible` off forgets the frozen presence.
 */
export async function updateSettings(
  db: Db,
  userId: UserId,
  change: SettingsChange,
): Promise<{ before: StoredPrivacy; after: StoredPrivacy }> {
  await db.execute(sql`insert into users (id) values (${userId}) on conflict (id) do nothing`);
  return db.transaction(async (tx) => {
    await tx.execute(sql`insert into privacy_settings (user_id) values (${userId}) on conflict do nothing`);
    const [row] = await rows(
      tx as unknown as Db,
      sql`select user_id, invisible, last_seen, hidden_last_seen, hidden_v from privacy_settings
          where user_id = ${userId} for update`,
    );
    const before = settingsOfRow(row as Row);
    const after: StoredPrivacy = { ...before, ...change };
    if (!after.invisible) Object.assign(after, { hiddenLastSeen: null, hiddenV: null });
    if (after.invisible && !before.invisible) {
      // Frozen at once, at the durable record, until the change's own version freezes it: were anything after
      // this to fail, others would still see a still offline user, never the live last_seen and version.
      const [held] = await rows(
        tx as unknown as Db,
        sql`select last_seen, v from user_presence where user_id = ${userId}`,
      );
      Object.assign(after, { hiddenLastSeen: toMs(held?.last_seen), hiddenV: Number(held?.v ?? 0) });
    }
    await tx.execute(sql`update privacy_settings set invisible = ${after.invisible},
      last_seen = ${after.lastSeen}, hidden_last_seen = ${iso(after.hiddenLastSeen)}::timestamptz,
      hidden_v = ${after.hiddenV} where user_id = ${userId}`);
    return { before, after };
  });
}

/**
 * Records what others see of an invisible user (the presence when it went invisible). Only forward: of two
 * toggles racing, a late freeze of the earlier one never moves the version others see back.
 */
export async function freezeHidden(
  db: Db,
  userId: UserId,
  lastSeen: number | null,
  v: number,
): Promise<void> {
  await db.execute(sql`update privacy_settings set hidden_last_seen = ${iso(lastSeen)}::timestamptz,
    hidden_v = ${v} where user_id = ${userId} and invisible and (hidden_v is null or hidden_v < ${v})`);
}
