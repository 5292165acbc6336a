import { sql } from 'drizzle-orm';
import type { Db } from './database.js';
import { bigintArray } from './sql-arrays.js';

export interface SeedOptions {
  users: number;
  /** Mutual friends per user (rounded down to an even number). */
  friendsPerUser: number;
  /** Conversations of 2 to 8 participants. Defaults to users / 2. */
  conversations?: number;
  /** First user id; ids run from here. */
  firstUserId?: number;
  /** Seed for the deterministic generator, so two runs build the same graph. */
  seed?: number;
  /**
   * Called after each insert with the rows written so far and the rows the seed will write: users, follows and
   * conversations (a conversation's participants go in with it and are not counted apart, since their number
   * is only known once drawn).
   */
  onProgress?: (done: number, total: number) => void;
}

export interface SeedResult {
  users: number;
  follows: number;
  conversations: number;
  participants: number;
  ms: number;
}

const CHUNK = 50_000;

/** A small deterministic generator (mulberry32): the same seed gives the same graph. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Builds a synthetic social graph with array-parameter inserts of 50,000 rows each: users `first..first+N-1`,
 * each mutual friends with its `friendsPerUser` ring neighbours, and conversations of 2 to 8 random users.
 * Existing rows are kept (inserts skip conflicts), so seeding twice is harmless.
 *
 * @example
 * await seedGraph(database.db, { users: 100_000, friendsPerUser: 10 });
 */
export async function seedGraph(db: Db, options: SeedOptions): Promise<SeedResult> {
  const started = Date.now();
  const first = options.firstUserId ?? 1;
  const n = options.users;
  const half = Math.min(Math.floor(options.friendsPerUser / 2), Math.floor((n - 1) / 2));
  const conversationCount = options.conversations ?? Math.floor(n / 2);
  const next = random(options.seed ?? 42);
  const totalRows = n + 2 * n * half + conversationCount;
  let rowsDone = 0;
  const advance = (rows: number) => {
    rowsDone += rows;
    options.onProgress?.(rowsDone, totalRows);
  };
  options.onProgress?.(0, totalRows);

  for (let start = 0; start < n; start += CHUNK) {
    const ids = Array.from({ length: Math.min(CHUNK, n - start) }, (_, i) => first + start + i);
    await db.execute(sql`insert into users (id) select unnest(${bigintArray(ids)}) on conflict do nothing`);
    advance(ids.length);
  }

  let follows = 0;
  let followers: number[] = [];
  let followees: number[] = [];
  const flushFollows = async () => {
    if (followers.length === 0) return;
    await db.execute(sql`
      insert into follows (follower_id, followee_id)
      select * from unnest(${bigintArray(followers)}, ${bigintArray(followees)}) on conflict do nothing`);
    follows += followers.length;
    advance(followers.length);
    followers = [];
    followees = [];
  };
  for (let i = 0; i < n; i++) {
    for (let d = 1; d <= half; d++) {
      const a = first + i;
      const b = first + ((i + d) % n);
      followers.push(a, b);
      followees.push(b, a);
    }
    if (followers.length >= CHUNK) await flushFollows();
  }
  await flushFollows();

  let participants = 0;
  const firstConversation = 1;
  for (let start = 0; start < conversationCount; start += CHUNK / 5) {
    const count = Math.min(CHUNK / 5, conversationCount - start);
    const conversationIds = Array.from({ length: count }, (_, i) => firstConversation + start + i);
    const convOf: number[] = [];
    const userOf: number[] = [];
    for (const id of conversationIds) {
      const size = 2 + Math.floor(next() * 7);
      const members = new Set<number>();
      while (members.size < Math.min(size, n)) members.add(first + Math.floor(next() * n));
      for (const user of members) {
        convOf.push(id);
        userOf.push(user);
      }
    }
    await db.execute(
      sql`insert into conversations (id) select unnest(${bigintArray(conversationIds)}) on conflict do nothing`,
    );
    await db.execute(sql`
      insert into conversation_participants (conversation_id, user_id)
      select * from unnest(${bigintArray(convOf)}, ${bigintArray(userOf)}) on conflict do nothing`);
    participants += convOf.length;
    advance(count);
  }

  // Fresh statistics, or the planner scans whole tables for the visibility query until autovacuum gets to it.
  await db.execute(sql`analyze users, follows, conversations, conversation_participants`);
  return { users: n, follows, conversations: conversationCount, participants, ms: Date.now() - started };
}
