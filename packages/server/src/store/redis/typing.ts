import type { Redis } from 'ioredis';
import type { TypingEntry } from '../../core/ports.js';
import type { ConversationId, UserId } from '../../core/types.js';
import { parseTypingDueMember, type RedisKeys, typingDueMember } from './keys.js';
import { runScript } from './scripts.js';

/**
 * Typing per conversation: a sorted set per conversation scored by expiry, since a set cannot expire one
 * member, and one index of every entry by expiry for the sweep that announces the ends nobody stopped.
 */
export class RedisTyping {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async startTyping(
    userId: UserId,
    conversationId: ConversationId,
    at: number,
    ttlMs: number,
  ): Promise<boolean> {
    const announce = await runScript(
      this.redis,
      'typing-start',
      [this.keys.typing(conversationId), this.keys.typingDue, this.keys.user(userId)],
      [userId, conversationId, typingDueMember(userId, conversationId), at, ttlMs],
    );
    return announce === 1;
  }

  stopTyping(userId: UserId, conversationId: ConversationId): Promise<boolean> {
    return this.stop(userId, conversationId, '');
  }

  expireTyping(userId: UserId, conversationId: ConversationId, at: number): Promise<boolean> {
    return this.stop(userId, conversationId, at);
  }

  private async stop(userId: UserId, conversationId: ConversationId, at: number | ''): Promise<boolean> {
    const removed = await runScript(
      this.redis,
      'typing-stop',
      [this.keys.typing(conversationId), this.keys.typingDue, this.keys.user(userId)],
      [userId, conversationId, typingDueMember(userId, conversationId), at],
    );
    return removed === 1;
  }

  async dueTyping(at: number, limit: number): Promise<TypingEntry[]> {
    const members = await this.redis.zrangebyscore(this.keys.typingDue, '-inf', at, 'LIMIT', 0, limit);
    return members.map(parseTypingDueMember);
  }

  async typingIn(conversationId: ConversationId, at: number): Promise<UserId[]> {
    const ids = await this.redis.zrangebyscore(this.keys.typing(conversationId), `(${at}`, '+inf');
    return ids.map(Number);
  }
}
