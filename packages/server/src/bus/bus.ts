import type { Bus, BusHandler } from '../core/ports.js';

/** Local delivery: the in-process bus, and the part of the Redis bus that reaches this process's subscribers. */
export class LocalBus implements Bus {
  private readonly groups = new Map<string, Set<BusHandler>>();

  publish(groups: readonly string[], payload: string): Promise<void> {
    this.deliver(groups, payload);
    return Promise.resolve();
  }

  /** Calls each handler subscribed to any of `groups` once, now. */
  deliver(groups: readonly string[], payload: string): void {
    if (groups.length === 1) {
      const handlers = this.groups.get(groups[0] as string);
      if (handlers) for (const handler of handlers) handler(payload);
      return;
    }
    const reached = new Set<BusHandler>();
    for (const group of groups) {
      const handlers = this.groups.get(group);
      if (handlers) for (const handler of handlers) reached.add(handler);
    }
    for (const handler of reached) handler(payload);
  }

  subscribe(group: string, handler: BusHandler): () => void {
    let handlers = this.groups.get(group);
    if (handlers === undefined) {
      handlers = new Set();
      this.groups.set(group, handlers);
    }
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
      // Only this set: a second unsubscribe must not drop a newer subscriber's set.
      if (handlers.size === 0 && this.groups.get(group) === handlers) this.groups.delete(group);
    };
  }

  async close(): Promise<void> {
    this.groups.clear();
  }
}
