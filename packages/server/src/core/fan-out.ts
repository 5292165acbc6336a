import type { StatusMessage, TypingMessage, UserPresence } from '@presence/protocol';
import { type Bus, userGroup } from './ports.js';
import { presenceOf } from './presence-view.js';
import type { PresenceWriter } from './presence-writer.js';
import type { UserState } from './rules.js';
import { QueueShed } from './turn-batcher.js';
import type { ConversationId, Transition, UserId } from './types.js';
import type { Visibility } from './visibility.js';
import { encodeNotice } from './visibility-notices.js';

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
 * written through to the durable record; typing goes to the conversation's participants who may see the typist
 * (a block between two participants stops it).
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
    writer
      .write([{ userId, status, lastSeen, lastHeartbeat, v, clients: transition.clients }])
      .catch(() => {});
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
    const { visibility, bus } = this.options;
    Promise.all([visibility.participantsOf(conversationId), visibility.visibleTo(userId)]).then(
      ([participants, visible]) => {
        const groups: string[] = [];
        for (const id of participants) if (id === userId || visible.has(id)) groups.push(userGroup(id));
        bus.publish(groups, payload);
      },
      (error) => {
        if (!(error instanceof QueueShed)) this.options.onError(error, 'participants');
      },
    );
  }

  /**
   * `viewer` and `otherId` stopped seeing each other (a block): every connection of the viewer, on every
   * process, hears once that the other is offline, with no last_seen and version `v` (see Graph.block).
   */
  hide(viewer: UserId, otherId: UserId, v: number): void {
    const frame: StatusMessage = {
      type: 'presence.status',
      user_id: otherId,
      status: 'offline',
      last_seen: null,
      v,
      clients: {},
    };
    this.options.bus.publish([userGroup(viewer)], encodeNotice({ notice: 'hide', user_id: otherId, frame }));
  }

  /** The block between them ended: the viewer's connections get the other's presence when it is visible again. */
  show(viewer: UserId, otherId: UserId, other: UserPresence | null): void {
    const frame: StatusMessage | null = other && { type: 'presence.status', ...other };
    this.options.bus.publish([userGroup(viewer)], encodeNotice({ notice: 'show', user_id: otherId, frame }));
  }
}
