import type { PresenceClient } from '@presence/client';
import { createContext, useContext } from 'react';
import type { PresenceSubscriptions } from './presence-subscriptions.js';

/** What a `PresenceProvider` hands down: the client, and the per-user subscriptions the hooks share. */
export interface PresenceContextValue {
  client: PresenceClient;
  subscriptions: PresenceSubscriptions;
}

export const PresenceContext = createContext<PresenceContextValue | null>(null);
PresenceContext.displayName = 'PresenceContext';

/** The provider's value; throws where there is none, which is always a mistake in the tree's shape. */
export function usePresenceContext(hook: string): PresenceContextValue {
  const value = useContext(PresenceContext);
  if (!value) throw new Error(`${hook} must be called inside a <PresenceProvider>`);
  return value;
}

/**
 * The `PresenceClient` of the nearest `PresenceProvider`, for what the hooks do not cover: setting one's own
 * status, signing off, listening to `connection` or `error` events.
 *
 * @example
 * function AwayButton() {
 *   const client = usePresenceClient();
 *   return <button onClick={() => client.setStatus('away')}>Be right back</button>;
 * }
 */
export function usePresenceClient(): PresenceClient {
  return usePresenceContext('usePresenceClient').client;
}
