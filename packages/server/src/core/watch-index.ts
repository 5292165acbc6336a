import type { UserPresence } from '@presence/protocol';
import { type Bus, GRAPH_GROUP, watchGroup } from './ports.js';
import { lastSeenShown, type Privacy } from './privacy.js';
import { inSlices, SLICE } from './slices.js';
import type { UserId } from './types.js';
import { decodeGraphNotice, GRAPH_NOTICE_PREFIX, type Visibility } from './visibility.js';
import { subjectOf } from './visibility-notices.js';

/** One connection's side of the index: whose changes it hears, and where they go. */
export interface Watcher {
  readonly viewer: UserId;
  /** A `presence.status` frame about a watched user, as this viewer may see it. */
  deliver(payload: string): void;
  /** The index lost events meant for it (too many held while its visible set reloaded): re-sync. */
  resync(): void;
}

/** What a connection holds of the index while it is open. */
export interface WatchHandle {
  /** With lazy subscriptions: watch these too (those outside visible(viewer) are never watched). */
  want(ids: readonly UserId[]): Promise<void>;
  unwant(ids: readonly UserId[]): void;
  close(): void;
}

export interface WatchIndexOptions {
  bus: Bus;
  visibility: Pick<Visibility, 'visibleAt' | 'graphVersion' | 'graphVersionsOf'>;
  privacy: Pick<Privacy, 'settingsOf' | 'mutualsOf'>;
  /** The current presences of these users as the viewer may see them (users outside visible(viewer) left out). */
  statuses: (viewer: UserId, ids: readonly UserId[]) => Promise<UserPresence[]>;
  onError: (error: unknown, context: string) => void;
}

/** Events held for one connection while its visible set reloads; past it the connection re-syncs instead. */
const MAX_HELD = 10_000;

interface Entry {
  readonly watcher: Watcher;
  /** With lazy subscriptions, the ids the client asked for; null: all of visible(viewer). */
  readonly wants: Set<UserId> | null;
  visible: ReadonlySet<UserId>;
  /** The viewer's graph version `visible` was loaded at (-1: not loaded, or the load failed). */
  version: number;
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

interface Pending {
  subject: UserId;
  payload: string;
  entries: Entry[];
}

/**
 * The users this process's connections watch (issue 10's fan-out without a lookup per transition). A
 * transition is published once, to its user's own group and watch group; every process that has watchers of
 * that user finds them here and decides for each what it may see (the subject's and the viewer's privacy
 * settings, read under the settings version). A user nobody here watches costs nothing beyond receiving the
 * publish, and on a Redis Cluster not even that: the index subscribes only to the watch groups of the users
 * its connections watch.
 *
 * Visibility stays exact through ordering: a graph change's notice goes to the watch groups of every user it
 * touches, on the channel their transitions take, before the change is answered. From the notice on, events
 * for a touched viewer are held until visible(viewer) is loaded again at the new graph version, then passed
 * on only for the users still visible; users who became visible are subscribed and their current presence
 * sent, so a change made meanwhile is not missed. Each connection's graph version is also checked at every
 * refresh, in case a notice was lost.
 */
export class WatchIndex {
  private readonly bySubject = new Map<UserId, Set<Entry>>();
  private readonly byViewer = new Map<UserId, Set<Entry>>();
  private readonly groups = new Map<UserId, () => void>();
  private readonly handler = (payload: string) => this.receive(payload);
  private readonly unsubscribeGraph: () => void;
  /** Events received in this turn, decided together once it ends. */
  private batch: Pending[] | null = null;
  /** Decisions run one batch at a time, so frames about a user keep the order they arrived in. */
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly options: WatchIndexOptions) {
    this.unsubscribeGraph = options.bus.subscribe(GRAPH_GROUP, this.handler);
  }

  /** Users watched by at least one connection here (metrics). */
  get subjects(): number {
    return this.bySubject.size;
  }

