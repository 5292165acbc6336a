import type { PresenceDurable } from './ports.js';
import type { ConversationId, UserId } from './types.js';
import type { Visibility } from './visibility.js';

/**
 * Graph writes from the host application (users, follows, conversations): each is written to the durable
 * record, then every visibility list it touches is invalidated, at once, on every process.
 */
export class Graph {
  constructor(
    private readonly durable: PresenceDurable,
    private readonly visibility: Visibility,
    private readonly onUserKnown: (id: UserId) => void,
  ) {}

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
