import type { StatusMessage, TypingMessage } from '@presence/protocol';
import { type Bus, userGroup } from './ports.js';
import { presenceOf } from './presence-view.js';
import type { PresenceWriter } from './presence-writer.js';
import type { UserState } from './rules.js';
import { QueueShed } from './turn-batcher.js';
import type { ConversationId, Transition, UserId } from './types.js';
import type { Visibility } from './visibility.js';

export interface FanOutOptions {
  bus: Bus;
  visibility: Visibility;
  writer: PresenceWriter;
  onTransition: (transition: Transition) => void;
  onTyping: (message: TypingMessage) => void;
  onError: (error: unknown, context: string) => void;
}

/**
 * Tells exactly the right people: a transition goes to the user's own connections and visible(user) and is
 * written through to the durable record; typing goes to the conversation's participants.
 */
export class FanOut {
  constructor(private readonly options: FanOutOptions) {}

  /** Announces a transition this process won; `lastHeartbeat` is stored with it when a heartbeat caused it. */
  transition(transition: Transition, lastHeartbeat: number | null): void {
    const { userId, status, lastSeen, v } = transition;
    const { bus, visibility, writer } = this.options;
    this.options.onTransition(transition);
    const message: StatusMessage = { type: 'presence.status', ...presenceOf(userId, transition) };
    const payload = JSON.stringify(message);
    visibility.visibleTo(userId).then(
      (subscribers) => {
        const groups = [userGroup(userId)];
        for (const id of subscribers) groups.push(userGroup(id));
        bus.publish(groups, payload);
      },
      (error) => {
        // Without the subscriber list, at least the user's own devices hear it. A shed lookup is counted already.
        bus.publish([userGroup(userId)], payload);
        if (!(error instanceof QueueShed)) this.options.onError(error, 'subscribers');
      },
    );
    writer.write([{ userId, status, lastSeen, lastHeartbeat, v }]).catch(() => {});
  }

  /** Announces a state learned during an outage of the shared store, as the change it was. */
  restored(userId: UserId, state: UserState): void {
    const { status, lastSeen, lastHeartbeat, v } = state;
    const { clients } = presenceOf(userId, state);
    this.transition({ userId, status, lastSeen, v, previous: status, clients }, lastHeartbeat);
  }

  typing(userId: UserId, conversationId: ConversationId, isTyping: boolean): void {
    const message: TypingMessage = {
      type: 'presence.typing',
      user_id: userId,
      conversation_id: conversationId,
      is_typing: isTyping,
    };
    this.options.onTyping(message);
    const payload = JSON.stringify(message);
    this.options.visibility.participantsOf(conversationId).then(
      (participants) => this.options.bus.publish([...participants].map(userGroup), payload),
      (error) => {
        if (!(error instanceof QueueShed)) this.options.onError(error, 'participants');
      },
    );
  }
}
