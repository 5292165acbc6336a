import type { Clients, CustomStatus } from '@presence/protocol';
import { wireCustom } from '../core/custom-rules.js';
import { iso } from '../core/presence-view.js';
import type { OutboxEvent } from '../db/presence-repository.js';

/** Most events in one delivery. */
export const MAX_BATCH = 100;

/** The wire form of one event. */
export interface WebhookEvent {
  /** The same for every delivery of one change, so a receiver can drop duplicates. */
  id: string;
  type: 'presence.changed';
  at: string;
  presence: {
    user_id: number;
    status: string;
    last_seen: string | null;
    v: number;
    clients: Clients;
    custom: CustomStatus | null;
    invisible?: true;
  };
}

export function toWebhookEvent(event: OutboxEvent): WebhookEvent {
  return {
    // A user's versions never repeat, so the pair names the change on every process and after restarts.
    id: `${event.userId}-${event.v}`,
    type: 'presence.changed',
    at: iso(event.at) as string,
    presence: {
      user_id: event.userId,
      status: event.status,
      last_seen: iso(event.lastSeen),
      v: event.v,
      clients: event.clients,
      custom: wireCustom(event.custom),
      // Only the host application hears the truth about an invisible user; others see them offline.
      ...(event.invisible ? { invisible: true as const } : {}),
    },
  };
}

/** The body of one delivery. */
export function webhookBody(events: readonly OutboxEvent[]): string {
  return JSON.stringify({ events: events.map(toWebhookEvent) });
}

/**
 * Tells the dispatcher of this process that a write enqueued events, so they go out at once instead of at the
 * next poll (events enqueued by other processes wait for the poll).
 */
export class OutboxSignal {
  private waiters: Array<() => void> = [];

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at the next `notify`, or after `ms`. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const waiters = this.waiters;
      function done() {
        clearTimeout(timer);
        const at = waiters.indexOf(done);
        if (at >= 0) waiters.splice(at, 1);
        resolve();
      }
      waiters.push(done);
    });
  }
}
