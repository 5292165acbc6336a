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

  /** Hands over everything collected so far, now. */
  flushNow(): void {
    this.scheduled = false;
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.flush(items);
  }

  private schedule(): void {
    if (this.scheduled || this.paused) return;
    this.scheduled = true;
    setImmediate(() => {
      if (this.scheduled && !this.paused) this.flushNow();
    });
  }
}
