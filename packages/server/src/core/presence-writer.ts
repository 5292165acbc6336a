import type { PresenceRecord, UserId } from './types.js';

export interface WriterTarget {
  upsertPresences(records: readonly PresenceRecord[]): Promise<void>;
}

/**
 * Write-through to PostgreSQL for transitions, coalesced: records queued in the same turn of the event loop go
 * out as one statement, so a burst of a thousand users coming online costs one round trip, not a thousand.
 * A failed write is kept and retried, merged with newer records (the repository ignores older ones).
 */
export class PresenceWriter {
  private queue = new Map<UserId, PresenceRecord>();
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private retryTimer: NodeJS.Timeout | null = null;
  /** Set while the database refuses writes; cleared by the next success. */
  failing = false;

  constructor(
    private readonly target: WriterTarget,
    private readonly onError: (error: unknown) => void,
    private readonly retryMs = 1_000,
  ) {}

  /** Queues records; resolves once they are written (or rejects on a failed write, while keeping them queued). */
  write(records: readonly PresenceRecord[]): Promise<void> {
    for (const record of records) this.queue.set(record.userId, newer(this.queue.get(record.userId), record));
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.schedule();
    return done;
  }

  private schedule(): void {
    if (this.scheduled || this.flushing !== null) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  /** Writes everything queued now. */
  async flush(): Promise<void> {
    if (this.flushing !== null) {
      await this.flushing;
      if (this.queue.size > 0) await this.flush();
      return;
    }
    if (this.queue.size === 0) {
      for (const waiter of this.waiters.splice(0)) waiter.resolve();
      return;
    }
    const batch = this.queue;
    const waiters = this.waiters;
    this.queue = new Map();
    this.waiters = [];
    this.flushing = (async () => {
      try {
        await this.target.upsertPresences([...batch.values()]);
        this.failing = false;
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        this.failing = true;
        for (const [userId, record] of batch) this.queue.set(userId, newer(this.queue.get(userId), record));
        for (const waiter of waiters) waiter.reject(error);
        this.onError(error);
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = null;
          void this.flush().catch(() => {});
        }, this.retryMs);
        this.retryTimer.unref();
      } finally {
        this.flushing = null;
      }
    })();
    await this.flushing;
    if (this.queue.size > 0 && !this.failing) this.schedule();
  }

  close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}

function newer(current: PresenceRecord | undefined, next: PresenceRecord): PresenceRecord {
  if (current === undefined) return next;
  if ((next.lastSeen ?? 0) < (current.lastSeen ?? 0)) return current;
  return { ...next, lastHeartbeat: Math.max(current.lastHeartbeat ?? 0, next.lastHeartbeat ?? 0) || null };
}