  /**
   * Adds a connection: settles once the groups of everyone it watches are subscribed, so a snapshot read after
   * it misses no change. `manual`: it watches nobody until `want`.
   */
  async watch(watcher: Watcher, manual: boolean): Promise<WatchHandle> {
    const entry: Entry = {
      watcher,
      wants: manual ? new Set() : null,
      visible: new Set(),
      version: -1,
      watching: new Set(),
      // Registered before the load: a graph change that comes while it runs loads again.
      held: [],
      overflowed: false,
      dirty: false,
      loading: null,
      closed: false,
    };
    let viewers = this.byViewer.get(watcher.viewer);
    if (viewers === undefined) {
      viewers = new Set();
      this.byViewer.set(watcher.viewer, viewers);
    }
    viewers.add(entry);
    try {
      await this.reload(entry, true);
    } catch (error) {
      this.remove(entry);
      throw error;
    }
    return {
      want: (ids) => this.want(entry, ids),
      unwant: (ids) => {
        for (const id of ids) entry.wants?.delete(id);
        this.setWatching(entry, this.target(entry));
      },
      close: () => this.remove(entry),
    };
  }

  /**
   * Loads every connection's visible set again (after the bus lost messages, graph notices among them); events
   * meanwhile are held as after a graph change.
   */
  reloadAll(): void {
    for (const entries of this.byViewer.values())
      for (const entry of entries) void this.reload(entry, false).catch(() => {});
  }

  /** Reloads the connections whose viewer's graph version moved without the notice reaching this process. */
  async revalidate(): Promise<void> {
    const entries = [...this.byViewer.values()].flatMap((set) => [...set]);
    await inSlices(entries, SLICE, async (entry) => {
      if (entry.closed || entry.loading !== null) return;
      const version = await this.options.visibility.graphVersion(entry.watcher.viewer).catch(() => -1);
      if (version !== entry.version && !entry.closed) await this.reload(entry, false).catch(() => {});
    });
  }

  close(): void {
    this.unsubscribeGraph();
    for (const unsubscribe of this.groups.values()) unsubscribe();
    this.groups.clear();
    this.bySubject.clear();
    this.byViewer.clear();
  }

  private async want(entry: Entry, ids: readonly UserId[]): Promise<void> {
    if (entry.wants === null) return;
    for (const id of ids) entry.wants.add(id);
    if (entry.loading !== null) await entry.loading.catch(() => {});
    await this.ready(this.setWatching(entry, this.target(entry)));
  }

  private target(entry: Entry): Set<UserId> {
    if (entry.wants === null) return new Set(entry.visible);
    const target = new Set<UserId>();
    for (const id of entry.wants) if (entry.visible.has(id)) target.add(id);
    return target;
  }

  private receive(payload: string): void {
    if (payload.startsWith(GRAPH_NOTICE_PREFIX)) {
      const notice = decodeGraphNotice(payload);
      if (notice === null) return this.reloadAll();
      for (const viewer of new Set(notice.users))
        for (const entry of this.byViewer.get(viewer) ?? []) void this.reload(entry, false).catch(() => {});
      return;
    }
    const subject = subjectOf(payload);
    const entries = subject === null ? undefined : this.bySubject.get(subject);
    if (subject === null || entries === undefined) return;
    const now: Entry[] = [];
    for (const entry of entries) {
      if (entry.held === null) now.push(entry);
      else hold(entry, subject, payload);
    }
    if (now.length > 0) this.enqueue({ subject, payload, entries: now });
  }

  /** Loads visible(viewer) again, holding events meanwhile; one load at a time per connection. */
  private reload(entry: Entry, initial: boolean): Promise<void> {
    entry.held ??= [];
    entry.dirty = true;
    entry.loading ??= this.load(entry, initial).finally(() => {
      entry.loading = null;
      // A change that came once the load had passed its last check: load again.
      if (entry.dirty && !entry.closed) void this.reload(entry, false).catch(() => {});
    });
    return entry.loading;
  }

  private async load(entry: Entry, initial: boolean): Promise<void> {
    const { visibility, statuses, onError } = this.options;
    const viewer = entry.watcher.viewer;
    const added: UserId[] = [];
    while (entry.dirty && !entry.closed) {
      entry.dirty = false;
      try {
        const loaded = await visibility.visibleAt(viewer);
        if (entry.dirty) continue;
        entry.visible = loaded.ids;
        entry.version = loaded.version;
      } catch (error) {
        if (initial) throw error;
        // Keep what was known (graph writes fail while the graph cannot be read); the next refresh tries again.
        onError(error, 'watch index');
        entry.version = -1;
      }
      added.push(...this.setWatching(entry, this.target(entry)));
      await this.ready(added);
    }
    if (entry.closed) return;
    const held = entry.held ?? [];
    entry.held = null;
    if (entry.overflowed) {
      entry.overflowed = false;
      entry.watcher.resync();
      return;
    }
    for (const { subject, payload } of held)
      if (entry.watching.has(subject)) this.enqueue({ subject, payload, entries: [entry] });
    // Users who became visible: their presence now, read after their groups are subscribed (a change made
    // before is in it, one made after comes as a frame). A new connection's snapshot covers them instead.
    const fresh = added.filter((id) => entry.watching.has(id));
    if (initial || fresh.length === 0) return;
    try {
      for (const presence of await statuses(viewer, fresh))
        if (entry.watching.has(presence.user_id) && !entry.closed)
          entry.watcher.deliver(JSON.stringify({ type: 'presence.status', ...presence }));
    } catch (error) {
      onError(error, 'watch index');
    }
  }

