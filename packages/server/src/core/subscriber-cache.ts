import type { UserId } from './types.js';

interface Entry {
  value: Promise<ReadonlySet<UserId>>;
  loadedAt: number;
  version: number | undefined;
}

/**
 * Caches a per-key set (visible(user), a conversation's participants): they are read on every transition and
 * change rarely. Graph writes invalidate the keys they touch on every process; the TTL only bounds how long a
 * lost invalidation could linger. Bounded in size, least recently used first out.
 */
export class SetCache {
  private readonly entries = new Map<number, Entry>();

  constructor(
    private readonly load: (key: number) => Promise<readonly number[]>,
    private readonly options: { maxEntries: number; ttlMs: number; clock: () => number },
  ) {}

  /**
   * The set for `key`. With a `version` (the key's graph version, read just before), an entry loaded under
   * another version is stale and loaded again: that is how a change made on another process applies at once.
   */
  get(key: number, version?: number): Promise<ReadonlySet<UserId>> {
    const now = this.options.clock();
    const hit = this.entries.get(key);
    const current = version === undefined || hit?.version === undefined || hit.version === version;
    if (hit !== undefined && current && now - hit.loadedAt < this.options.ttlMs) {
      // Re-insert to mark it most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const entry: Entry = {
      value: this.load(key).then((ids) => new Set(ids)),
      loadedAt: now,
      version,
    };
    // A failed load must not stay cached.
    entry.value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value as number;
      this.entries.delete(oldest);
    }
    return entry.value;
  }

  invalidate(keys: Iterable<number>): void {
    for (const key of keys) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
