import { isLastSeenVisibility, type LastSeenVisibility, type PrivacySettings } from '@presence/protocol';
import { defaultUrl, type PresenceClientEvents } from './client-options.js';
import { Emitter } from './emitter.js';
import { resolveToken } from './token.js';
import type { TokenSource } from './types.js';

const SETTINGS_PATH = '/api/presence/settings/';

/** A settings request the server refused (`status` 400, 401, 413, 503…) or that did not reach it (`status` 0). */
export class PresenceRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PresenceRequestError';
  }
}

export interface PrivacySettingsClientOptions {
  /** Base URL of the service; default the page's origin. */
  url?: string;
  token: TokenSource;
}

/**
 * The privacy settings of the client's user over HTTP (contract section 13): `getSettings`, `setInvisible`,
 * `setLastSeenVisibility`. `PresenceClient` has these methods; this base class keeps them apart from the
 * socket and heartbeat machinery.
 */
export class PrivacySettingsClient extends Emitter<PresenceClientEvents> {
  readonly #settingsOptions: PrivacySettingsClientOptions;

  constructor(options: PrivacySettingsClientOptions) {
    super();
    this.#settingsOptions = options;
  }

  /**
   * This user's privacy settings.
   *
   * @example
   * const { invisible, last_seen } = await client.getSettings(); // { invisible: false, last_seen: 'everyone' }
   */
  getSettings(): Promise<PrivacySettings> {
    return this.#request('GET');
  }

  /**
   * Appear offline to everyone else (or stop). While invisible, contacts see this user offline with the last
   * activity before it; this user's own devices still see the truth and everyone else as usual.
   *
   * @example
   * await client.setInvisible(true);  // resolves with the whole settings object: { invisible: true, … }
   * await client.setInvisible(false); // contacts see the real status at once
   */
  setInvisible(invisible: boolean): Promise<PrivacySettings> {
    if (typeof invisible !== 'boolean') throw new TypeError('setInvisible: pass true or false');
    return this.#request('PATCH', { invisible });
  }

  /**
   * Who sees this user's `last_seen`: `everyone` (every contact), `friends` (mutual followers only) or
   * `nobody`, which also hides everyone else's `last_seen` from this user.
   *
   * @example
   * await client.setLastSeenVisibility('friends'); // { invisible: false, last_seen: 'friends' }
   */
  setLastSeenVisibility(visibility: LastSeenVisibility): Promise<PrivacySettings> {
    if (!isLastSeenVisibility(visibility))
      throw new TypeError("setLastSeenVisibility: pass 'everyone', 'friends' or 'nobody'");
    return this.#request('PATCH', { last_seen: visibility });
  }

  async #request(method: 'GET' | 'PATCH', body?: Partial<PrivacySettings>): Promise<PrivacySettings> {
    const { url, token } = this.#settingsOptions;
    const endpoint = new URL(SETTINGS_PATH, url ?? defaultUrl()).toString();
    let response: Response | undefined;
    // A 401 may be an expired token: one more try with a fresh one.
    for (let attempt = 0; attempt < 2 && (response === undefined || response.status === 401); attempt++) {
      try {
        response = await fetch(endpoint, {
          method,
          headers: {
            authorization: `Bearer ${await resolveToken(token)}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
      } catch (error) {
        throw new PresenceRequestError(0, 'network', `settings request failed: ${String(error)}`);
      }
      if (typeof token === 'string') break;
    }
    const answer = (await response?.json().catch(() => null)) as
      | (PrivacySettings & { error?: { code: string; message: string } })
      | null;
    if (!response?.ok || answer === null) {
      const error = answer?.error ?? { code: 'internal', message: 'no settings in the answer' };
      throw new PresenceRequestError(response?.status ?? 0, error.code, error.message);
    }
    return { invisible: answer.invisible, last_seen: answer.last_seen };
  }
}
