/** Items handled per turn of the event loop by periodic work over many (pings, sweeps, refreshes, resyncs). */
export const SLICE = 500;

/** Resolves on the next turn of the event loop, after the I/O that was waiting (setImmediate). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Runs `each` over the items `size` at a time, waiting for what a slice started before yielding to the event
 * loop and going on with the next: ten thousand sockets to ping or users to expire never hold the loop for all
 * of them at once, and at most `size` store calls are out together. Work that fits in one slice does not yield.
 *
 * @example
 * await inSlices(staleUsers, SLICE, (userId) => expire(userId)); // 500 expiries, a turn for others, 500 more…
 */
export async function inSlices<T>(
  items: readonly T[],
  size: number,
  each: (item: T) => void | Promise<void>,
): Promise<void> {
  for (let start = 0; start < items.length; start += size) {
    if (start > 0) await nextTurn();
    const started: Promise<void>[] = [];
    for (const item of items.slice(start, start + size)) {
      const result = each(item);
      if (result instanceof Promise) started.push(result);
    }
    if (started.length > 0) await Promise.all(started);
  }
}
