/**
 * React bindings for the presence client SDK: a provider around a `PresenceClient`, and hooks that subscribe
 * per user and per conversation, so a component re-renders only when what it shows has changed.
 */
export type { CustomStatus, UserPresence } from '@presence/client';
export { usePresenceClient } from './context.js';
export { PresenceProvider, type PresenceProviderProps } from './presence-provider.js';
export { usePresence, usePresenceList } from './use-presence.js';
export { type TypingState, useTyping } from './use-typing.js';
