import { lastSeenShown, type Privacy } from './privacy.js';
import { nextTurn } from './slices.js';
import type { UserId } from './types.js';
import type { Visibility } from './visibility.js';
import { decodeNotice, encodeNotice, NOTICE_PREFIX } from './visibility-notices.js';

/** Events held for one connection while its visible set reloads; past it the connection re-syncs instead. */
export const MAX_HELD = 10_000;
/** Frames a batch hands to sockets before it yields to the event loop. */
const DELIVERIES_PER_TURN = 2_000;
/** Events waiting for their privacy decision, over all connections; past it they are dropped and re-synced. */
const MAX_PENDING = 100_000;

/** One connection's side of the index: whose changes it hears, and where they go. */
export interface Watcher {
  readonly viewer: UserId;
  /** A `presence.status` frame about a watched user, as this viewer may see it. */
  deliver(payload: string): void;
  /** The index lost events meant for it (too many held while its visible set reloaded): re-sync. */
  resync(): void;
}

/** One connection in the watch index. */
export interface Entry {
  readonly watcher: Watcher;
  /** With lazy subscriptions, the ids the client asked for; null: all of visible(viewer). */
  readonly wants: Set<UserId> | null;
  visible: ReadonlySet<UserId>;
  /** The viewer's graph version `visible` was loaded at (-1: not loaded yet). */
  version: number;
  /** Loaded from the fallback while the database could not answer: loaded again at the next revalidation. */
  partial: boolean;
  /** The users whose changes reach this connection through the index: visible ∩ wants. */
  watching: Set<UserId>;
  /** Events that came after a graph change touched the viewer, waiting for visible(viewer) to reload. */
  held: Array<{ subject: UserId; payload: string }> | null;
  overflowed: boolean;
  /** A graph change came after the load under way began: load again. */
  dirty: boolean;
  loading: Promise<void> | null;
  closed: boolean;
}

export interface Pending {
  subject: UserId;
  payload: string;
  entries: Entry[];
}

export interface DecisionsOptions {
  visibility: Pick<Visibility, 'graphVersionsOf'>;
  privacy: Pick<Privacy, 'settingsOf' | 'mutualsOf'>;
  /** The viewer's graph moved since its list was loaded: hold this event (and those after it) and reload. */
  stale: (entry: Entry, subject: UserId, payload: string) => void;
  onError: (error: unknown, context: string) => void;
}

/**
 * The watch index's privacy decisions: each event goes to its watchers as each may see them, in batches (one
 * read of the settings version and of the viewers' graph versions per batch), one batch at a time so frames
 * about a user keep their order. Bounded: past MAX_PENDING waiting events, new ones are dropped and their
 * connections re-sync once the queue drains.
 */
export class Decisions {
  /** Events waiting; what arrives while a batch is decided forms the next one. */
  private pending: Pending[] = [];
  private deciding = false;
  /** Connections whose events were dropped (queue full, or a batch failed): they re-sync once it drains. */
  private readonly lost = new Set<Entry>();

  constructor(private readonly options: DecisionsOptions) {}

  /** A closed connection: nothing to re-sync. */
  forget(entry: Entry): void {
    this.lost.delete(entry);
  }

