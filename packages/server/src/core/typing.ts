import { DeadlineWheel } from './deadline-wheel.js';
import type { FanOut } from './fan-out.js';
import type { TypingStore } from './ports.js';
import { inSlices, SLICE } from './slices.js';
import type { ConversationId, UserId } from './types.js';
import type { Visibility } from './visibility.js';

export interface TypingOptions {
  store: TypingStore;
  visibility: Visibility;
  fanOut: FanOut;
  clock: () => number;
  ttlMs: number;
  resolutionMs: number;
  onError: (error: unknown, context: string) => void;
}

/** Wheel keys: one entry per user and conversation. */
const wheelKey = (userId: UserId, conversationId: ConversationId): string => `${userId}:${conversationId}`;

/** Batch size of the crash-safe typing sweep. */
const SWEEP_LIMIT = 5_000;

/**
 * Who is typing where. A start announces `is_typing: true` only when the user was not typing there already;
 * with no new start for the TTL, `is_typing: false` goes out from this process's wheel (fast path) or, if the
 * process that saw the start died, from any process's sweep over the store's due entries.
 */
export class Typing {
  private readonly deadlines: DeadlineWheel<string>;

  constructor(private readonly options: TypingOptions) {
    this.deadlines = new DeadlineWheel(options.resolutionMs);
  }

  /** Starts typing; false when the user does not take part in the conversation. */
  async start(userId: UserId, conversationId: ConversationId): Promise<boolean> {
    const { visibility, store, clock, ttlMs, fanOut } = this.options;
    if (!(await visibility.participantsOf(conversationId)).has(userId)) return false;
    const at = clock();
    const announce = await store.startTyping(userId, conversationId, at, ttlMs);
    this.deadlines.schedule(wheelKey(userId, conversationId), at + ttlMs);
    if (announce) fanOut.typing(userId, conversationId, true);
    return true;
  }

  /** Stops typing at once; false when the user does not take part in the conversation. */
  async stop(userId: UserId, conversationId: ConversationId): Promise<boolean> {
    const { visibility, store, fanOut } = this.options;
    if (!(await visibility.participantsOf(conversationId)).has(userId)) return false;
    this.deadlines.cancel(wheelKey(userId, conversationId));
    if (await store.stopTyping(userId, conversationId)) fanOut.typing(userId, conversationId, false);
    return true;
  }

  /** Typing that ended with the user going offline. */
  ended(userId: UserId, conversationIds: readonly ConversationId[]): void {
    for (const conversationId of conversationIds) {
      this.deadlines.cancel(wheelKey(userId, conversationId));
      this.options.fanOut.typing(userId, conversationId, false);
    }
  }

  /** Expires the typing whose local deadline has passed. */
  async tick(now: number): Promise<void> {
    await inSlices(this.deadlines.due(now), SLICE, (key) => {
      const [userId, conversationId] = key.split(':').map(Number) as [number, number];
      return this.expire(userId, conversationId, now);
    });
  }

  /** Expires typing past its expiry wherever it started (a process that saw the start may have died). */
  async sweep(now: number): Promise<void> {
    const due = await this.options.store.dueTyping(now, SWEEP_LIMIT);
    await inSlices(due, SLICE, (t) => this.expire(t.userId, t.conversationId, now));
  }

  private async expire(userId: UserId, conversationId: ConversationId, now: number): Promise<void> {
    try {
      if (await this.options.store.expireTyping(userId, conversationId, now))
        this.options.fanOut.typing(userId, conversationId, false);
    } catch (error) {
      // Try again shortly rather than leave the typing on.
      this.deadlines.schedule(wheelKey(userId, conversationId), now + 1_000);
      this.options.onError(error, 'typing expiry');
    }
  }
}