  /** Settles once the groups of these users are subscribed wherever the bus needs to be asked. */
  private async ready(ids: readonly UserId[]): Promise<void> {
    const { bus } = this.options;
    if (bus.ready === undefined || ids.length === 0) return;
    await Promise.all(ids.map((id) => bus.ready?.(watchGroup(id))));
  }

  /** Makes the connection watch exactly `target`; returns the users it did not watch before. */
  private setWatching(entry: Entry, target: Set<UserId>): UserId[] {
    for (const id of entry.watching) if (!target.has(id)) this.unlink(entry, id);
    const added: UserId[] = [];
    for (const id of target) {
      if (entry.watching.has(id)) continue;
      added.push(id);
      let entries = this.bySubject.get(id);
      if (entries === undefined) {
        entries = new Set();
        this.bySubject.set(id, entries);
        this.groups.set(id, this.options.bus.subscribe(watchGroup(id), this.handler));
      }
      entries.add(entry);
    }
    entry.watching = target;
    return added;
  }

  private unlink(entry: Entry, subject: UserId): void {
    const entries = this.bySubject.get(subject);
    if (entries === undefined) return;
    entries.delete(entry);
    if (entries.size > 0) return;
    this.bySubject.delete(subject);
    this.groups.get(subject)?.();
    this.groups.delete(subject);
  }

  private remove(entry: Entry): void {
    if (entry.closed) return;
    entry.closed = true;
    for (const id of entry.watching) this.unlink(entry, id);
    entry.watching = new Set();
    const viewers = this.byViewer.get(entry.watcher.viewer);
    viewers?.delete(entry);
    if (viewers?.size === 0) this.byViewer.delete(entry.watcher.viewer);
  }

  private enqueue(pending: Pending): void {
    if (this.batch === null) {
      const batch: Pending[] = [];
      this.batch = batch;
      queueMicrotask(() => {
        this.batch = null;
        this.tail = this.tail.then(() => this.decide(batch));
      });
    }
    this.batch.push(pending);
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
    for (const { subject, payload, entries } of batch) {
      const about = settings.get(subject);
      if (about === undefined || about.invisible) continue;
      let mutuals: ReadonlySet<UserId> | null = null;
      if (about.lastSeen === 'friends')
        mutuals = await privacy.mutualsOf(subject).catch((error) => {
          onError(error, 'watch index');
          return new Set<UserId>();
        });
      let withoutLastSeen: string | null = null;
      for (const entry of entries) {
        if (entry.closed) continue;
        const { viewer } = entry.watcher;
        // The viewer's graph moved and the notice has not reached the index (or not yet): decide after the
        // reload. An entry whose load failed (-1) keeps its set: graph writes fail while it cannot load.
        if (entry.version !== -1 && entry.version !== versionOf.get(viewer)) {
          void this.reload(entry, false).catch(() => {});
          hold(entry, subject, payload);
          continue;
        }
        const mine = settings.get(viewer);
        const shown = mine !== undefined && lastSeenShown(about, mine, mutuals?.has(viewer) === true);
        if (shown) entry.watcher.deliver(payload);
        else {
          withoutLastSeen ??= nullLastSeen(payload);
          entry.watcher.deliver(withoutLastSeen);
        }
      }
    }
  }
}

/** Keeps an event for a connection whose visible set is reloading (past MAX_HELD, it re-syncs instead). */
function hold(entry: Entry, subject: UserId, payload: string): void {
  if (entry.held === null) return;
  if (entry.held.length < MAX_HELD) entry.held.push({ subject, payload });
  else entry.overflowed = true;
}

function nullLastSeen(payload: string): string {
  return JSON.stringify({ ...(JSON.parse(payload) as object), last_seen: null });
}
