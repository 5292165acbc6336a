import { LocalBus } from '../bus/bus.js';
import type { RuleConfig } from '../core/rules.js';
import type { Clock } from '../core/types.js';
import { MemoryStore } from '../store/memory-store.js';
import type { Backend } from './backend.js';

/** The embedded backend: hot state and bus in this process, for one process. */
export function openMemoryBackend(options: { rules: RuleConfig; ttlMs: number; clock: Clock }): Backend {
  const store = new MemoryStore(options.rules, options.ttlMs, options.clock);
  const bus = new LocalBus();
  return {
    store,
    bus,
    health: async () => 'not_configured',
    onDegraded: () => {},
    onRestore: () => {},
    onBusGap: () => {},
    onDegradedChange: () => {},
    close: () => bus.close(),
  };
}
