import type { Bus, HotStore } from '../core/ports.js';

/** What the composition root gets from a backend factory: hot state, the bus, their health, and the way out. */
export interface Backend {
  store: HotStore;
  bus: Bus;
  /** 'not_configured' for the embedded backend, else whether the shared backend answers a ping. */
  health(): Promise<'up' | 'down' | 'not_configured'>;
  /** Runs `hook` after an outage, once the shared state is restored (e.g. connect the held sockets again). */
  onRestore(hook: () => Promise<void>): void;
  /** Told when degraded mode starts (true) or ends (false). */
  onDegradedChange(listener: (degraded: boolean) => void): void;
  close(): Promise<void>;
}
