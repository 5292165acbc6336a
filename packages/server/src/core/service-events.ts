import type { TypingMessage } from '@presence/protocol';
import type { ConversationId, Transition, UserId } from './types.js';

/**
 * What the service reports as it works: metrics count these, and tests await them instead of sleeping (in
 * the spirit of Phoenix's `report_events_to`).
 */
export interface ServiceEvents {
  /** A change of status this process won and announced. */
  transition: [Transition];
  /** A typing change this process announced. */
  typing: [TypingMessage];
  /** Records written through to the durable store (one event per statement). */
  written: [count: number];
  /** Cached visibility dropped after a graph change made here or on another process. */
  graphInvalidated: [users: readonly UserId[], conversations: readonly ConversationId[]];
  /** Work shed because a bounded queue was full (`write_through`): counted, never silent. */
  shed: [queue: string, count: number];
  /** Background work that failed with no caller to answer (it is retried where it can be). */
  failed: [error: unknown, context: string];
}
