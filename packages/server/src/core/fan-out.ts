import type { StatusMessage, TypingMessage, UserPresence } from '@presence/protocol';
import { type Bus, userGroup, watchGroup } from './ports.js';
import { presenceOf } from './presence-view.js';
import type { PresenceWriter } from './presence-writer.js';
import { lastSeenShown, type Privacy, publicPresence, type StoredPrivacy } from './privacy.js';
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

/** Who hears about a user: visible(user) split by whether they may see the user's last_seen. */
interface Audience {
  subject: StoredPrivacy;
  /** Groups of the watchers shown last_seen, and of those shown `null`. */
  withLastSeen: string[];
  withoutLastSeen: string[];
}

/**
 * Tells exactly the right people: a transition goes to the user's own connections and visible(user) (none of
 * them while the user is invisible; `last_seen: null` to those the settings keep it from) and is written
 * through to the durable record; typing goes to the conversation's participants who may see the typist (a
 * block between two participants, or the typist being invisible, stops it).
 */
export class FanOut {
  constructor(private readonly options: FanOutOptions) {}

  /**
   * visible(user) under the current settings (the subject's, each watcher's own `nobody`), read after the
   * settings version so a change made anywhere applies here at once.
   */
  private async audience(userId: UserId): Promise<Audience> {
    const { visibility, privacy } = this.options;
    const subscribers = await visibility.visibleTo(userId);
    // While PostgreSQL is down, the users whose settings are cached: a watcher not among them gets no last_seen,
    // and a subject not among them is announced to its own devices only (nothing could say it is visible).
    const settings = await privacy.settingsOf([userId, ...subscribers], true);
    const subject = settings.get(userId);
    if (subject === undefined) throw new Error('privacy settings unavailable');
    const mutuals = subject.lastSeen === 'friends' ? await privacy.mutualsOf(userId) : null;
    const withLastSeen: string[] = [];
    const withoutLastSeen: string[] = [];
    for (const id of subscribers) {
      const viewer = settings.get(id);
      const shown = viewer !== undefined && lastSeenShown(subject, viewer, mutuals?.has(id) === true);
      (shown ? withLastSeen : withoutLastSeen).push(userGroup(id));
    }
    return { subject, withLastSeen, withoutLastSeen };
  }

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
    this.audience(userId).then(
      ({ withLastSeen, withoutLastSeen }) => {
        if (withLastSeen.length > 0)
          bus.publish(withLastSeen, encodeNotice({ notice, cause: 'privacy', user_id: userId, frame }));
        if (withoutLastSeen.length > 0)
          bus.publish(
            withoutLastSeen,
            encodeNotice({ notice, cause: 'privacy', user_id: userId, frame: { ...frame, last_seen: null } }),
          );
      },
      (error) => this.options.onError(error, 'subscribers'),
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
