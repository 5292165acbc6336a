import { sql } from 'drizzle-orm';
import { bigint, check, index, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

const id = (name: string) => bigint(name, { mode: 'number' });

export const users = pgTable('users', {
  id: id('id').primaryKey(),
  username: text('username'),
});

export const follows = pgTable(
  'follows',
  {
    followerId: id('follower_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    followeeId: id('followee_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.followerId, t.followeeId] }),
    // The primary key serves "whom does X follow"; this serves the reverse, which the mutual check needs.
    index('follows_followee_follower_idx').on(t.followeeId, t.followerId),
  ],
);

export const conversations = pgTable('conversations', {
  id: id('id').primaryKey(),
});

export const conversationParticipants = pgTable(
  'conversation_participants',
  {
    conversationId: id('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userId: id('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.conversationId, t.userId] }),
    index('conversation_participants_user_idx').on(t.userId),
  ],
);

export const userPresence = pgTable(
  'user_presence',
  {
    userId: id('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    status: text('status').notNull().default('offline'),
    lastSeen: timestamp('last_seen', { withTimezone: true, precision: 3, mode: 'date' }),
    lastHeartbeat: timestamp('last_heartbeat', { withTimezone: true, precision: 3, mode: 'date' }),
    /** Version of the presence: grows with every change, so an older write never replaces a newer one. */
    v: bigint('v', { mode: 'number' }).notNull().default(0),
  },
  (t) => [
    check('user_presence_status_check', sql`${t.status} in ('online', 'away', 'offline')`),
    index('user_presence_user_last_seen_idx').on(t.userId, t.lastSeen),
  ],
);
