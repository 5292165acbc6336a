import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Gauge } from 'prom-client';
import type { AdminCounters, AdminSnapshot } from './admin-snapshot.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export interface AdminFeedOptions {
  metrics: Metrics;
  /** The readiness check behind /readyz. */
  readiness: () => Promise<{ redis: 'up' | 'down' | 'not_configured'; database: 'up' | 'down' }>;
  logger: Logger;
  intervalMs?: number;
}

/** Snapshots per second the operations page is drawn for. */
export const ADMIN_FEED_INTERVAL_MS = 1_000;
/** How long a snapshot waits for the readiness check; after that it reports the last answer it has. */
const HEALTH_WAIT_MS = 500;
/** Event-loop delay sampling step, fine enough to see a 10 ms stall. */
const LAG_RESOLUTION_MS = 10;

type Listener = (snapshot: AdminSnapshot) => void;
type Health = Pick<AdminSnapshot, 'redis' | 'database' | 'health_checked_at'>;

/**
 * Turns the service's own metrics into one snapshot a second for the operations page. It runs only while
 * someone listens, and one feed serves every listener, so ten open pages cost what one does.
 *
 * The event-loop delay comes from a histogram of its own: collecting prom-client's default lag metrics
 * resets theirs, and a page open next to Prometheus would then shrink every scrape's window to a second.
 */
export class AdminFeed {
  private readonly listeners = new Set<Listener>();
  private readonly intervalMs: number;
  /** Bumped by every start and stop, so a snapshot finishing after a stop is dropped. */
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;
  private lag: IntervalHistogram | null = null;
  private previous: { at: number; totals: AdminCounters } | null = null;
  private latest: AdminSnapshot | null = null;
  private health: Health = { redis: 'unknown', database: 'unknown', health_checked_at: null };
  private checking: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: AdminFeedOptions) {
    this.intervalMs = options.intervalMs ?? ADMIN_FEED_INTERVAL_MS;
  }

  /** Calls `listener` with every snapshot from now on (the latest one at once); returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    if (this.closed) return () => {};
    this.listeners.add(listener);
    if (this.lag === null) this.start();
    else if (this.latest) listener(this.latest);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.stop();
  }

  private start(): void {
    const generation = ++this.generation;
    this.lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.lag.enable();
    this.tick(generation);
  }

  private stop(): void {
    this.generation += 1;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.lag?.disable();
    this.lag = null;
    this.previous = null;
    this.latest = null;
  }

  private tick(generation: number): void {
    const due = performance.now() + this.intervalMs;
    const next = () => {
      if (generation !== this.generation) return;
      this.timer = setTimeout(() => this.tick(generation), Math.max(0, due - performance.now()));
      this.timer.unref();
    };
    this.take().then(
      (snapshot) => {
        if (generation !== this.generation) return;
        this.latest = snapshot;
        for (const listener of this.listeners) listener(snapshot);
        next();
      },
      (error) => {
        this.options.logger.warn({ err: error }, 'admin snapshot failed');
        next();
      },
    );
  }

  private async take(): Promise<AdminSnapshot> {
    const { metrics } = this.options;
    const [, online, ws, degraded, totals] = await Promise.all([
      this.checkHealth(),
      gaugeValue(metrics.onlineUsers),
      gaugeValue(metrics.wsConnections),
      gaugeValue(metrics.degraded),
      this.totals(),
    ]);
    const at = performance.now();
    const previous = this.previous;
    this.previous = { at, totals };
    const intervalS = previous ? (at - previous.at) / 1000 : 0;
    const memory = process.memoryUsage();
    return {
      time: Date.now(),
      interval_s: round(intervalS),
      online_users: online,
      ws_connections: ws,
      rates: rates(totals, previous?.totals ?? null, intervalS),
      totals,
      event_loop_lag_ms: this.takeLag(),
      memory_bytes: { rss: memory.rss, heap_used: memory.heapUsed },
      ...this.health,
      degraded: degraded === 1,
    };
  }

  /** Starts a readiness check unless one is still out, and waits a little for it. */
  private async checkHealth(): Promise<void> {
    this.checking ??= this.options
      .readiness()
      .then(
        ({ redis, database }) => {
          this.health = { redis, database, health_checked_at: Date.now() };
        },
        (error) => this.options.logger.warn({ err: error }, 'admin readiness check failed'),
      )
      .finally(() => {
        this.checking = null;
      });
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, HEALTH_WAIT_MS);
    });
    await Promise.race([this.checking, waited]);
    clearTimeout(timer);
  }

  private takeLag(): AdminSnapshot['event_loop_lag_ms'] {
    const lag = this.lag;
    if (lag === null || lag.count === 0) return { p50: 0, p99: 0, max: 0 };
    // Every sample includes the sampling step itself: an idle loop reads as LAG_RESOLUTION_MS.
    const ms = (nanoseconds: number) => round(Math.max(0, nanoseconds / 1e6 - LAG_RESOLUTION_MS));
    const figures = { p50: ms(lag.percentile(50)), p99: ms(lag.percentile(99)), max: ms(lag.max) };
    lag.reset();
    return figures;
  }

  private async totals(): Promise<AdminCounters> {
    const { metrics } = this.options;
    const [udp, http, transitions, broadcasts, closed] = await Promise.all([
      metrics.udpPackets.get(),
      metrics.httpHeartbeats.get(),
      metrics.transitions.get(),
      metrics.broadcasts.get(),
      metrics.wsDropped.get(),
    ]);
    const udpAccepted = udp.values.filter((v) => v.labels.result === 'accepted');
    const httpBy = byLabel(http.values, 'result');
    return {
      udp_accepted: udpAccepted.reduce((sum, v) => sum + v.value, 0),
      udp_dropped: byLabel(
        udp.values.filter((v) => v.labels.result === 'dropped'),
        'reason',
      ),
      http_accepted: httpBy.accepted ?? 0,
      http_rate_limited: httpBy.rate_limited ?? 0,
      transitions: byLabel(transitions.values, 'status'),
      broadcasts: byLabel(broadcasts.values, 'type'),
      ws_closed: byLabel(closed.values, 'reason'),
    };
  }
}

