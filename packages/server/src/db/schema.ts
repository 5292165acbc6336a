import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

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

/**
 * Blocks from the host application: while a block stands in either direction, neither user is in the other's
 * visible set, whatever follows and conversations say. The either-direction check is two probes of the
 * primary key, (a, b) and (b, a); the reverse index serves "who blocks X" and the cascade when a user goes.
 */
export const blocks = pgTable(
  'blocks',
  {
    blockerId: id('blocker_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    blockedId: id('blocked_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3, mode: 'date' })
      .notNull()
      .defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.blockerId, t.blockedId] }),
    index('blocks_blocked_blocker_idx').on(t.blockedId, t.blockerId),
  ],
);

/**
 * Privacy settings (contract section 13); a user without a row has the defaults. While `invisible`, others see
 * the user offline with the `last_seen` and `v` frozen here when it was set (`hidden_last_seen`, `hidden_v`).
 */
export const privacySettings = pgTable(
  'privacy_settings',
  {
    userId: id('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    invisible: boolean('invisible').notNull().default(false),
    lastSeen: text('last_seen').notNull().default('everyone'),
    hiddenLastSeen: timestamp('hidden_last_seen', { withTimezone: true, precision: 3, mode: 'date' }),
    hiddenV: bigint('hidden_v', { mode: 'number' }),
  },
  (t) => [check('privacy_settings_last_seen_check', sql`${t.lastSeen} in ('everyone', 'friends', 'nobody')`)],
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
    /** The most available status per kind of client at that version, `{"web": "online"}`; `{}` when offline. */
    clients: jsonb('clients').$type<Record<string, string>>().notNull().default({}),
    /**
     * The custom status at that version, `{"text", "emoji", "expires_at"}` (expiry in epoch ms or null), kept
     * while the user is offline until it expires or is cleared; null for none.
     */
    custom: jsonb('custom').$type<Record<string, unknown>>(),
  },
  (t) => [
    check('user_presence_status_check', sql`${t.status} in ('online', 'away', 'offline')`),
    index('user_presence_user_last_seen_idx').on(t.userId, t.lastSeen),
  ],
);

/**
 * Webhook events waiting for a 2xx from the receiver, written in the same statement as the presence change
 * they announce, so a change is never stored without its event (nor an event without its change).
 */
export const presenceOutbox = pgTable(
  'presence_outbox',
  {
    /** Enqueue order, which per user is `v` order: a user's rows are written under that user's row lock. */
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: id('user_id').notNull(),
    status: text('status').notNull(),
    lastSeen: timestamp('last_seen', { withTimezone: true, precision: 3, mode: 'date' }),
    v: bigint('v', { mode: 'number' }).notNull(),
    clients: jsonb('clients').$type<Record<string, string>>().notNull().default({}),
    custom: jsonb('custom').$type<Record<string, unknown>>(),
    /** The user was invisible when the change was stored: the event says so (contract section 16). */
    invisible: boolean('invisible').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3, mode: 'date' })
      .notNull()
      .defaultNow(),
  },
  // One event per version: two writers racing with the same version enqueue it once.
  (t) => [uniqueIndex('presence_outbox_user_v_idx').on(t.userId, t.v)],
);
