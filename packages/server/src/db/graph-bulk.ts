import { sql } from 'drizzle-orm';
import type { UserId } from '../core/types.js';
import type { Db } from './database.js';
import { bigintArray, toId } from './sql-arrays.js';

/**
 * Rows per statement. Each batch travels as two array parameters, so the size is bounded by what one
 * statement should hold up, not by a parameter limit; 5,000 keeps each statement in the tens of milliseconds.
 */
export const BULK_BATCH_ROWS = 5_000;

export interface FollowImport {
  /** Follows that did not exist before this import. */
  inserted: number;
  /** Both ends of every inserted follow, each once: the users whose visible set may have changed. */
  touched: UserId[];
}

type Row = Record<string, unknown>;

/**
 * Graph writes of many rows at once (the host application's backfill), over the same tables as
 * PresenceRepository, in batches of array-parameter statements.
 *
 * @example
 * const bulk = new GraphBulk(database.db);
 * await bulk.importFollows([1, 2], [2, 1]); // { inserted: 2, touched: [1, 2] }
 */
export class GraphBulk {
  constructor(
    private readonly db: Db,
    private readonly batchRows = BULK_BATCH_ROWS,
  ) {}

  /**
   * Inserts the follows `followers[i] → followees[i]` (existing ones are kept), creating missing users.
   * The follows go in as one transaction: either all of them or, when the database fails midway, none.
   */
  async importFollows(followers: readonly UserId[], followees: readonly UserId[]): Promise<FollowImport> {
    if (followers.length !== followees.length) throw new Error('followers and followees differ in length');
    const [from, to] = sortedPairs(followers, followees);

    // Users are created outside the transaction, each batch committed on its own: a user created for
    // nothing is harmless (a valid token creates one too), while a long transaction holding new user ids
    // would stall the first heartbeat of any of them until it commits.
    const users = [...new Set([...from, ...to])].sort((a, b) => a - b);
    for (let start = 0; start < users.length; start += this.batchRows) {
      const ids = bigintArray(users.slice(start, start + this.batchRows));
      await this.db.execute(sql`insert into users (id) select unnest(${ids}) on conflict (id) do nothing`);
    }

    const touched = new Set<UserId>();
    let inserted = 0;
    await this.db.transaction(async (tx) => {
      for (let start = 0; start < from.length; start += this.batchRows) {
        const end = start + this.batchRows;
        const result = (await tx.execute(sql`
          insert into follows (follower_id, followee_id)
          select * from unnest(${bigintArray(from.slice(start, end))}, ${bigintArray(to.slice(start, end))})
          on conflict do nothing
          returning follower_id, followee_id`)) as unknown as { rows: Row[] };
        inserted += result.rows.length;
        for (const row of result.rows) {
          touched.add(toId(row.follower_id));
          touched.add(toId(row.followee_id));
        }
      }
    });
    return { inserted, touched: [...touched] };
  }
}

/**
 * The pairs in one global order, duplicates dropped. Two imports that overlap then lock the rows they share
 * in the same order, so they wait for each other instead of deadlocking.
 */
function sortedPairs(followers: readonly UserId[], followees: readonly UserId[]): [UserId[], UserId[]] {
  const order = Array.from(followers.keys()).sort(
    (a, b) =>
      (followers[a] as number) - (followers[b] as number) ||
      (followees[a] as number) - (followees[b] as number),
  );
  const from: UserId[] = [];
  const to: UserId[] = [];
  for (const i of order) {
    const f = followers[i] as number;
    const e = followees[i] as number;
    if (from.length > 0 && from[from.length - 1] === f && to[to.length - 1] === e) continue;
    from.push(f);
    to.push(e);
  }
  return [from, to];
}
