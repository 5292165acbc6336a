import type { TypingEntry } from '../../core/ports.js';
import type { ConversationId, UserId } from '../../core/types.js';
import { allShards, parseTypingDueMember, type RedisKeys, typingDueMember } from './keys.js';
import type { RedisClient } from './replies.js';
import { runScript } from './scripts.js';

/**
 * Typing per conversation: a sorted set per conversation scored by expiry, since a set cannot expire one
 * member, and one index of every entry by expiry for the sweep that announces the ends nobody stopped. On a
 * cluster both are split by the typing user's shard, so a script's keys share the user's slot; reading who
 * types in a conversation then reads every shard's set of it.
 */
export class RedisTyping {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async startTyping(
    userId: UserId,
    conversationId: ConversationId,
    at: number,
    ttlMs: number,
  ): Promise<boolean> {
    const announce = await runScript(this.redis, 'typing-start', this.scriptKeys(userId, conversationId), [
      userId,
      conversationId,
      typingDueMember(userId, conversationId),
      at,
      ttlMs,
    ]);
    return announce === 1;
  }

  stopTyping(userId: UserId, conversationId: ConversationId): Promise<boolean> {
    return this.stop(userId, conversationId, '');
  }

  expireTyping(userId: UserId, conversationId: ConversationId, at: number): Promise<boolean> {
    return this.stop(userId, conversationId, at);
  }

  private async stop(userId: UserId, conversationId: ConversationId, at: number | ''): Promise<boolean> {
    const removed = await runScript(this.redis, 'typing-stop', this.scriptKeys(userId, conversationId), [
      userId,
      conversationId,
      typingDueMember(userId, conversationId),
      at,
    ]);
    return removed === 1;
  }

  async dueTyping(at: number, limit: number): Promise<TypingEntry[]> {
    const pages = await Promise.all(
      allShards(this.keys).map((shard) =>
        this.redis.zrangebyscore(this.keys.typingDue(shard), '-inf', at, 'LIMIT', 0, limit),
      ),
    );
    return pages.flat().slice(0, limit).map(parseTypingDueMember);
  }

  async typingIn(conversationId: ConversationId, at: number): Promise<UserId[]> {
    const pages = await Promise.all(
      allShards(this.keys).map((shard) =>
        this.redis.zrangebyscore(this.keys.typing(conversationId, shard), `(${at}`, '+inf'),
      ),
    );
    return pages.flat().map(Number);
  }

  /** The conversation's typing set and typing index of the user's shard, and the user's hash. */
  private scriptKeys(userId: UserId, conversationId: ConversationId): string[] {
    const shard = this.keys.shardOf(userId);
    return [this.keys.typing(conversationId, shard), this.keys.typingDue(shard), this.keys.user(userId)];
  }
}
