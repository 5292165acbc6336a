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
  /** The most available status per kind of client over live devices; empty when offline. */
  clients: Clients;
  /**
   * The user's custom status (contract section 14), or null when none is set, it expired, or the viewer may
   * not see it (an invisible user shows null to others).
   */
  custom: CustomStatus | null;
}

/**
 * A custom status: at least one of `text` and `emoji` is a non-empty string; the other is null when not set.
 * `expires_at` is ISO 8601 UTC with milliseconds, or null for one that stays until cleared.
 */
export interface CustomStatus {
  text: string | null;
  emoji: string | null;
  expires_at: string | null;
}

/** Most code points (not UTF-16 units) in a custom status's text. */
export const MAX_CUSTOM_TEXT_CODE_POINTS = 128;
/** Most code points in a custom status's emoji (a flag or a family sequence is several). */
export const MAX_CUSTOM_EMOJI_CODE_POINTS = 16;

/** The kinds of client a device can be (contract section 11). */
export const CLIENT_KINDS = ['web', 'mobile', 'desktop'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];
export type Clients = Partial<Record<ClientKind, 'online' | 'away'>>;

export function isClientKind(value: unknown): value is ClientKind {
  return value === 'web' || value === 'mobile' || value === 'desktop';
}

/** A device id: 1 to 64 characters of `[A-Za-z0-9_-]`. */
export function isDeviceId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value);
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

/** Who may see a user's `last_seen` (contract section 13). */
export const LAST_SEEN_VISIBILITIES = ['everyone', 'friends', 'nobody'] as const;
export type LastSeenVisibility = (typeof LAST_SEEN_VISIBILITIES)[number];

/** A user's privacy settings as `GET` and `PATCH /api/presence/settings/` answer them. */
export interface PrivacySettings {
  /** While true, everyone else sees the user offline, with `last_seen` frozen at the moment it was set. */
  invisible: boolean;
  /** `friends`: only mutual followers see `last_seen`; `nobody`: nobody does, and the user sees nobody's. */
  last_seen: LastSeenVisibility;
}

export const DEFAULT_PRIVACY_SETTINGS: PrivacySettings = { invisible: false, last_seen: 'everyone' };

export function isLastSeenVisibility(value: unknown): value is LastSeenVisibility {
  return value === 'everyone' || value === 'friends' || value === 'nobody';
}
