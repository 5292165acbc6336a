import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { usePresenceContext } from './context.js';

/** What `useTyping` returns. */
export interface TypingState {
  /** Ids of the other users typing in the conversation, in the order they started. */
  typing: readonly number[];
  /**
   * Call on every keystroke: sends a start at most once per typing interval while keystrokes continue, and a
   * stop after a silence. Stable across renders.
   */
  notifyTyping(): void;
  /** Call when the message is sent or the field is cleared or blurred: sends a stop if a start is out. */
  stopTyping(): void;
}

/**
 * Who else is typing in a conversation, and the typing etiquette for this user there (the SDK's
 * `TypingIndicator`). A component that called `notifyTyping` sends a stop when it unmounts or moves to
 * another conversation, so nobody is left "typing…" after the composer is gone. The component re-renders
 * only when the set of typists here changes.
 *
 * @example
 * function Composer({ conversationId }: { conversationId: number }) {
 *   const { typing, notifyTyping, stopTyping } = useTyping(conversationId);
 *   return (
 *     <form onSubmit={(e) => { e.preventDefault(); stopTyping(); send(); }}>
 *       {typing.length > 0 && <p>{typing.length} typing…</p>}
 *       <input onInput={notifyTyping} onBlur={stopTyping} />
 *     </form>
 *   );
 * }
 */
export function useTyping(conversationId: number): TypingState {
  const { client, subscriptions } = usePresenceContext('useTyping');
  const subscribe = useCallback(
    (listener: () => void) => subscriptions.subscribeTyping(conversationId, listener),
    [subscriptions, conversationId],
  );
  const read = useCallback(() => subscriptions.typing(conversationId), [subscriptions, conversationId]);
  const typing = useSyncExternalStore(subscribe, read, read);

  // The client has one indicator per conversation, shared by every component there: only one that has
  // been typing may stop it on unmount, or a display elsewhere unmounting would cut off the composer.
  const notified = useRef(false);
  const notifyTyping = useCallback(() => {
    notified.current = true;
    client.typing(conversationId).keystroke();
  }, [client, conversationId]);
  const stopTyping = useCallback(() => {
    notified.current = false;
    client.typing(conversationId).stop();
  }, [client, conversationId]);
  useEffect(
    () => () => {
      if (!notified.current) return;
      notified.current = false;
      client.typing(conversationId).stop();
    },
    [client, conversationId],
  );

  return useMemo(() => ({ typing, notifyTyping, stopTyping }), [typing, notifyTyping, stopTyping]);
}