interface Sample {
  value: number;
  labels: Partial<Record<string, string | number>>;
}

async function gaugeValue(gauge: Gauge): Promise<number> {
  const { values } = await gauge.get();
  return values[0]?.value ?? 0;
}

function byLabel(values: Sample[], label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { value, labels } of values) {
    const key = String(labels[label] ?? '');
    out[key] = (out[key] ?? 0) + value;
  }
  return out;
}

function perSecond(now: number, before: number, seconds: number): number {
  return seconds > 0 ? round(Math.max(0, now - before) / seconds) : 0;
}

function perSecondBy(now: Record<string, number>, before: Record<string, number> | undefined, s: number) {
  return Object.fromEntries(Object.entries(now).map(([k, v]) => [k, perSecond(v, before?.[k] ?? 0, s)]));
}

function rates(now: AdminCounters, before: AdminCounters | null, seconds: number): AdminCounters {
  const s = before ? seconds : 0;
  return {
    udp_accepted: perSecond(now.udp_accepted, before?.udp_accepted ?? 0, s),
    udp_dropped: perSecondBy(now.udp_dropped, before?.udp_dropped, s),
    http_accepted: perSecond(now.http_accepted, before?.http_accepted ?? 0, s),
    http_rate_limited: perSecond(now.http_rate_limited, before?.http_rate_limited ?? 0, s),
    transitions: perSecondBy(now.transitions, before?.transitions, s),
    broadcasts: perSecondBy(now.broadcasts, before?.broadcasts, s),
    ws_closed: perSecondBy(now.ws_closed, before?.ws_closed, s),
  };
}

/** Three decimals: enough for a chart, and keeps the frames short. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
