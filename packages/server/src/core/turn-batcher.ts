/**
 * "Collect this turn, flush once, at most N": items added during one turn of the event loop are handed to
 * `flush` together on the next turn (setImmediate), or at once when `maxBatch` is reached. Every batcher of
 * the process uses it: the UDP heartbeat batch, the subscriber-list loads, the write-through.
 *
 * While paused (its consumer is busy) items wait; with `maxQueued`, at most that many: `add` refuses the next
 * one (returns false) and the caller sheds it, counted, instead of memory growing until the process dies.
 *
 * @example
 * const batcher = new TurnBatcher<number>((ids) => void loadMany(ids), { maxBatch: 2_000 });
 * batcher.add(42); // loadMany([42, …]) runs on the next turn with everything added meanwhile
 */
export class TurnBatcher<T> {
  private items: T[] = [];
  private scheduled = false;
  private paused = false;

  constructor(
    private readonly flush: (items: T[]) => void,
    private readonly options: { maxBatch: number; maxQueued?: number },
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** Queues the item; false, with nothing queued, when `maxQueued` items already wait. */
  add(item: T): boolean {
    if (this.items.length >= (this.options.maxQueued ?? Number.POSITIVE_INFINITY)) return false;
    this.items.push(item);
    if (this.items.length >= this.options.maxBatch && !this.paused) this.flushNow();
    else this.schedule();
    return true;
  }

  /** Holds the flush until `resume` (a flush already in flight must finish first). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    if (this.items.length > 0) this.schedule();
  }

  /**
   * Hands over what was collected so far, now: at most `maxBatch` items, the rest on the next turn (after a
   * pause, a full queue drains in batches, not in one call that holds the loop).
   */
  flushNow(): void {
    this.scheduled = false;
    if (this.items.length === 0) return;
    let items = this.items;
    if (items.length <= this.options.maxBatch) this.items = [];
    else {
      this.items = items.slice(this.options.maxBatch);
      items = items.slice(0, this.options.maxBatch);
    }
    this.flush(items);
    if (this.items.length > 0) this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.paused) return;
    this.scheduled = true;
    setImmediate(() => {
      if (this.scheduled && !this.paused) this.flushNow();
    });
  }
}

/** Work refused because its bounded queue was full: counted by the queue's owner, never retried blindly. */
export class QueueShed extends Error {
  constructor(readonly queue: string) {
    super(`the ${queue} queue is full`);
    this.name = 'QueueShed';
  }
}
