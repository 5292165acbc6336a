import { isLastSeenVisibility, type LastSeenVisibility, type PrivacySettings } from '@presence/protocol';
import { defaultUrl, type PresenceClientEvents } from './client-options.js';
import { Emitter } from './emitter.js';
import { type PresenceRequest, presenceRequest } from './http-request.js';
import { resolveToken } from './token.js';
import type { TokenSource } from './types.js';

const SETTINGS_PATH = '/api/presence/settings/';

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
    const answer = (await this.request(method, SETTINGS_PATH, body)) as PrivacySettings;
    return { invisible: answer.invisible, last_seen: answer.last_seen };
  }

  /** A user endpoint called with this client's token (see `presenceRequest`), for the methods over HTTP. */
  protected request(method: PresenceRequest['method'], path: string, body?: unknown): Promise<unknown> {
    const { url, token } = this.#settingsOptions;
    return presenceRequest({
      method,
      url: url ?? defaultUrl(),
      path,
      body,
      token: () => resolveToken(token),
      refreshable: typeof token !== 'string',
    });
  }
}
