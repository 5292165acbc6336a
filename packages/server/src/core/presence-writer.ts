import { QueueShed, TurnBatcher } from './turn-batcher.js';
import type { PresenceRecord, UserId } from './types.js';

export interface WriterTarget {
  upsertPresences(records: readonly PresenceRecord[]): Promise<void>;
}

interface Write {
  records: readonly PresenceRecord[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Write-through to PostgreSQL for transitions, coalesced: records queued in the same turn of the event loop go
 * out as one statement, so a burst of a thousand users coming online costs one round trip, not a thousand.
 * One write is in flight at a time; what comes meanwhile waits and goes out merged. A failed write is kept
 * and retried, merged with newer records (the repository ignores older ones).
 */
export class PresenceWriter {
  private readonly batcher: TurnBatcher<Write>;
  /** Records of failed writes, sent again with the next batch. */
  private retained = new Map<UserId, PresenceRecord>();
  private flushing: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Set while the database refuses writes; cleared by the next success. */
  failing = false;

  constructor(
    private readonly target: WriterTarget,
    private readonly onError: (error: unknown) => void,
    private readonly retryMs = 1_000,
    /** Writes that may wait behind the one in flight; past it they are shed (`onShed`). */
    maxQueued = DEFAULT_MAX_QUEUED,
    private readonly onShed: (records: number) => void = () => {},
  ) {
    this.batcher = new TurnBatcher((writes) => void this.send(writes), { maxBatch: 5_000, maxQueued });
  }

  /** Writes waiting for the database (not counting the one in flight). */
  get depth(): number {
    return this.batcher.size;
  }

  /**
   * Queues records; resolves once they are written (or rejects on a failed write, while keeping them queued).
   * When the queue is full the records are shed: counted, and the promise rejects with QueueShed. The hot state
   * still holds them, and the periodic sync writes every user not offline.
   */
  write(records: readonly PresenceRecord[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.batcher.add({ records, resolve, reject })) return;
      this.onShed(records.length);
      reject(new QueueShed('write_through'));
    });
  }

  /** Writes everything queued now (shutdown). */
  async flush(): Promise<void> {
    while (this.flushing !== null) await this.flushing;
    if (this.batcher.size === 0) {
      if (this.retained.size > 0) await this.send([]);
      return;
    }
    // A batch at a time; a failed one ends it (the records stay retained for the retry).
    while (this.batcher.size > 0) {
      this.batcher.resume();
      this.batcher.flushNow();
      await this.flushing;
      if (this.failing) return;
      while (this.flushing !== null) await this.flushing;
    }
  }

  private send(writes: Write[]): Promise<void> {
    this.batcher.pause();
    const batch = this.retained;
    this.retained = new Map();
    for (const { records } of writes) {
      for (const record of records) batch.set(record.userId, newer(batch.get(record.userId), record));
    }
    this.flushing = (async () => {
      try {
        if (batch.size > 0) await this.target.upsertPresences([...batch.values()]);
        this.failing = false;
        for (const write of writes) write.resolve();
      } catch (error) {
        this.failing = true;
        for (const [userId, record] of batch)
          this.retained.set(userId, newer(this.retained.get(userId), record));
        for (const write of writes) write.reject(error);
        this.onError(error);
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = null;
          void this.flush().catch(() => {});
        }, this.retryMs);
        this.retryTimer.unref();
      } finally {
        this.flushing = null;
        // While the database fails, new records wait for the retry instead of failing one by one.
        if (!this.failing) this.batcher.resume();
      }
    })();
    return this.flushing;
  }

  close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }
}

/** How many writes may wait while the database is slow or down: past it, write-through is shed. */
export const DEFAULT_MAX_QUEUED = 100_000;

/** The record to keep of two for one user: the later version, with the later times of both. */
function newer(current: PresenceRecord | undefined, next: PresenceRecord): PresenceRecord {
  if (current === undefined) return next;
  const winner = next.v >= current.v ? next : current;
  return {
    ...winner,
    lastSeen: Math.max(current.lastSeen ?? 0, next.lastSeen ?? 0) || null,
    lastHeartbeat: Math.max(current.lastHeartbeat ?? 0, next.lastHeartbeat ?? 0) || null,
  };
}
