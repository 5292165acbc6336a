import {
  type BackendHealth,
  HOT_STORE_METHODS,
  type HotStore,
  type Restorable,
  type Restored,
} from '../core/ports.js';
import type { UserState } from '../core/rules.js';
import type { UserId } from '../core/types.js';
import type { Logger } from '../logger.js';

/** Users per page when the stand-in's state is handed back. */
const RESTORE_PAGE = 1_000;
/** How often a degraded process asks whether the primary answers again (also the restore retry). */
const PROBE_MS = 1_000;

/** The local store that answers while the primary is away. */
export interface StandIn extends HotStore {
  /** Every user it knows, offline ones too, a page at a time. */
  scanAll(cursor: string, count: number): Promise<{ cursor: string; states: Map<UserId, UserState> }>;
  /** The users and conversations whose graph versions it bumped (graph writes made while degraded). */
  bumpedGraph(): { users: UserId[]; conversations: number[]; settings: boolean };
  clear(): void;
}

export interface FailoverOptions {
  logger: Logger;
  clock: () => number;
  /** Told each time degraded mode starts (true) or ends (false). */
  onChange?: (degraded: boolean) => void;
  probeMs?: number;
}

type Forwarded = Pick<HotStore, (typeof HOT_STORE_METHODS)[number]>;

/**
 * Degraded mode, for any hot-state backend that can be away: while the primary answers, every call goes to
 * it. When a call fails and the primary calls it an outage (disconnected, or a command that timed out on a
 * connection that hangs), calls go to a stand-in (the memory store) instead, first seeded by the hooks (the
 * sockets this process holds), so heartbeats, sockets and transitions keep working on this process. While
 * degraded it asks the primary every second; once it answers, everything the stand-in learned is written back
 * (the later version wins), the hooks announce the changes other processes missed, and calls go back to the
 * primary. A restore that fails is tried again at the next probe.
 */
export class FailoverStore {
  /** The store the service uses: every call routed to the primary or the stand-in. */
  readonly store: HotStore;
  private degradedSince: number | null = null;
  /** Set while the degraded hooks seed the stand-in: calls wait for it. */
  private entering: Promise<void> | null = null;
  private restoring: Promise<void> | null = null;
  private probe: NodeJS.Timeout | null = null;
  private readonly degradedHooks: Array<(standIn: HotStore) => Promise<void>> = [];
  private readonly restoreHooks: Array<(restored: Restored) => Promise<void>> = [];
  private readonly stopWatching: () => void;
  private closed = false;

  constructor(
    private readonly primary: HotStore & BackendHealth & Restorable,
    private readonly standIn: StandIn,
    private readonly options: FailoverOptions,
  ) {
    const forwarded = Object.fromEntries(
      HOT_STORE_METHODS.map((name) => [
        name,
        (...args: unknown[]) =>
          this.run((store) => (store[name] as (...a: unknown[]) => Promise<unknown>).apply(store, args)),
      ]),
    ) as unknown as Forwarded;
    const failover = this;
    this.store = {
      ...forwarded,
      rules: primary.rules,
      ephemeral: false,
      get degraded() {
        return failover.degraded;
      },
    };
    this.stopWatching = primary.onReconnect(() => {
      if (this.degradedSince !== null) void this.restore();
    });
  }

  get degraded(): boolean {
    return this.degradedSince !== null;
  }

  /** Runs `hook` on the stand-in as degraded mode starts, before it answers any call (seed what is known). */
  onDegraded(hook: (standIn: HotStore) => Promise<void>): void {
    this.degradedHooks.push(hook);
  }

  /**
   * Runs `hook` once the primary holds the restored state, before degraded mode ends, with the users whose
   * state changed during the outage (announce them; count held sockets again).
   */
  onRestore(hook: (restored: Restored) => Promise<void>): void {
    this.restoreHooks.push(hook);
  }

  private async run<T>(call: (store: HotStore) => Promise<T>): Promise<T> {
    // While the stand-in is handed back, a change made on it could be missed and then cleared: wait.
    if (this.degradedSince !== null && this.restoring !== null) await this.restoring;
    if (this.degradedSince === null) {
      try {
        return await call(this.primary);
      } catch (error) {
        if (!this.primary.isOutage(error)) throw error;
        this.enterDegraded(error);
      }
    }
    if (this.entering) await this.entering;
    return call(this.standIn);
  }

  private enterDegraded(error: unknown): void {
    if (this.degradedSince !== null || this.closed) return;
    this.degradedSince = this.options.clock();
    this.options.logger.warn(
      { err: error },
      'hot store unreachable: entering degraded mode (local state, PostgreSQL)',
    );
    this.options.onChange?.(true);
    this.entering = (async () => {
      for (const hook of this.degradedHooks) {
        await hook(this.standIn).catch((err) =>
          this.options.logger.warn({ err }, 'seeding the stand-in for degraded mode failed'),
        );
      }
    })().finally(() => {
      this.entering = null;
    });
    this.probe = setInterval(() => {
      void this.primary.ping().then((up) => {
        if (up) void this.restore();
      });
    }, this.options.probeMs ?? PROBE_MS);
    this.probe.unref();
  }

  /** Writes what this process learned while degraded into the primary, then routes calls to it again. */
  private restore(): Promise<void> {
    this.restoring ??= (async () => {
      const { logger, clock } = this.options;
      try {
        if (this.entering) await this.entering;
        await this.primary.renewProcess();
        const changed = new Map<UserId, UserState>();
        let cursor = '0';
        do {
          const page = await this.standIn.scanAll(cursor, RESTORE_PAGE);
          cursor = page.cursor;
          // What the primary holds after the merge, with the devices other processes hold, is what to announce.
          const written = await this.primary.restore(page.states);
          const held = await this.primary.getMany(written);
          for (const userId of written) {
            changed.set(userId, held.get(userId) ?? (page.states.get(userId) as UserState));
          }
        } while (cursor !== '0');
        const typing = await this.standIn.dueTyping(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        // Graph writes made meanwhile: every process must see their versions move, or its caches look current.
        const graph = this.standIn.bumpedGraph();
        await this.primary.bumpGraphVersions(graph.users, graph.conversations, graph.settings);
        const since = this.degradedSince ?? clock();
        this.degradedSince = null;
        if (this.probe) clearInterval(this.probe);
        this.probe = null;
        this.standIn.clear();
        logger.info(
          { changed: changed.size, degradedMs: clock() - since },
          'hot store is back: left degraded mode',
        );
        this.options.onChange?.(false);
        for (const hook of this.restoreHooks) {
          await hook({ changed, typing }).catch((err) =>
            logger.warn({ err }, 'work after leaving degraded mode failed'),
          );
        }
      } catch (error) {
        logger.warn(
          { err: error },
          'hot store came back but restoring state failed; staying degraded, retrying',
        );
      } finally {
        this.restoring = null;
      }
    })();
    return this.restoring;
  }

  close(): void {
    this.closed = true;
    this.stopWatching();
    if (this.probe) clearInterval(this.probe);
  }
}
