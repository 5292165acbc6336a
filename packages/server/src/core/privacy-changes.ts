import type { UserPresence } from '@presence/protocol';
import type { FanOut } from './fan-out.js';
import type { LivenessStore, PresenceDurable } from './ports.js';
import type { Privacy, StoredPrivacy } from './privacy.js';
import type { Clock, UserId } from './types.js';

export interface PrivacyChangesOptions {
  durable: Pick<PresenceDurable, 'updateSettings' | 'freezeHidden'>;
  store: Pick<LivenessStore, 'bumpVersion'>;
  privacy: Privacy;
  fanOut: FanOut;
  /** Current presences (refilling hot state from the durable record), as reads answer them. */
  presences: (ids: readonly UserId[]) => Promise<Map<UserId, UserPresence>>;
  clock: Clock;
}

/**
 * Changes of a user's privacy settings (contract section 13), stored, then applied at once on every process
 * through the settings version. Turning invisible on or off is a change of the presence in the sense of
 * section 10: it gets a new version, is written through (the webhook fires) and is announced.
 */
export class PrivacyChanges {
  constructor(private readonly options: PrivacyChangesOptions) {}

  async update(
    userId: UserId,
    change: Partial<Pick<StoredPrivacy, 'invisible' | 'lastSeen'>>,
  ): Promise<StoredPrivacy> {
    const { durable, store, privacy, fanOut, clock } = this.options;
    const { before, after } = await durable.updateSettings(userId, change);
    if (before.invisible === after.invisible && before.lastSeen === after.lastSeen) return after;
    // From here on every decision anywhere (fan-out, reads, typing) uses the new settings.
    await privacy.changed();
    if (before.invisible === after.invisible) return after;
    // The hot state must hold the user (refilled from the durable record) before its version moves.
    await this.options.presences([userId]);
    // Taken after the settings version moved: a frame fanned out under the old settings cannot carry a larger
    // version than the one announced now, so the SDK's larger-`v` rule never lets it override this one.
    const transition = await store.bumpVersion(userId, clock());
    let subject = after;
    if (after.invisible) {
      subject = { ...after, hiddenLastSeen: transition.lastSeen, hiddenV: transition.v };
      await durable.freezeHidden(userId, transition.lastSeen, transition.v);
      await privacy.changed();
    }
    fanOut.invisibleChanged(transition, subject);
    return subject;
  }
}
