import type { LeaseStore } from '../core/ports.js';
import type { OutboxEvent } from '../db/presence-repository.js';
import type { Logger } from '../logger.js';
import { MAX_BATCH, type OutboxSignal, webhookBody } from './queue.js';
import { webhookHeaders } from './signing.js';

/** The lease naming the one process of a deployment that delivers. */
export const WEBHOOK_LEASE = 'webhooks';

export interface Outbox {
  peekOutbox(limit: number): Promise<OutboxEvent[]>;
  deleteOutbox(seqs: readonly number[]): Promise<void>;
  dropOutboxBefore(cutoff: number): Promise<number>;
  outboxDepth(): Promise<number>;
}

export interface WebhookSettings {
  url: string;
  secret: string;
  /** A delivery unanswered this long failed. */
  timeoutMs: number;
  /** Back-off before the first retry; each further retry doubles it. */
  retryMs: number;
  /** The longest back-off. */
  retryMaxMs: number;
  /** After failing this long, events older than this are dropped (counted as failed). */
  maxAgeMs: number;
}

export type WebhookResult = 'delivered' | 'failed' | 'retried';

export interface WebhookDispatcherOptions extends WebhookSettings {
  outbox: Outbox;
  leases: LeaseStore;
  /** This process's name on the lease. */
  holder: string;
  signal: OutboxSignal;
  logger: Logger;
  onResult: (result: WebhookResult, count: number) => void;
  onDepth: (depth: number) => void;
  /** Uniform in [0, 1): the jitter (tests pin it). */
  random?: () => number;
}

/** How often a backlog is counted for the queue-depth gauge. */
const DEPTH_COUNT_MS = 5_000;

/** How often the holder renews its lease and looks for events other processes enqueued. */
export const webhookPollMs = (timeoutMs: number): number => Math.min(1_000, timeoutMs);

/**
 * A lease outlives the longest step of its holder (one delivery and its bookkeeping) with room to spare, so
 * a live holder never loses it between two renewals, and a dead one hands over within this time.
 */
export const webhookLeaseMs = (timeoutMs: number): number =>
  3 * Math.max(timeoutMs, webhookPollMs(timeoutMs));

/** Back-off before retry number `failures` (1 = the first): doubling up to the cap, with equal jitter. */
export function retryDelay(
  failures: number,
  settings: Pick<WebhookSettings, 'retryMs' | 'retryMaxMs'>,
  random: number,
): number {
  const full = Math.min(settings.retryMaxMs, settings.retryMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(full / 2 + (random * full) / 2);
}

/**
 * Delivers the outbox to the receiver from whichever process holds the webhook lease. The queue goes out in
 * enqueue order, head first: a failed batch is retried before anything behind it is sent, which keeps each
 * user's events in `v` order across retries. Events leave the outbox only after a 2xx, so a receiver that is
 * down or a holder that dies loses nothing: the next holder sends again from the head (at least once).
 */
export class WebhookDispatcher {
  private stopped = false;
  private running: Promise<void> | null = null;
  private readonly inFlight = new AbortController();
  private failures = 0;
  private retryAt = 0;
  private failingSince: number | null = null;
  private countedAt = 0;
  private readonly pollMs: number;
  private readonly leaseMs: number;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.pollMs = webhookPollMs(options.timeoutMs);
    this.leaseMs = webhookLeaseMs(options.timeoutMs);
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.inFlight.abort();
    this.options.signal.notify();
    await this.running;
    await this.options.leases.releaseLease(WEBHOOK_LEASE, this.options.holder).catch(() => {});
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.step();
      } catch (error) {
        // The outbox or the lease store is away: nothing left the outbox, so nothing is lost.
        this.options.logger.warn({ err: error }, 'webhook dispatch failed');
        await this.options.signal.wait(this.pollMs);
      }
    }
  }

  private async step(): Promise<void> {
    const { leases, holder, outbox, signal, onDepth } = this.options;
    if (!(await leases.acquireLease(WEBHOOK_LEASE, holder, this.leaseMs))) {
      // Another process delivers; its back-off is its own.
      this.failures = 0;
      this.retryAt = 0;
      this.failingSince = null;
      onDepth(0);
      await signal.wait(this.pollMs);
      return;
    }
    const wait = this.retryAt - Date.now();
    if (wait > 0) {
      await signal.wait(Math.min(wait, this.pollMs));
      return;
    }
    const batch = await outbox.peekOutbox(MAX_BATCH);
    await this.reportDepth(batch.length);
    if (batch.length === 0) {
      await signal.wait(this.pollMs);
      return;
    }
    if (this.stopped) return;
    if (await this.deliver(batch)) {
      await outbox.deleteOutbox(batch.map((e) => e.seq));
      this.options.onResult('delivered', batch.length);
      this.failures = 0;
      this.retryAt = 0;
      this.failingSince = null;
    } else if (!this.stopped) {
      await this.failed(batch.length);
    }
  }

  /**
   * A full batch means a backlog, counted at most every few seconds: counting it at every batch would scan it
   * over and over while it drains.
   */
  private async reportDepth(peeked: number): Promise<void> {
    const now = Date.now();
    if (peeked < MAX_BATCH) {
      this.options.onDepth(peeked);
    } else if (now - this.countedAt >= DEPTH_COUNT_MS) {
      this.countedAt = now;
      this.options.onDepth(await this.options.outbox.outboxDepth());
    }
  }

  private async failed(count: number): Promise<void> {
    const { outbox, onResult, maxAgeMs } = this.options;
    const now = Date.now();
    this.failures += 1;
    this.failingSince ??= now;
    this.retryAt = now + retryDelay(this.failures, this.options, (this.options.random ?? Math.random)());
    onResult('retried', count);
    // Only after retrying for the whole window may anything go, and then only what waited that long.
    if (now - this.failingSince >= maxAgeMs) {
      const dropped = await outbox.dropOutboxBefore(now - maxAgeMs);
      if (dropped > 0) {
        onResult('failed', dropped);
        this.options.logger.warn({ dropped }, 'webhook events dropped after retrying for their whole age');
      }
    }
  }

  /** One POST of the batch; true on a 2xx. */
  private async deliver(batch: readonly OutboxEvent[]): Promise<boolean> {
    const { url, secret, timeoutMs, logger } = this.options;
    const body = webhookBody(batch);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: webhookHeaders(secret, body, Date.now()),
        body,
        // A redirect is not an answer: the receiver's URL is configured, not discovered.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.inFlight.signal]),
      });
      await response.body?.cancel();
      if (response.status >= 200 && response.status < 300) return true;
      logger.warn({ status: response.status, events: batch.length }, 'webhook receiver refused a delivery');
      return false;
    } catch (error) {
      if (!this.stopped) logger.warn({ err: error, events: batch.length }, 'webhook delivery failed');
      return false;
    }
  }
}
