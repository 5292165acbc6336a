import type { BusTraffic } from '../bus/envelope.js';
import type { Bus, HotStore, Restored } from '../core/ports.js';

/** What the composition root gets from a backend factory: hot state, the bus, their health, and the way out. */
export interface Backend {
  store: HotStore;
  bus: Bus;
  /** What the bus has read from other processes so far (absent when the bus is this process alone). */
  busTraffic?: BusTraffic;
  /** 'not_configured' for the embedded backend, else whether the shared backend answers a ping. */
  health(): Promise<'up' | 'down' | 'not_configured'>;
  /** Runs `hook` on the local stand-in as an outage begins, before it answers anything (seed what is known). */
  onDegraded(hook: (standIn: HotStore) => Promise<void>): void;
  /**
   * Runs `hook` after an outage, once the shared state is restored, with the users whose state changed during
   * it (count the held sockets again; announce what other processes missed).
   */
  onRestore(hook: (restored: Restored) => Promise<void>): void;
  /** Told when this process's bus may have missed broadcasts (its subscription was lost and is back). */
  onBusGap(listener: () => void): void;
  /** Told when degraded mode starts (true) or ends (false). */
  onDegradedChange(listener: (degraded: boolean) => void): void;
  close(): Promise<void>;
}
