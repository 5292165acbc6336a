/** The three statuses a user can have. Typing is per conversation and travels separately. */
export const STATUSES = ['online', 'away', 'offline'] as const;
export type PresenceStatus = (typeof STATUSES)[number];

export function isStatus(value: unknown): value is PresenceStatus {
  return value === 'online' || value === 'away' || value === 'offline';
}

/** A user's presence as every wire carries it. `last_seen` is ISO 8601 UTC with milliseconds, or null when never seen. */
export interface UserPresence {
  user_id: number;
  status: PresenceStatus;
  last_seen: string | null;
  /**
   * Version: grows strictly with every change of this user's presence, on every process and across restarts.
   * Frames may arrive in any order; keep the one with the larger `v`.
   */
  v: number;
}

/** User and conversation ids are positive integers that fit in a JSON number exactly. */
export function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** Parses a decimal id from a path segment or a JWT `sub`; null when it is not a positive safe integer. */
export function parseId(text: string): number | null {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) return null;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : null;
}
