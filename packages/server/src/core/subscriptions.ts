import { MAX_SUBSCRIBE_IDS_PER_FRAME, MAX_SUBSCRIBED_IDS } from '@presence/protocol';
import type { UserId } from './types.js';

export type SubscribeVerdict = { ok: true; ids: UserId[] } | { ok: false; message: string };

/**
 * The users a connection with `subscribe=manual` asked to hear about (contract section 15): every requested id
 * counts toward the limit, visible or not, so the set's size is bounded whatever the client sends.
 */
export class Subscriptions {
  private readonly ids = new Set<UserId>();

  constructor(
    private readonly perFrame = MAX_SUBSCRIBE_IDS_PER_FRAME,
    private readonly total = MAX_SUBSCRIBED_IDS,
  ) {}

  get size(): number {
    return this.ids.size;
  }

  has(userId: UserId): boolean {
    return this.ids.has(userId);
  }

  /** Adds the ids (duplicates count once) and returns them, or refuses them all past a limit. */
  add(requested: readonly UserId[]): SubscribeVerdict {
    if (requested.length > this.perFrame)
      return { ok: false, message: `at most ${this.perFrame} user ids per presence.subscribe` };
    const ids = [...new Set(requested)];
    const added = ids.filter((id) => !this.ids.has(id)).length;
    if (this.ids.size + added > this.total)
      return {
        ok: false,
        message: `at most ${this.total} subscribed user ids per connection (${this.ids.size} held)`,
      };
    for (const id of ids) this.ids.add(id);
    return { ok: true, ids };
  }

  remove(requested: readonly UserId[]): void {
    for (const id of requested) this.ids.delete(id);
  }
}
