import type { UserPresence } from '@presence/protocol';
import type { FanOut } from './fan-out.js';
import type { PresenceDurable } from './ports.js';
import type { ConversationId, UserId } from './types.js';
import type { Visibility } from './visibility.js';

export interface GraphOptions {
  durable: PresenceDurable;
  visibility: Visibility;
  fanOut: FanOut;
  /** Current presences as anyone else sees them (an invisible user offline). */
  presences: (ids: readonly UserId[]) => Promise<Map<UserId, UserPresence>>;
  /** A presence as one viewer may see it (privacy settings: last_seen). */
  viewedBy: (viewer: UserId, presence: UserPresence) => Promise<UserPresence>;
  onUserKnown: (id: UserId) => void;
}

/**
 * Graph writes from the host application (users, follows, conversations, blocks): each is written to the
 * durable record, then every visibility list it touches is invalidated, at once, on every process.
 */
export class Graph {
  private readonly durable: PresenceDurable;
  private readonly visibility: Visibility;
  private readonly onUserKnown: (id: UserId) => void;

  constructor(private readonly options: GraphOptions) {
    this.durable = options.durable;
    this.visibility = options.visibility;
    this.onUserKnown = options.onUserKnown;
  }

  async upsertUser(id: UserId, username: string | null): Promise<void> {
    await this.durable.upsertUser(id, username);
    this.onUserKnown(id);
  }

  async follow(followerId: UserId, followeeId: UserId): Promise<void> {
    await this.durable.follow(followerId, followeeId);
    await this.visibility.changed([followerId, followeeId], []);
  }

  async unfollow(followerId: UserId, followeeId: UserId): Promise<void> {
    await this.durable.unfollow(followerId, followeeId);
    await this.visibility.changed([followerId, followeeId], []);
  }

  /**
   * A block: from now on neither user is in the other's visible set. Only a pair that was blocked in neither
   * direction changes: its graph versions are bumped first (every process then decides with the new graph), and
   * then each user's connections hear once that the other is offline.
   *
   * The frame carries the other's current `v` when the two saw each other before the block (no frame they got
   * can then outrank it), and 0 when they did not: `v` is about the time of the last change, which a user
   * outside the visible set must not learn.
   */
  async block(blockerId: UserId, blockedId: UserId): Promise<void> {
    const wasVisible = (await this.visibility.visibleTo(blockerId)).has(blockedId);
    if (!(await this.durable.block(blockerId, blockedId))) return;
    await this.visibility.changed([blockerId, blockedId], []);
    const presences = wasVisible ? await this.options.presences([blockerId, blockedId]) : null;
    const versionOf = (id: UserId) => presences?.get(id)?.v ?? 0;
    this.options.fanOut.hide(blockerId, blockedId, versionOf(blockedId));
    this.options.fanOut.hide(blockedId, blockerId, versionOf(blockerId));
  }

  /**
   * The end of a block: follows and conversations decide again. When the pair is blocked in neither direction
   * any more, each user's connections get the other's current presence if the two see each other again.
   */
  async unblock(blockerId: UserId, blockedId: UserId): Promise<void> {
    if (!(await this.durable.unblock(blockerId, blockedId))) return;
    await this.visibility.changed([blockerId, blockedId], []);
    const visible = (await this.visibility.visibleTo(blockerId)).has(blockedId);
    const presences = visible ? await this.options.presences([blockerId, blockedId]) : new Map();
    const seen = (viewer: UserId, other: UserId) => {
      const presence = presences.get(other);
      return presence ? this.options.viewedBy(viewer, presence) : Promise.resolve(null);
    };
    const [ofBlocked, ofBlocker] = await Promise.all([
      seen(blockerId, blockedId),
      seen(blockedId, blockerId),
    ]);
    this.options.fanOut.show(blockerId, blockedId, ofBlocked);
    this.options.fanOut.show(blockedId, blockerId, ofBlocker);
  }

  /** Replaces the participants; everyone before and after loses or gains visibility. */
  async setConversation(id: ConversationId, participantIds: readonly UserId[]): Promise<void> {
    const before = await this.durable.setConversation(id, participantIds);
    await this.visibility.changed([...before, ...participantIds], [id]);
  }

  async deleteConversation(id: ConversationId): Promise<void> {
    const before = await this.durable.deleteConversation(id);
    await this.visibility.changed(before, [id]);
  }
}
