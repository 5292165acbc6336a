/**
 * A small typed event emitter; the SDK carries no dependency, so it has its own. `Events` maps each
 * event name to the value its listeners receive.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(value: never) => void>>();

  /**
   * Adds a listener and returns a function that removes it.
   *
   * @example
   * const off = client.on('status', (change) => console.log(change.user_id, change.status));
   * off();
   */
  on<K extends keyof Events>(event: K, listener: (value: Events[K]) => void): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Removes a listener added with `on`; the function `on` returned does the same. */
  off<K extends keyof Events>(event: K, listener: (value: Events[K]) => void): void {
    this.#listeners.get(event)?.delete(listener);
  }

  protected emit<K extends keyof Events>(event: K, value: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    // A copy, so that a listener that removes itself does not skip the next one.
    for (const listener of [...set]) {
      try {
        (listener as (value: Events[K]) => void)(value);
      } catch (error) {
        // One broken listener must not stop presence updates for the others; surface it asynchronously.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
