import type { ServerMessage } from '@presence/protocol';
import type { PresenceStore, StatusEvent, TypingEvent } from './presence-store.js';
import type { WatchList } from './watch-list.js';

export interface FrameChanges {
  status: StatusEvent[];
  typing: TypingEvent[];
}

/**
 * Applies a server frame to the store and returns the changes to announce. With manual subscriptions
 * (`watched` set) a snapshot holds only oneself and keeps the watched users, an answer drops the users it
 * leaves out (no longer visible), and frames about users unwatched since are dropped.
 */
export function applyFrame(
  store: PresenceStore,
  message: ServerMessage,
  me: number | null,
  watched: WatchList | null,
): FrameChanges {
  const changes: FrameChanges = { status: [], typing: [] };
  const apply = (user: Parameters<PresenceStore['applyStatus']>[0]) => {
    const change = store.applyStatus(user);
    if (!change) return;
    changes.status.push(change);
    // An offline user types nowhere; a block announces offline with no typing stop behind it.
    if (change.status === 'offline') changes.typing.push(...store.clearTypingOf(change.user_id));
  };
  switch (message.type) {
    case 'presence.snapshot': {
      // One's own presence comes apart from the visible users; the store keeps both.
      const users = message.self ? [...message.users, message.self] : message.users;
      if (watched) for (const user of users) apply(user);
      else changes.status.push(...store.applySnapshot(users));
      break;
    }
    case 'presence.subscribed':
      if (!watched) break;
      store.forget(watched.answered(message.users).filter((id) => id !== me));
      // An answer may come for a user unwatched since the request: keep only the watched.
      for (const user of message.users) if (watched.has(user.user_id)) apply(user);
      break;
    case 'presence.status':
      if (watched && message.user_id !== me && !watched.has(message.user_id)) break;
      apply(message);
      break;
    case 'presence.typing': {
      const change = store.applyTyping(message);
      if (change) changes.typing.push(change);
      break;
    }
    case 'error':
      break;
  }
  return changes;
}
