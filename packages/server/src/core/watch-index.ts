import type { UserPresence } from '@presence/protocol';
import { type Bus, GRAPH_GROUP, watchGroup } from './ports.js';
import type { Privacy } from './privacy.js';
import { nextTurn, SLICE } from './slices.js';
import type { UserId } from './types.js';
import { decodeGraphNotice, GRAPH_NOTICE_PREFIX, type Visibility } from './visibility.js';
import { decodeNotice, NOTICE_PREFIX, subjectOf } from './visibility-notices.js';
import { Decisions, type Entry, hold, type Watcher } from './watch-decisions.js';

export type { Watcher } from './watch-decisions.js';

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

/** How soon a reload that failed while the viewer's graph had moved is tried again (events wait meanwhile). */
const RETRY_MS = 1_000;

/**
 * The users this process's connections watch (issue 10's fan-out without a lookup per transition). A
 * transition is published once, to its user's own group and watch group; every process that has watchers of
 * that user finds them here and decides for each what it may see (the subject's and the viewer's privacy
 * settings, read under the settings version). A user nobody here watches costs nothing beyond receiving the
 * publish, and on a Redis Cluster not even that: the index subscribes only to the watch groups of the users
 * its connections watch.
 *
 * Visibility stays exact through the graph versions: each batch of events reads the viewers' versions with the
 * settings version (watch-decisions.ts), and a viewer whose version moved since its list was loaded has its
 * events held until visible(viewer) is loaded again, then passed on only for the users still visible. The
 * graph notice on the bus starts that reload early; users who became visible are subscribed and their current
 * presence sent, so a change made meanwhile is not missed. A reload that fails while the graph has moved
 * keeps holding and is tried again (fail closed). `revalidate` catches lost notices and lists loaded from the
 * fallback during a database outage.
 */
export class WatchIndex {
  private readonly bySubject = new Map<UserId, Set<Entry>>();
  private readonly byViewer = new Map<UserId, Set<Entry>>();
  private readonly groups = new Map<UserId, () => void>();
  private readonly handler = (payload: string) => this.receive(payload);
  private readonly unsubscribeGraph: () => void;
  private readonly decisions: Decisions;

  constructor(private readonly options: WatchIndexOptions) {
    this.decisions = new Decisions({
      visibility: options.visibility,
      privacy: options.privacy,
      onError: options.onError,
      stale: (entry, subject, payload) => {
        void this.reload(entry, false).catch(() => {});
        hold(entry, subject, payload);
      },
    });
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
      partial: false,
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

  /**
   * Reloads the connections whose viewer's graph version moved without the notice reaching this process, and
   * those loaded from the fallback during a database outage. Starts the reloads without waiting for them.
   */
  async revalidate(): Promise<void> {
    const entries = [...this.byViewer.values()].flatMap((set) => [...set]);
    for (let start = 0; start < entries.length; start += SLICE) {
      if (start > 0) await nextTurn();
      const slice = entries.slice(start, start + SLICE).filter((e) => !e.closed && e.loading === null);
      const versions = await this.options.visibility
        .graphVersionsOf(slice.map((e) => e.watcher.viewer))
        .catch(() => null);
      if (versions === null) return;
      slice.forEach((entry, i) => {
        if (!entry.closed && (entry.partial || versions[i] !== entry.version))
          void this.reload(entry, false).catch(() => {});
      });
    }
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
    if (entry.closed) return;
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
    // A frame about the user, or a privacy notice (they went invisible or came back).
    const subject = payload.startsWith(NOTICE_PREFIX)
      ? (decodeNotice(payload)?.user_id ?? null)
      : subjectOf(payload);
    const entries = subject === null ? undefined : this.bySubject.get(subject);
    if (subject === null || entries === undefined) return;
    const now: Entry[] = [];
    for (const entry of entries) {
      if (entry.held === null) now.push(entry);
      else hold(entry, subject, payload);
    }
    if (now.length > 0) this.decisions.enqueue({ subject, payload, entries: now });
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
        entry.partial = loaded.partial;
      } catch (error) {
        if (initial) throw error;
        onError(error, 'watch index');
        // Fail closed: the list stands only if the viewer's graph has not moved since it was loaded (a bus gap,
        // a revalidation); else events keep waiting and the load is tried again shortly.
        const current = await visibility.graphVersion(viewer).catch(() => null);
        if (current !== entry.version) {
          setTimeout(() => {
            if (!entry.closed) void this.reload(entry, false).catch(() => {});
          }, RETRY_MS).unref();
          return;
        }
      }
      if (entry.closed) return;
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
      if (entry.watching.has(subject)) this.decisions.enqueue({ subject, payload, entries: [entry] });
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
    // A connection that closed while a load or a subscribe was on its way must not come back.
    if (entry.closed) return [];
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
    entry.held = null;
    this.decisions.forget(entry);
    const viewers = this.byViewer.get(entry.watcher.viewer);
    viewers?.delete(entry);
    if (viewers?.size === 0) this.byViewer.delete(entry.watcher.viewer);
  }
}
