/**
 * "Collect this turn, flush once, at most N": items added during one turn of the event loop are handed to
 * `flush` together on the next turn (setImmediate), or at once when `maxBatch` is reached. Every batcher of
 * the process uses it: the UDP heartbeat batch, the subscriber-list loads, the write-through.
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
    private readonly options: { maxBatch: number },
  ) {}

  get size(): number {
    return this.items.length;
  }

  add(item: T): void {
    this.items.push(item);
    if (this.items.length >= this.options.maxBatch && !this.paused) this.flushNow();
    else this.schedule();
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
