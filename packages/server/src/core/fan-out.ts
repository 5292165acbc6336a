import type { StatusMessage, TypingMessage, UserPresence } from '@presence/protocol';
import { type Bus, userGroup, watchGroup } from './ports.js';
import { presenceOf } from './presence-view.js';
import type { PresenceWriter } from './presence-writer.js';
import { type Privacy, publicPresence, type StoredPrivacy } from './privacy.js';
import type { UserState } from './rules.js';
import { QueueShed } from './turn-batcher.js';
import type { ConversationId, Transition, UserId } from './types.js';
import type { Visibility } from './visibility.js';
import { encodeNotice } from './visibility-notices.js';

export interface FanOutOptions {
  bus: Bus;
  visibility: Visibility;
  privacy: Privacy;
  writer: PresenceWriter;
  onTransition: (transition: Transition) => void;
  onTyping: (message: TypingMessage) => void;
  onError: (error: unknown, context: string) => void;
}

/**
 * Tells exactly the right people: a transition goes to the user's own connections and to the watchers of the
 * user on every process (the watch index decides who may see what) and is written through to the durable
 * record; typing goes to the conversation's participants who may see the typist (a block between two
 * participants, or the typist being invisible, stops it).
 */
export class FanOut {
  constructor(private readonly options: FanOutOptions) {}

  /**
   * Announces a transition this process won; `lastHeartbeat` is stored with it when a heartbeat caused it.
   * Published once, with no lookup: the user's own devices hear it through their group, and every process
   * finds the watchers it holds in its watch index, which applies visibility and privacy (see WatchIndex).
   */
  transition(transition: Transition, lastHeartbeat: number | null): void {
    const { userId, status, lastSeen, v } = transition;
    const { bus, writer } = this.options;
    this.options.onTransition(transition);
    const message: StatusMessage = { type: 'presence.status', ...presenceOf(userId, transition) };
    void bus.publish([userGroup(userId), watchGroup(userId)], JSON.stringify(message));
    writer
      .write([{ userId, status, lastSeen, lastHeartbeat, v, clients: transition.clients }])
      .catch(() => {});
  }

  /**
   * The user turned invisible on or off (`subject`, the settings now): `transition` is the presence at the
   * new version the change got. Their own devices get it as it is; every watcher gets a notice carrying what
   * they see now (offline with the frozen last_seen, or the real presence), which also stops frames about the
   * user already on their way under the old settings (as a block does). Written through, so the webhook fires.
   */
  invisibleChanged(transition: Transition, subject: StoredPrivacy): void {
    const { userId, status, lastSeen, v } = transition;
    const { bus, writer } = this.options;
    this.options.onTransition(transition);
    const presence = presenceOf(userId, transition);
    bus.publish([userGroup(userId)], JSON.stringify({ type: 'presence.status', ...presence }));
    const frame: StatusMessage = { type: 'presence.status', ...publicPresence(presence, subject) };
    const notice = subject.invisible ? 'hide' : 'show';
    // To the watchers through the watch index, like a transition: each gets it with the last_seen it may see.
    void bus.publish(
      [watchGroup(userId)],
      encodeNotice({ notice, cause: 'privacy', user_id: userId, frame }),
    );
    writer
      .write([{ userId, status, lastSeen, lastHeartbeat: null, v, clients: transition.clients }])
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
    const { visibility, privacy, bus } = this.options;
    Promise.all([
      visibility.participantsOf(conversationId),
      visibility.visibleTo(userId),
      privacy.settingsOf([userId], true),
    ]).then(
      ([participants, visible, settings]) => {
        // An invisible typist's typing reaches only their own devices (so does one whose settings are not
        // known while PostgreSQL is down).
        const invisible = settings.get(userId)?.invisible !== false;
        const groups: string[] = [];
        for (const id of participants)
          if (id === userId || (!invisible && visible.has(id))) groups.push(userGroup(id));
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