  enqueue(pending: Pending): void {
    if (this.pending.length >= MAX_PENDING) {
      for (const entry of pending.entries) this.lost.add(entry);
      return;
    }
    this.pending.push(pending);
    if (this.deciding) return;
    this.deciding = true;
    // After this turn's other events, so they share the batch.
    queueMicrotask(() => void this.drain());
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.decide(batch);
      } catch (error) {
        // One bad batch must not stop fan-out: its connections re-sync.
        this.options.onError(error, 'watch index');
        for (const { entries } of batch) for (const entry of entries) this.lost.add(entry);
      }
    }
    this.deciding = false;
    for (const entry of this.lost) if (!entry.closed) entry.watcher.resync();
    this.lost.clear();
  }

  /**
   * Passes each event to its watchers as each may see it: nobody sees an invisible user's changes (nor those
   * of a user whose settings cannot be read while PostgreSQL is down), and last_seen only where the subject's
   * and the viewer's settings allow it.
   */
  private async decide(batch: Pending[]): Promise<void> {
    const { privacy, visibility, onError } = this.options;
    const viewers = new Set<UserId>();
    for (const { entries } of batch) for (const entry of entries) viewers.add(entry.watcher.viewer);
    const ids = new Set<UserId>(viewers);
    for (const { subject } of batch) ids.add(subject);
    const order = [...viewers];
    let settings: Awaited<ReturnType<Privacy['settingsOf']>>;
    let versions: number[];
    try {
      [settings, versions] = await Promise.all([
        privacy.settingsOf(ids, true),
        visibility.graphVersionsOf(order),
      ]);
    } catch (error) {
      return onError(error, 'watch index');
    }
    const versionOf = new Map(order.map((viewer, i) => [viewer, versions[i]]));
    // Mutual followers of the subjects who show last_seen to friends only, fetched together.
    const friendsOnly = [...new Set(batch.map((p) => p.subject))].filter(
      (id) => settings.get(id)?.lastSeen === 'friends',
    );
    const mutualsOf = new Map(
      await Promise.all(
        friendsOnly.map(
          async (id) =>
            [
              id,
              await privacy.mutualsOf(id).catch((error) => {
                onError(error, 'watch index');
                return new Set<UserId>();
              }),
            ] as const,
        ),
      ),
    );
    let delivered = 0;
    for (const { subject, payload, entries } of batch) {
      // A big batch yields now and then: no turn of the event loop holds thousands of socket writes.
      if (delivered >= DELIVERIES_PER_TURN) {
        delivered = 0;
        await nextTurn();
      }
      const about = settings.get(subject);
      const notice = payload.startsWith(NOTICE_PREFIX);
      // A notice says what watchers see now (the offline frame of an invisible user, or the real presence).
      if (about === undefined || (about.invisible && !notice)) continue;
      const mutuals = mutualsOf.get(subject);
      let withoutLastSeen: string | null = null;
      for (const entry of entries) {
        if (entry.closed) continue;
        // Reloading since the batch began (it may have yielded): decided after the reload.
        if (entry.held !== null) {
          hold(entry, subject, payload);
          continue;
        }
        const { viewer } = entry.watcher;
        // The viewer's graph moved and the notice has not reached the index (or not yet): decide after the
        // reload, which holds this event and those after it.
        if (entry.version !== versionOf.get(viewer)) {
          this.options.stale(entry, subject, payload);
          continue;
        }
        const mine = settings.get(viewer);
        const shown = mine !== undefined && lastSeenShown(about, mine, mutuals?.has(viewer) === true);
        delivered += 1;
        if (shown) entry.watcher.deliver(payload);
        else {
          withoutLastSeen ??= notice ? noticeWithoutLastSeen(payload) : nullLastSeen(payload);
          entry.watcher.deliver(withoutLastSeen);
        }
      }
    }
  }
}

/** Keeps an event for a connection whose visible set is reloading (past MAX_HELD, it re-syncs instead). */
export function hold(entry: Entry, subject: UserId, payload: string): void {
  if (entry.held === null) return;
  if (entry.held.length < MAX_HELD) entry.held.push({ subject, payload });
  else entry.overflowed = true;
}

function nullLastSeen(payload: string): string {
  return JSON.stringify({ ...(JSON.parse(payload) as object), last_seen: null });
}

function noticeWithoutLastSeen(payload: string): string {
  const notice = decodeNotice(payload);
  if (notice === null || notice.frame === null) return payload;
  return encodeNotice({ ...notice, frame: { ...notice.frame, last_seen: null } } as typeof notice);
}
