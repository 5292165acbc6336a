export interface CacheBounds {
  maxEntries: number;
  /** Estimated: each entry counts its key's length plus ENTRY_OVERHEAD_BYTES. */
  maxBytes: number;
}

/**
 * What an entry costs beyond its key's characters: the string header, the Map slot, the entry and value
 * objects and their numbers. A million verdicts measured about 185 bytes each on Node 20, x64.
 */
export const ENTRY_OVERHEAD_BYTES = 192;

/** Entries the sweep looks at per insertion: enough to pass every entry while the cache refills once. */
const SWEEP_STEP = 2;

interface Entry<V> {
  value: V;
  /** Epoch ms after which the entry is never returned. */
  until: number;
  bytes: number;
  /** Read since the eviction hand last passed: it gets a second chance. */
  used: boolean;
}

/**
 * A map bounded by entries and bytes, with expiring entries. Eviction is CLOCK (second chance): one hand
 * walks the map in insertion order, evicting entries not read since its last pass, so a read stays one
 * flag write and the entries in use survive a stream of new ones. The same hand drops expired entries a few
 * at a time on every insertion, so they leave without a timer even when the cache is not full.
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private hand: Iterator<[string, Entry<V>]> = this.entries.entries();
  private totalBytes = 0;

  constructor(private readonly bounds: CacheBounds) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.remove(key, entry);
      return undefined;
    }
    entry.used = true;
    return entry.value;
  }

  /** Stores the value until `until`. The key should not share memory with a bigger string: it is kept. */
  set(key: string, value: V, until: number, now: number): void {
    const bytes = key.length + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.bounds.maxBytes || this.bounds.maxEntries < 1 || until <= now) return;
    const old = this.entries.get(key);
    if (old !== undefined) this.remove(key, old);
    this.entries.set(key, { value, until, bytes, used: false });
    this.totalBytes += bytes;
    for (let i = 0; i < SWEEP_STEP; i++) this.step(now, false);
    while (this.entries.size > this.bounds.maxEntries || this.totalBytes > this.bounds.maxBytes) {
      if (!this.step(now, true)) break;
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) this.remove(key, entry);
  }

  /** Moves the hand one entry: drops it if expired (or, when evicting, not used since the last pass). */
  private step(now: number, evict: boolean): boolean {
    let next = this.hand.next();
    if (next.done) {
      this.hand = this.entries.entries();
      next = this.hand.next();
      if (next.done) return false;
    }
    const [key, entry] = next.value;
    if (entry.until <= now || (evict && !entry.used)) this.remove(key, entry);
    else if (evict) entry.used = false;
    return true;
  }

  private remove(key: string, entry: Entry<V>): void {
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
  }
}
