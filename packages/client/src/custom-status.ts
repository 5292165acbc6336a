import { parseServerMessage, type UserPresence } from '@presence/protocol';
import { PresenceRequestError } from './http-request.js';
import { PrivacySettingsClient } from './privacy-settings.js';

const CUSTOM_STATUS_PATH = '/api/presence/custom-status/';

/** What `setCustomStatus` takes: a text, an emoji or both, and when it ends. */
export interface CustomStatusUpdate {
  /** At most 128 code points, no control characters. Empty or absent: none. */
  text?: string | null;
  /** At most 16 code points (a flag or a family is several). Empty or absent: none. */
  emoji?: string | null;
  /**
   * When the server clears it by itself, in the future and at most a year ahead: a `Date`, or an ISO 8601
   * string with a time zone. Absent or null: until cleared.
   */
  expiresAt?: Date | string | null;
}

/** The JSON body of `PUT /api/presence/custom-status/`, as the SDK sends it. */
export interface CustomStatusBody {
  text?: string;
  emoji?: string;
  expires_at: string | null;
}

function optionalText(value: unknown, name: 'text' | 'emoji'): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new TypeError(`setCustomStatus: \`${name}\` must be a string`);
  return value;
}

/**
 * The request body for a custom status. Only the types are checked here (a `TypeError` before anything is
 * sent); the rules on the values (lengths, control characters, at least one of text and emoji, an expiry
 * in the future) are the server's alone, which answers a 400 `bad_request` that says what is wrong.
 *
 * @example
 * customStatusBody({ emoji: '🍕', text: 'Lunch', expiresAt: new Date('2026-12-04T13:00:00Z') });
 * // { text: 'Lunch', emoji: '🍕', expires_at: '2026-12-04T13:00:00.000Z' }
 */
export function customStatusBody(input: CustomStatusUpdate): CustomStatusBody {
  if (typeof input !== 'object' || input === null)
    throw new TypeError('setCustomStatus: pass an object { text?, emoji?, expiresAt? }');
  const text = optionalText(input.text, 'text');
  const emoji = optionalText(input.emoji, 'emoji');
  const { expiresAt } = input;
  let expires_at: string | null;
  if (expiresAt === undefined || expiresAt === null) expires_at = null;
  else if (typeof expiresAt === 'string') expires_at = expiresAt;
  else if (expiresAt instanceof Date && !Number.isNaN(expiresAt.getTime()))
    expires_at = expiresAt.toISOString();
  else throw new TypeError('setCustomStatus: `expiresAt` must be a valid Date, an ISO 8601 string or null');
  return { ...(text === undefined ? {} : { text }), ...(emoji === undefined ? {} : { emoji }), expires_at };
}

/** A presence in an HTTP answer, checked as a server frame's would be; null when it is not one. */
function presenceIn(answer: unknown): UserPresence | null {
  if (typeof answer !== 'object' || answer === null) return null;
  const parsed = parseServerMessage(JSON.stringify({ ...answer, type: 'presence.status' }));
  if (parsed?.type !== 'presence.status') return null;
  const { type: _, ...presence } = parsed;
  return presence;
}

/**
 * This user's custom status over HTTP (contract section 14): `setCustomStatus` and `clearCustomStatus`.
 * `PresenceClient` has these methods; this base class keeps them apart from the socket machinery.
 */
export class CustomStatusClient extends PrivacySettingsClient {
  /**
   * Shows a text, an emoji or both beside this user's status, to everyone who sees the user (an offline
   * user keeps it), until `expiresAt` or until cleared. Resolves with this user's presence, `custom`
   * included; contacts receive it as a `status` event. The server clears an expired status itself and
   * announces it as a change: the SDK runs no timer of its own.
   *
   * Rejects with a `PresenceRequestError`: `status` 400 (`bad_request`, the message says which rule) for a
   * text over 128 or an emoji over 16 code points, control characters, neither text nor emoji, or an
   * `expiresAt` that is not ISO 8601 with a time zone, not in the future or more than a year ahead; 429
   * (`rate_limited`) past 10 changes in a burst, then one every 6 s. Throws a `TypeError` at once for
   * arguments of the wrong type.
   *
   * @example
   * await client.setCustomStatus({ emoji: '🍕', text: 'Lunch', expiresAt: new Date(Date.now() + 30 * 60_000) });
   * await client.setCustomStatus({ emoji: '🌴' }); // until cleared
   * client.get(client.userId!)?.custom; // { text: null, emoji: '🌴', expires_at: null }
   */
  setCustomStatus(input: CustomStatusUpdate): Promise<UserPresence> {
    return this.#change('PUT', customStatusBody(input));
  }

  /**
   * Removes this user's custom status (nothing happens when there is none). Resolves with this user's
   * presence, `custom: null`.
   *
   * @example
   * backFromLunch.onclick = () => client.clearCustomStatus();
   */
  clearCustomStatus(): Promise<UserPresence> {
    return this.#change('DELETE');
  }

  /** Called with the presence a custom status change answered (a newer one may already be known). */
  protected ownPresence(_presence: UserPresence): void {}

  async #change(method: 'PUT' | 'DELETE', body?: CustomStatusBody): Promise<UserPresence> {
    const presence = presenceIn(await this.request(method, CUSTOM_STATUS_PATH, body));
    if (!presence) throw new PresenceRequestError(200, 'internal', 'no presence in the custom status answer');
    this.ownPresence(presence);
    return presence;
  }
}
