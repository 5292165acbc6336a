import type { LastSeenVisibility, PresenceStatus } from '@presence/protocol';
import type { Clients, StoredCustom } from './rules.js';

export type { StoredCustom } from './rules.js';

export type UserId = number;
export type ConversationId = number;

/** A user's durable presence: what PostgreSQL stores and what status reads return. Times are epoch ms. */
export interface PresenceRecord {
  userId: UserId;
  status: PresenceStatus;
  /** Last heartbeat or WebSocket activity; null when the user was never seen. */
  lastSeen: number | null;
  /** Last UDP or HTTP heartbeat; null when none came yet. */
  lastHeartbeat: number | null;
  /** Version of the presence (grows with every change; 0 before the first). */
  v: number;
  /** Clients per kind at that version (written with it; absent: none). */
  clients?: Clients;
  /** The custom status at that version (written with it; absent: none). */
  custom?: StoredCustom | null;
}

/** A change of status or clients that subscribers must hear about. */
export interface Transition {
  userId: UserId;
  status: PresenceStatus;
  lastSeen: number | null;
  previous: PresenceStatus;
  /** The version the store gave this change, atomically with it. */
  v: number;
  /** The most available status per kind of client after the change. */
  clients: Clients;
  /** The custom status after the change (a change of its own when set, cleared or expired). */
  custom: StoredCustom | null;
}

/** A user's privacy settings as stored (contract section 13). Times are epoch ms. */
export interface StoredPrivacy {
  invisible: boolean;
  lastSeen: LastSeenVisibility;
  /**
   * While invisible: the presence others see, frozen when it was set (last_seen, and the version the change
   * got). Null until written, a moment after `invisible` itself.
   */
  hiddenLastSeen: number | null;
  hiddenV: number | null;
}

/** A clock owned by the caller, so rules and tests never read the wall clock themselves. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();
