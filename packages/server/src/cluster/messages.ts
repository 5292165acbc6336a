import type { Registry } from 'prom-client';

/** One registry's metrics as prom-client JSON: what AggregatorRegistry.aggregate sums. */
export type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * What the primary and its workers say to each other over the cluster's IPC channel. Every message carries a
 * `presence:` type, so prom-client's or Node's own cluster messages are never mistaken for ours.
 */

/** The worker listens: where, so the primary can say it once all are up. */
export interface WorkerReady {
  type: 'presence:ready';
  http: string;
  ws: string;
  udpPort: number;
}

/** A worker was scraped: it asks the primary for the sum over every worker. */
export interface ScrapeRequest {
  type: 'presence:scrape';
  id: number;
}

/** The primary's answer to a ScrapeRequest: the Prometheus text for all workers, or why there is none. */
export interface ScrapeAnswer {
  type: 'presence:scrape-answer';
  id: number;
  text?: string;
  error?: string;
}

/** The primary asks each worker for its own metrics (as prom-client JSON, which AggregatorRegistry sums). */
export interface CollectRequest {
  type: 'presence:collect';
  id: number;
}

export interface CollectAnswer {
  type: 'presence:collected';
  id: number;
  metrics: MetricsJson;
}

export type ToPrimary = WorkerReady | ScrapeRequest | CollectAnswer;
export type ToWorker = ScrapeAnswer | CollectRequest;

const TYPES = new Set([
  'presence:ready',
  'presence:scrape',
  'presence:collected',
  'presence:scrape-answer',
  'presence:collect',
]);

/** Whether an IPC message is one of ours. */
export function isPresenceMessage<T extends ToPrimary | ToWorker>(message: unknown): message is T {
  return (
    typeof message === 'object' &&
    message !== null &&
    TYPES.has((message as { type?: unknown }).type as string)
  );
}
