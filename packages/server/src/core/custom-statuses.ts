import type { UserPresence } from '@presence/protocol';
import { DeadlineWheel } from './deadline-wheel.js';
import type { FanOut } from './fan-out.js';
import type { LivenessStore } from './ports.js';
import { presenceOf } from './presence-view.js';
import type { Reads } from './reads.js';
import type { StoredCustom } from './rules.js';
import { inSlices, SLICE } from './slices.js';
import type { Clock, UserId } from './types.js';

export interface CustomStatusesOptions {
  store: Pick<LivenessStore, 'setCustom' | 'expireCustom' | 'dueCustom'>;
  reads: Pick<Reads, 'presences'>;
  fanOut: FanOut;
  clock: Clock;
  resolutionMs: number;
  onError: (error: unknown, context: string) => void;
}

/** Batch size of the crash-safe expiry sweep. */
const SWEEP_LIMIT = 5_000;
/** A failed expiry is tried again this much later rather than lost. */
const EXPIRE_RETRY_MS = 1_000;

/**
 * Custom statuses (contract section 14). Setting, clearing and expiry are changes of the presence: the store
 * gives each a version atomically with it, and each goes out through `FanOut.transition` exactly as a status
 * change does (watchers, the user's own devices, the write-through to PostgreSQL, the webhook), with an
 * invisible user's kept to their own devices. Expiry takes the two paths presence deadlines take: this
 * process's timer wheel for the statuses set or expired here, and the crash-safe sweep over the store's due
 * set (every process, every sweep), whose compare-and-remove lets exactly one process announce each expiry.
 */
export class CustomStatuses {
  private readonly deadlines: DeadlineWheel<UserId>;

  constructor(private readonly options: CustomStatusesOptions) {
    this.deadlines = new DeadlineWheel(options.resolutionMs);
  }

  /** Sets (null: clears) the user's custom status; answers the user's presence after it. */
  async set(userId: UserId, custom: StoredCustom | null): Promise<UserPresence> {
    const { store, reads, fanOut, clock } = this.options;
    // The hot state must hold the user (refilled from the durable record, with the status it keeps) before
    // its version moves: a version taken from an empty hash could not be compared with the stored one.
    await reads.presences([userId]);
    const { changed, presence } = await store.setCustom(userId, custom, clock());
    const expiresAt = presence.custom?.expiresAt ?? null;
    if (expiresAt === null) this.deadlines.cancel(userId);
    else this.deadlines.schedule(userId, expiresAt);
    if (changed) fanOut.transition(presence, null);
    return presenceOf(userId, presence);
  }

  /** Expires the custom statuses whose local deadline has passed (the fast path). */
  async tick(now: number): Promise<void> {
    await inSlices(this.deadlines.due(now), SLICE, (userId) => this.expire(userId, now));
  }

  /** Expires the custom statuses past their expiry wherever they were set (a process that set one may have died). */
  async sweep(now: number): Promise<void> {
    const due = await this.options.store.dueCustom(now, SWEEP_LIMIT);
    await inSlices(due, SLICE, (userId) => this.expire(userId, now));
  }

  private async expire(userId: UserId, now: number): Promise<void> {
    const { store, reads, fanOut } = this.options;
    try {
      let outcome = await store.expireCustom(userId, now);
      if (outcome.missing) {
        // The hot state lost the user (Redis lost its data): the durable record holds the status; ask again.
        await reads.presences([userId]);
        outcome = await store.expireCustom(userId, now);
      }
      if (outcome.transition) fanOut.transition(outcome.transition, null);
      else if (outcome.due !== null) this.deadlines.schedule(userId, outcome.due);
    } catch (error) {
      this.deadlines.schedule(userId, now + EXPIRE_RETRY_MS);
      this.options.onError(error, 'custom status expiry');
    }
  }
}
