import { QueueShed, TurnBatcher } from './turn-batcher.js';
import type { UserId } from './types.js';

/** Graph queries out at once per cache. */
const DEFAULT_MAX_IN_FLIGHT = 8;
/** Misses that may wait behind them; past it the database is far behind and waiting helps nobody. */
const DEFAULT_MAX_QUEUED = 100_000;

interface Entry {
  value: Promise<ReadonlySet<UserId>>;
  /** The set once loaded. */
  loaded?: ReadonlySet<UserId>;
  loadedAt: number;
  version: number;
}

interface Waiting {
  key: number;
  resolve: (ids: ReadonlySet<UserId>) => void;
  reject: (error: unknown) => void;
}

/**
 * Caches a per-key set (visible(user), a conversation's participants): they are read on every transition and
 * change rarely. Misses in the same turn of the event loop are loaded together in one query, so a thousand
 * users coming online at once cost one round trip, not a thousand. Graph writes invalidate the keys they touch
 * on every process; the TTL only bounds how long a lost invalidation could linger. Bounded in size, least
 * recently used first out.
 *
 * Loads are a bounded queue: at most `maxInFlight` queries out at once, at most `maxQueued` misses waiting
 * behind them; past that a miss is shed (`onShed`) and its promise rejects with QueueShed.
 */
export class SetCache {
  private readonly entries = new Map<number, Entry>();
  private readonly batcher: TurnBatcher<Waiting>;
  private readonly maxInFlight: number;
  private inFlight = 0;

  constructor(
    private readonly loadMany: (keys: number[]) => Promise<Map<number, readonly number[]>>,
    private readonly options: {
      maxEntries: number;
      ttlMs: number;
      clock: () => number;
      maxBatch?: number;
      maxInFlight?: number;
      maxQueued?: number;
      onShed?: () => void;
    },
  ) {
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.batcher = new TurnBatcher((waiting) => this.load(waiting), {
      maxBatch: options.maxBatch ?? 2_000,
      maxQueued: options.maxQueued ?? DEFAULT_MAX_QUEUED,
    });
  }

  /** Misses waiting for a load (not counting the loads out). */
  get depth(): number {
    return this.batcher.size;
  }

  /**
   * The set for `key` at `version` (the key's graph version, read just before): an entry loaded under another
   * version is stale and loaded again, which is how a change made on another process applies at once.
   */
  get(key: number, version: number): Promise<ReadonlySet<UserId>> {
    const now = this.options.clock();
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.version === version && now - hit.loadedAt < this.options.ttlMs) {
      // Re-insert to mark it most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const entry: Entry = {
      value: new Promise((resolve, reject) => {
        if (this.batcher.add({ key, resolve, reject })) return;
        this.options.onShed?.();
        reject(new QueueShed('lookups'));
      }),
      loadedAt: now,
      version,
    };
    entry.value.then(
      (ids) => {
        entry.loaded = ids;
      },
      // A failed load must not stay cached.
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value as number;
      this.entries.delete(oldest);
    }
    return entry.value;
  }

  private load(waiting: Waiting[]): void {
    const batch = new Map<number, Waiting[]>();
    for (const waiter of waiting) {
      const waiters = batch.get(waiter.key);
      if (waiters) waiters.push(waiter);
      else batch.set(waiter.key, [waiter]);
    }
    this.inFlight += 1;
    if (this.inFlight >= this.maxInFlight) this.batcher.pause();
    const done = () => {
      this.inFlight -= 1;
      if (this.inFlight < this.maxInFlight) this.batcher.resume();
    };
    this.loadMany([...batch.keys()])
      .finally(done)
      .then(
        (loaded) => {
          for (const [key, waiters] of batch) {
            const ids = new Set(loaded.get(key) ?? []);
            for (const waiter of waiters) waiter.resolve(ids);
          }
        },
        (error) => {
          for (const waiter of waiting) waiter.reject(error);
        },
      );
  }

  /**
   * The keys whose loaded set holds `id`, whatever their age or version: a last resort while the source is
   * unreachable (O(entries)).
   */
  keysHolding(id: number): Set<number> {
    const keys = new Set<number>();
    for (const [key, entry] of this.entries) if (entry.loaded?.has(id)) keys.add(key);
    return keys;
  }

  invalidate(keys: Iterable<number>): void {
    for (const key of keys) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
