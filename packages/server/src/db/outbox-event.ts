import type { Clients, PresenceStatus } from '@presence/protocol';
import type { StoredCustom, UserId } from '../core/types.js';

/** A webhook event waiting in the outbox. */
export interface OutboxEvent {
  /** Enqueue order. */
  seq: number;
  userId: UserId;
  status: PresenceStatus;
  lastSeen: number | null;
  v: number;
  clients: Clients;
  /** The custom status at that version. */
  custom: StoredCustom | null;
  /** The user was invisible then (the event says so). */
  invisible: boolean;
  /** When the change was stored, epoch ms. */
  at: number;
}
