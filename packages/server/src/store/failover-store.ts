import { type BackendHealth, HOT_STORE_METHODS, type HotStore, type Restorable } from '../core/ports.js';
import type { Logger } from '../logger.js';

/** Users per page when the stand-in's state is handed back. */
const RESTORE_PAGE = 1_000;

export interface FailoverOptions {
  logger: Logger;
  clock: () => number;
  /** Told each time degraded mode starts (true) or ends (false). */
  onChange?: (degraded: boolean) => void;
}

type Forwarded = Pick<HotStore, (typeof HOT_STORE_METHODS)[number]>;

/**
 * Degraded mode, for any hot-state backend that can be away: while the primary answers, every call goes to
 * it. When a call fails while the primary reports itself disconnected, calls go to a stand-in (the memory
 * store) instead: heartbeats and transitions keep working on this process (transitions are still written
 * through to PostgreSQL, and reads of users this process does not know fall through to PostgreSQL). When the
 * primary is reachable again, the stand-in's state is written into it and calls go back to it. A failure while
 * the primary reports itself connected is a bug, not an outage, and surfaces.
 */
export class FailoverStore {
  /** The store the service uses: every call routed to the primary or the stand-in. */
  readonly store: HotStore;
  private degradedSince: number | null = null;
  private restoring: Promise<void> | null = null;
  private readonly restoreHooks: Array<() => Promise<void>> = [];
  private readonly stopWatching: () => void;

  constructor(
    private readonly primary: HotStore & BackendHealth & Restorable,
    private readonly fallback: HotStore & { clear(): void },
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

  /** Runs `hook` once the primary holds the restored state, before degraded mode ends (e.g. reconnect sockets). */
  onRestore(hook: () => Promise<void>): void {
    this.restoreHooks.push(hook);
  }

  private async run<T>(call: (store: HotStore) => Promise<T>): Promise<T> {
    if (this.degradedSince === null) {
      try {
        return await call(this.primary);
      } catch (error) {
        if (this.primary.connected) throw error;
        this.enterDegraded(error);
      }
    }
    return call(this.fallback);
  }

  private enterDegraded(error: unknown): void {
    if (this.degradedSince !== null) return;
    this.degradedSince = this.options.clock();
    this.options.logger.warn(
      { err: error },
      'hot store unreachable: entering degraded mode (local state, PostgreSQL)',
    );
    this.options.onChange?.(true);
  }

  /** Writes what this process learned while degraded into the primary, then routes calls to it again. */
  private restore(): Promise<void> {
    this.restoring ??= (async () => {
      const { logger, clock } = this.options;
      try {
        await this.primary.renewProcess();
        let cursor = '0';
        let restored = 0;
        do {
          const page = await this.fallback.scanOnline(cursor, RESTORE_PAGE);
          cursor = page.cursor;
          await this.primary.restore(page.states);
          restored += page.states.size;
        } while (cursor !== '0');
        const since = this.degradedSince ?? clock();
        this.degradedSince = null;
        this.fallback.clear();
        for (const hook of this.restoreHooks) await hook();
        logger.info({ restored, degradedMs: clock() - since }, 'hot store is back: left degraded mode');
        this.options.onChange?.(false);
      } catch (error) {
        logger.warn({ err: error }, 'hot store came back but restoring state failed; staying degraded');
      } finally {
        this.restoring = null;
      }
    })();
    return this.restoring;
  }

  close(): void {
    this.stopWatching();
  }
}
