import type { PresenceStatus, UserPresence } from '@presence/protocol';
import type { UserId } from './types.js';

/** Epoch ms as ISO 8601 UTC with milliseconds (the wire format), null stays null. */
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The wire presence of a user in some state. */
export function presenceOf(
  userId: UserId,
  state: { status: PresenceStatus; lastSeen: number | null; v: number },
): UserPresence {
  return { user_id: userId, status: state.status, last_seen: iso(state.lastSeen), v: state.v };
}
