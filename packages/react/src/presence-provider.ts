import { PresenceClient, type PresenceClientOptions } from '@presence/client';
import { createElement, type ReactNode, useEffect, useMemo, useState } from 'react';
import { PresenceContext, type PresenceContextValue } from './context.js';
import { PresenceSubscriptions } from './presence-subscriptions.js';

/**
 * Either a client you made and manage (connect it, close it), or the options for one the provider makes,
 * connects on mount and closes on unmount.
 */
export type PresenceProviderProps =
  | { client: PresenceClient; options?: undefined; children?: ReactNode }
  | { options: PresenceClientOptions; client?: undefined; children?: ReactNode };

/**
 * Makes a presence client available to the hooks below it.
 *
 * Given `client`, the provider only reads it: connecting and closing stay with you, so a client can outlive
 * the provider or be shared by several. Given `options`, it creates a client once (later changes to
 * `options` are ignored; change the provider's `key` to start over), connects it when mounted and closes it
 * when unmounted.
 *
 * @example
 * const client = new PresenceClient({ url: 'https://presence.example.com', token: fetchToken });
 * void client.connect();
 * createRoot(root).render(
 *   <PresenceProvider client={client}>
 *     <App />
 *   </PresenceProvider>,
 * );
 *
 * @example
 * <PresenceProvider options={{ token: () => fetchToken() }}>
 *   <App />
 * </PresenceProvider>
 */
export function PresenceProvider(props: PresenceProviderProps): ReactNode {
  const given = props.client;
  const options = props.options;
  // Created during the first render so the hooks have a client at once; creating one starts nothing.
  const [owned] = useState(() => (given || !options ? null : new PresenceClient(options)));
  const client = given ?? owned;
  if (!client) throw new TypeError('PresenceProvider needs a `client` or `options`');

  useEffect(() => {
    if (!owned) return;
    // connect() rejects only when close() comes first, which is this effect's own clean-up.
    owned.connect().catch(() => {});
    return () => owned.close();
  }, [owned]);

  const value = useMemo<PresenceContextValue>(
    () => ({ client, subscriptions: new PresenceSubscriptions(client) }),
    [client],
  );
  return createElement(PresenceContext.Provider, { value }, props.children);
}
