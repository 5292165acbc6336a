import type { PrivacySettings, SelfPresence, UserPresence } from '@presence/protocol';
import type { FanOut } from './fan-out.js';
import type { LivenessStore, PresenceDurable } from './ports.js';
import { DEFAULT_PRIVACY, type Privacy, publicPresence, wireSettings } from './privacy.js';
import type { Reads } from './reads.js';
import type { Clock, StoredPrivacy, UserId } from './types.js';

export interface PrivacyChangesOptions {
  durable: Pick<PresenceDurable, 'updateSettings' | 'freezeHidden' | 'settingsMany'>;
  store: Pick<LivenessStore, 'bumpVersion'>;
  privacy: Privacy;
  fanOut: FanOut;
  reads: Pick<Reads, 'presences'>;
  clock: Clock;
}

/**
 * A user's privacy settings (contract section 13): read, and changed (stored, then applied at once on every
 * process through the settings version). Turning invisible on or off is a change of the presence in the sense
 * of section 10: it gets a new version, is written through (the webhook fires) and is announced.
 */
export class PrivacyChanges {
  constructor(private readonly options: PrivacyChangesOptions) {}

  async settings(userId: UserId): Promise<PrivacySettings> {
    return wireSettings((await this.options.privacy.settingsOf([userId])).get(userId) ?? DEFAULT_PRIVACY);
  }

  /** One's own presence as it is, with whether others see it as offline. */
  async self(userId: UserId): Promise<SelfPresence> {
    const [presences, settings] = await Promise.all([
      this.options.reads.presences([userId]),
      this.options.privacy.settingsOf([userId]),
    ]);
    const presence = presences.get(userId) as UserPresence;
    return { ...presence, invisible: settings.get(userId)?.invisible === true };
  }

  /** Presences as anyone else sees them, before any viewer's last-seen rules (invisible users offline). */
  async publicPresences(ids: readonly UserId[]): Promise<Map<UserId, UserPresence>> {
    const [presences, settings] = await Promise.all([
      this.options.reads.presences(ids),
      this.options.privacy.settingsOf(ids),
    ]);
    for (const [id, presence] of presences)
      presences.set(id, publicPresence(presence, settings.get(id) ?? DEFAULT_PRIVACY));
    return presences;
  }

  async update(userId: UserId, change: Partial<PrivacySettings>): Promise<PrivacySettings> {
    const { durable, store, privacy, fanOut, clock } = this.options;
    const { before, after } = await durable.updateSettings(userId, {
      ...(change.invisible !== undefined ? { invisible: change.invisible } : {}),
      ...(change.last_seen !== undefined ? { lastSeen: change.last_seen } : {}),
    });
    if (before.invisible === after.invisible && before.lastSeen === after.lastSeen)
      return wireSettings(after);
    // From here on every decision anywhere (fan-out, reads, typing) uses the new settings.
    await privacy.changed();
    if (before.invisible === after.invisible) return wireSettings(after);
    // The hot state must hold the user (refilled from the durable record) before its version moves.
    await this.options.reads.presences([userId]);
    // Taken after the settings version moved: a frame fanned out under the old settings cannot carry a larger
    // version than the one announced now, so the SDK's larger-`v` rule never lets it override this one.
    const transition = await store.bumpVersion(userId, clock());
    // Announce what the row says now, not what this request wrote: of two toggles racing, the one whose version
    // is larger (the one the SDK keeps) bumped later, so it reads the later of the two writes.
    const now = (await durable.settingsMany([userId])).get(userId) ?? after;
    let subject: StoredPrivacy = now;
    if (now.invisible) {
      subject = { ...now, hiddenLastSeen: transition.lastSeen, hiddenV: transition.v };
      await durable.freezeHidden(userId, transition.lastSeen, transition.v);
      await privacy.changed();
    }
    fanOut.invisibleChanged(transition, subject);
    return wireSettings(after);
  }
}
