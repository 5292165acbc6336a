import type { UserPresence } from '@presence/client';
import { useCallback, useMemo, useSyncExternalStore } from 'react';
import { usePresenceContext } from './context.js';

/**
 * One user's presence (`status`, `last_seen`, `v`, `clients`, `custom`), or undefined while the client has not
 * heard of them (before the first snapshot, or a user this one may not see). The component re-renders when
 * this user's presence changes (a custom status set, cleared or expired included), never for anyone else's.
 *
 * @example
 * function Dot({ userId }: { userId: number }) {
 *   const presence = usePresence(userId);
 *   const title = presence ? formatLastSeen(presence) : '';
 *   return <span className={`dot ${presence?.status ?? 'unknown'}`} title={title} />;
 * }
 *
 * @example
 * function CustomStatus({ userId }: { userId: number }) {
 *   const custom = usePresence(userId)?.custom;
 *   if (!custom) return null;
 *   return <span title={custom.expires_at ?? 'until cleared'}>{custom.emoji} {custom.text}</span>;
 * }
 */
export function usePresence(userId: number): UserPresence | undefined {
  const { subscriptions } = usePresenceContext('usePresence');
  const subscribe = useCallback(
    (listener: () => void) => subscriptions.subscribeUser(userId, listener),
    [subscriptions, userId],
  );
  const read = useCallback(() => subscriptions.presence(userId), [subscriptions, userId]);
  return useSyncExternalStore(subscribe, read, read);
}

/**
 * The presence of several users, in the order given (undefined where the client has not heard of one).
 * The array keeps its identity until one of these users changes, so it can go into a dependency list;
 * the component re-renders only for changes to these users.
 *
 * @example
 * function Members({ ids }: { ids: number[] }) {
 *   const presences = usePresenceList(ids);
 *   const online = presences.filter((p) => p?.status === 'online').length;
 *   return <p>{online} of {ids.length} online</p>;
 * }
 */
export function usePresenceList(userIds: readonly number[]): ReadonlyArray<UserPresence | undefined> {
  const { subscriptions } = usePresenceContext('usePresenceList');
  // Callers often pass a fresh array literal on every render; the ids themselves are what matter.
  const key = userIds.join(',');
  const ids = useMemo(() => (key === '' ? [] : key.split(',').map(Number)), [key]);
  const store = useMemo(() => {
    let last: ReadonlyArray<UserPresence | undefined> = [];
    const read = () => {
      const next = ids.map((id) => subscriptions.presence(id));
      if (next.length !== last.length || next.some((presence, i) => presence !== last[i])) last = next;
      return last;
    };
    return { subscribe: (listener: () => void) => subscriptions.subscribeUsers(ids, listener), read };
  }, [subscriptions, ids]);
  return useSyncExternalStore(store.subscribe, store.read, store.read);
}
