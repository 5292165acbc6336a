// Transitional: the ports moved to core/ports.ts.
import type { HotStore } from '../core/ports.js';

export type { ExpireOutcome, HeartbeatInput, HeartbeatOutcome, TypingEntry } from '../core/ports.js';
export type PresenceStore = HotStore & { ping(): Promise<boolean>; close(): Promise<void> };
