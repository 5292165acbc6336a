import type { UserPresence } from '@presence/protocol';
import { MAX_SNAPSHOT_USERS } from '@presence/protocol';
import type { PresenceDurable, PresenceReads } from './ports.js';
import { presenceOf } from './presence-view.js';
import type { Privacy } from './privacy.js';
import type { UserState } from './rules.js';
import type { ConversationId, UserId } from './types.js';
import type { Visibility } from './visibility.js';

export interface ReadsOptions {
  store: PresenceReads & { readonly degraded: boolean };
  durable: Pick<PresenceDurable, 'getPresences'>;
  visibility: Visibility;
  privacy: Privacy;
  clock: () => number;
  presenceTimeoutMs: number;
  onError: (error: unknown, context: string) => void;
}

const notOffline = (users: Iterable<UserPresence>): UserPresence[] =>
  [...users].filter((p) => p.status !== 'offline').sort((a, b) => a.user_id - b.user_id);

/**
 * Status reads, each guarded by visibility (a user outside visible(viewer) is answered exactly like a user
 * that does not exist) and by privacy settings (an invisible user is a real offline one; last_seen only where
 * the settings allow), applied before any filter or order so neither tells the truth either.
 */
export class Reads {
  constructor(private readonly options: ReadsOptions) {}

  /**
   * Presence of many users: hot state first, PostgreSQL for the rest (then cached). A user the database thinks
   * online but with no hot state is offline: liveness lives in the hot store, and a row can outlive a crash.
   */
  async presences(userIds: readonly UserId[]): Promise<Map<UserId, UserPresence>> {
    const { store, durable, clock, presenceTimeoutMs } = this.options;
    const result = new Map<UserId, UserPresence>();
    if (userIds.length === 0) return result;
    const hot = await store.getMany(userIds);
    const missing: UserId[] = [];
    for (const userId of userIds) {
      const state = hot.get(userId);
      if (state) result.set(userId, presenceOf(userId, state));
      else missing.push(userId);
    }
    if (missing.length === 0) return result;
    const stored = await durable.getPresences(missing);
    const refill = new Map<UserId, UserState>();
    const now = clock();
    for (const userId of missing) {
      const record = stored.get(userId);
      const lastSeen = record?.lastSeen ?? null;
      // While degraded, PostgreSQL is the best knowledge there is of users this process has not seen.
      if (
        store.degraded &&
        record &&
        record.status !== 'offline' &&
        now - (lastSeen ?? 0) < presenceTimeoutMs
      ) {
        result.set(userId, presenceOf(userId, record));
        continue;
      }
      const state: UserState = {
        status: 'offline',
        lastSeen,
        lastHeartbeat: record?.lastHeartbeat ?? null,
        v: record?.v ?? 0,
        devices: {},
        // A custom status outlives its user going offline: the record keeps it until it expires or is cleared.
        custom: record?.custom ?? null,
      };
      result.set(userId, presenceOf(userId, state));
      refill.set(userId, state);
    }
    await store.fill(refill).catch((error) => this.options.onError(error, 'refill'));
    return result;
  }

  /** The presences of these users as `viewer` sees them. */
  private async viewed(viewer: UserId, userIds: readonly UserId[]): Promise<UserPresence[]> {
    return this.options.privacy.viewedBy(viewer, [...(await this.presences(userIds)).values()]);
  }

  /** A user's presence for `viewer`: null unless it is the viewer or in visible(viewer). */
  async status(viewer: UserId, userId: UserId): Promise<UserPresence | null> {
    if (viewer !== userId && !(await this.options.visibility.visibleTo(viewer)).has(userId)) return null;
    const presence = (await this.presences([userId])).get(userId);
    if (presence === undefined) return null;
    return (await this.options.privacy.viewedBy(viewer, [presence]))[0] ?? null;
  }

  /**
   * The presences of the requested users who are the viewer or in visible(viewer), in request order; the
   * others are left out exactly as if they did not exist.
   */
  async statuses(viewer: UserId, userIds: readonly UserId[]): Promise<UserPresence[]> {
    const visible = await this.options.visibility.visibleTo(viewer);
    const wanted = [...new Set(userIds)].filter((id) => id === viewer || visible.has(id));
    const found = await this.presences(wanted);
    return this.options.privacy.viewedBy(
      viewer,
      wanted.map((id) => found.get(id) as UserPresence),
    );
  }

  /** The users of visible(viewer) who are not offline. */
  async onlineFriends(viewer: UserId): Promise<UserPresence[]> {
    const visible = [...(await this.options.visibility.visibleTo(viewer))];
    return notOffline(await this.viewed(viewer, visible));
  }

  /**
   * Participants not offline whom the viewer may see (a participant blocked either way is left out); null
   * unless the viewer takes part.
   */
  async onlineInConversation(viewer: UserId, conversationId: ConversationId): Promise<UserPresence[] | null> {
    const { visibility } = this.options;
    const [participants, visible] = await Promise.all([
      visibility.participantsOf(conversationId),
      visibility.visibleTo(viewer),
    ]);
    if (!participants.has(viewer)) return null;
    const shown = [...participants].filter((id) => id === viewer || visible.has(id));
    return notOffline(await this.viewed(viewer, shown));
  }

  /** Every user of visible(user), the most recently seen first, at most MAX_SNAPSHOT_USERS. */
  async snapshot(userId: UserId): Promise<UserPresence[]> {
    const users = await this.viewed(userId, [...(await this.options.visibility.visibleTo(userId))]);
    users.sort((a, b) => (b.last_seen ?? '').localeCompare(a.last_seen ?? '') || a.user_id - b.user_id);
    return users.slice(0, MAX_SNAPSHOT_USERS);
  }
}
