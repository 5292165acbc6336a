import type { PrivacySettings, UserPresence } from '@presence/protocol';
import type { GraphVersionStore, PresenceDurable } from './ports.js';
import { iso } from './presence-view.js';
import { SetCache } from './subscriber-cache.js';
import type { StoredPrivacy, UserId } from './types.js';

export type { StoredPrivacy } from './types.js';

export const DEFAULT_PRIVACY: StoredPrivacy = {
  invisible: false,
  lastSeen: 'everyone',
  hiddenLastSeen: null,
  hiddenV: null,
};

export const wireSettings = (s: StoredPrivacy): PrivacySettings => ({
  invisible: s.invisible,
  last_seen: s.lastSeen,
});

/** Whether `viewer` may see the subject's last_seen: the subject allows it, and the viewer shows their own. */
export function lastSeenShown(subject: StoredPrivacy, viewer: StoredPrivacy, mutual: boolean): boolean {
  if (viewer.lastSeen === 'nobody') return false;
  return subject.lastSeen === 'everyone' || (subject.lastSeen === 'friends' && mutual);
}

/**
 * What others see of a user whose presence is `presence`: an invisible user is offline with the frozen
 * last_seen and version, in exactly the shape of a real offline user.
 */
export function publicPresence(presence: UserPresence, subject: StoredPrivacy): UserPresence {
  if (!subject.invisible) return presence;
  const frozen = subject.hiddenV !== null;
  return {
    user_id: presence.user_id,
    status: 'offline',
    last_seen: frozen ? iso(subject.hiddenLastSeen) : presence.last_seen,
    v: frozen ? (subject.hiddenV as number) : presence.v,
    clients: {},
    custom: null,
  };
}

/** The subject's presence as one other viewer sees it. */
export function presenceFor(
  presence: UserPresence,
  subject: StoredPrivacy,
  viewer: StoredPrivacy,
  mutual: boolean,
): UserPresence {
  const shown = publicPresence(presence, subject);
  return lastSeenShown(subject, viewer, mutual) ? shown : { ...shown, last_seen: null };
}

export interface PrivacyOptions {
  durable: Pick<PresenceDurable, 'settingsMany' | 'mutualsMany'>;
  versions: GraphVersionStore;
  clock: () => number;
  cacheTtlMs: number;
  maxEntries?: number;
}

/**
 * Everyone's privacy settings, cached under one counter (the `settings` version) that every change bumps after
 * it is stored: each decision reads the counter first (one round trip), so a change made on any process applies
 * at once everywhere. Changes are rare, so a change drops the whole cache. Mutual followers (for `friends`) are
 * cached per user under the user's graph version, like visible sets.
 */
export class Privacy {
  private settings = new Map<UserId, StoredPrivacy>();
  private version = -1;
  /** Grows whenever the cache is dropped, so a load begun before it does not refill it with old rows. */
  private generation = 0;
  private readonly mutuals: SetCache;
  /** The settings version read for the decisions begun in this turn of the event loop (one round trip). */
  private versionThisTurn: Promise<number> | null = null;

  constructor(private readonly options: PrivacyOptions) {
    this.mutuals = new SetCache((ids) => options.durable.mutualsMany(ids), {
      maxEntries: options.maxEntries ?? 200_000,
      ttlMs: options.cacheTtlMs,
      clock: options.clock,
    });
  }

  /**
   * The current settings of these users (defaults for users who never changed theirs). `partial`: while the
   * database cannot load the users not cached, answer those cached (the caller decides safely for the rest).
   */
  async settingsOf(userIds: Iterable<UserId>, partial = false): Promise<Map<UserId, StoredPrivacy>> {
    const version = await this.currentVersion();
    if (version !== this.version || this.settings.size > (this.options.maxEntries ?? 200_000)) {
      this.settings = new Map();
      this.version = version;
      this.generation += 1;
    }
    const found = new Map<UserId, StoredPrivacy>();
    const missing: UserId[] = [];
    for (const id of userIds) {
      const cached = this.settings.get(id);
      if (cached !== undefined) found.set(id, cached);
      else missing.push(id);
    }
    if (missing.length === 0) return found;
    const generation = this.generation;
    let loaded: Map<UserId, StoredPrivacy>;
    try {
      loaded = await this.options.durable.settingsMany([...new Set(missing)]);
    } catch (error) {
      if (partial) return found;
      throw error;
    }
    for (const [id, settings] of loaded) {
      found.set(id, settings);
      if (generation === this.generation) this.settings.set(id, settings);
    }
    return found;
  }

  /**
   * The settings version, read once for every decision begun in the same turn (a batch of heartbeats makes
   * many transitions at once): the read goes out after each of them began, so none misses a change that
   * completed before it.
   */
  private currentVersion(): Promise<number> {
    if (this.versionThisTurn === null) {
      this.versionThisTurn = this.options.versions.graphVersions('settings', 0);
      queueMicrotask(() => {
        this.versionThisTurn = null;
      });
    }
    return this.versionThisTurn;
  }

  /** Mutual followers of `userId`, checked against the user's graph version. */
  async mutualsOf(userId: UserId): Promise<ReadonlySet<UserId>> {
    return this.mutuals.get(userId, await this.options.versions.graphVersions('user', userId));
  }

  /**
   * The presences as `viewer` may see them: their own as it is, everyone else's through the subject's settings
   * (invisible, last-seen audience) and the viewer's own last-seen setting (reciprocal `nobody`).
   */
  async viewedBy(viewer: UserId, presences: readonly UserPresence[]): Promise<UserPresence[]> {
    if (presences.length === 0) return [];
    const settings = await this.settingsOf([viewer, ...presences.map((p) => p.user_id)]);
    const mine = settings.get(viewer) ?? DEFAULT_PRIVACY;
    return Promise.all(
      presences.map(async (presence) => {
        if (presence.user_id === viewer) return presence;
        const subject = settings.get(presence.user_id) ?? DEFAULT_PRIVACY;
        const mutual =
          subject.lastSeen === 'friends' &&
          mine.lastSeen !== 'nobody' &&
          (await this.mutualsOf(presence.user_id)).has(viewer);
        return presenceFor(presence, subject, mine, mutual);
      }),
    );
  }

  /**
   * A change of someone's settings is stored: every process drops its cached settings before its next
   * decision (the counter moved), this one included.
   */
  async changed(): Promise<void> {
    await this.options.versions.bumpGraphVersions([], [], true);
  }
}
