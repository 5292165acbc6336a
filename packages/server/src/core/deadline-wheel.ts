/**
 * Deadlines for up to millions of keys without a timer each: keys sit in buckets of `resolutionMs`, and
 * `due(now)` hands back every key whose bucket has passed. Rescheduling moves a key between two sets and
 * allocates nothing new for a key already known. It owns no timer: its owner calls `due` on a tick.
 *
 * @example
 * const wheel = new DeadlineWheel<number>(50);
 * wheel.schedule(42, Date.now() + 60_000);
 * setInterval(() => { for (const key of wheel.due(Date.now())) expire(key); }, 50);
 */
export class DeadlineWheel<K> {
  private readonly deadlines = new Map<K, number>();
  private readonly buckets = new Map<number, Set<K>>();
  private cursor: number | null = null;

  constructor(private readonly resolutionMs: number) {}

  get size(): number {
    return this.deadlines.size;
  }

  /** Schedules or moves the key's deadline. */
  schedule(key: K, at: number): void {
    const bucket = Math.ceil(at / this.resolutionMs);
    const previous = this.deadlines.get(key);
    if (previous !== undefined) {
      const old = Math.ceil(previous / this.resolutionMs);
      if (old === bucket) {
        this.deadlines.set(key, at);
        return;
      }
      this.buckets.get(old)?.delete(key);
    }
    this.deadlines.set(key, at);
    let set = this.buckets.get(bucket);
    if (set === undefined) {
      set = new Set();
      this.buckets.set(bucket, set);
    }
    set.add(key);
    if (this.cursor !== null && bucket <= this.cursor) this.cursor = bucket - 1;
  }

  cancel(key: K): void {
    const previous = this.deadlines.get(key);
    if (previous === undefined) return;
    this.deadlines.delete(key);
    this.buckets.get(Math.ceil(previous / this.resolutionMs))?.delete(key);
  }

  deadlineOf(key: K): number | undefined {
    return this.deadlines.get(key);
  }

  /** Removes and returns the keys whose deadline is at or before `now` (at most one resolution late). */
  due(now: number): K[] {
    const until = Math.floor(now / this.resolutionMs);
    const fired: K[] = [];
    let cursor = this.cursor ?? Math.min(until, this.earliestBucket() - 1);
    while (cursor < until && this.buckets.size > 0) {
      cursor += 1;
      const set = this.buckets.get(cursor);
      if (set !== undefined) {
        this.buckets.delete(cursor);
        for (const key of set) {
          this.deadlines.delete(key);
          fired.push(key);
        }
      } else if (until - cursor > 1_000) {
        // After a long stall, jump over the empty stretch instead of walking it.
        cursor = Math.min(until, this.earliestBucket() - 1);
      }
    }
    this.cursor = until;
    return fired;
  }

  private earliestBucket(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const bucket of this.buckets.keys()) if (bucket < earliest) earliest = bucket;
    return earliest;
  }
}
