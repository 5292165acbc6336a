import type { PresenceStatus, UserPresence } from '@presence/protocol';
import { wireCustom } from './custom-rules.js';
import { type Clients, clientsOf, type DeviceState, type StoredCustom } from './rules.js';
import type { UserId } from './types.js';

/** Epoch ms as ISO 8601 UTC with milliseconds (the wire format), null stays null. */
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * Clients of a user known only by status (a durable record, a state with no device recorded): one web client
 * with that status, none when offline.
 */
const clientsByStatus = (status: PresenceStatus): Clients => (status === 'offline' ? {} : { web: status });

/** The wire presence of a user in some state: a transition (with clients), a hot state (with devices) or a record. */
export function presenceOf(
  userId: UserId,
  state: {
    status: PresenceStatus;
    lastSeen: number | null;
    v: number;
    clients?: Clients;
    devices?: Readonly<Record<string, DeviceState>>;
    custom?: StoredCustom | null;
  },
): UserPresence {
  let clients = state.clients;
  if (clients === undefined)
    clients =
      state.devices !== undefined && Object.keys(state.devices).length > 0
        ? clientsOf(state.devices)
        : clientsByStatus(state.status);
  if (state.status === 'offline') clients = {};
  return {
    user_id: userId,
    status: state.status,
    last_seen: iso(state.lastSeen),
    v: state.v,
    clients,
    custom: wireCustom(state.custom),
  };
}
