import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BusTraffic } from './bus/envelope.js';

/** The service's Prometheus metrics, on a registry of its own (several servers can share one process in tests). */
export class Metrics {
  readonly registry = new Registry();
  readonly udpPackets = new Counter({
    name: 'presence_udp_packets_total',
    help: 'UDP heartbeat datagrams by result (accepted, dropped) and drop reason',
    labelNames: ['result', 'reason'] as const,
    registers: [this.registry],
  });
  readonly httpHeartbeats = new Counter({
    name: 'presence_http_heartbeats_total',
    help: 'HTTP heartbeats by result (accepted, rate_limited)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly wsConnections = new Gauge({
    name: 'presence_ws_connections',
    help: 'Open WebSocket connections on this process',
    registers: [this.registry],
  });
  readonly wsDropped = new Counter({
    name: 'presence_ws_closed_total',
    help: 'WebSocket connections closed by the server, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly wsConnectsRateLimited = new Counter({
    name: 'presence_ws_connects_rate_limited_total',
    help: 'WebSocket upgrades refused with 429: the remote address opened connections faster than its allowed rate',
    registers: [this.registry],
  });
  readonly transitions = new Counter({
    name: 'presence_transitions_total',
    help: 'Status transitions decided by this process, by new status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly broadcasts = new Counter({
    name: 'presence_broadcasts_total',
    help: 'Messages delivered to local WebSocket connections, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly heartbeatBatch = new Histogram({
    name: 'presence_heartbeat_batch_seconds',
    help: 'Time from a UDP heartbeat batch leaving the socket to its transitions being published',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly degraded = new Gauge({
    name: 'presence_degraded',
    help: '1 while Redis is unreachable and the process runs on local state and PostgreSQL',
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly webhookEvents = new Counter({
    name: 'presence_webhook_events_total',
    help: 'Webhook events by result: delivered (2xx), retried (in a failed delivery), failed (dropped after retrying)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly webhookQueueDepth = new Gauge({
    name: 'presence_webhook_queue_depth',
    help: 'Webhook events waiting in the outbox (reported by the delivering process; 0 on the others)',
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly queueShed = new Counter({
    name: 'presence_queue_shed_total',
    help: 'Items shed because a bounded queue was full, by queue (udp: heartbeats dropped as overloaded; write_through: transitions left to the sync job; lookups: graph lookups refused)',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
  readonly queueDepth: Gauge<'queue'>;
  private readonly depthSources: Array<() => Record<string, number>> = [];
  readonly onlineUsers: Gauge;

  constructor(countOnline: () => Promise<number>) {
    this.onlineUsers = new Gauge({
      name: 'presence_online_users',
      help: 'Users not offline (from the hot store)',
      // Every worker reads the same store: summing would count each user once per worker.
      aggregator: 'max',
      registers: [this.registry],
      async collect() {
        try {
          this.set(await countOnline());
        } catch {
          // Leave the last value: a scrape must not fail because Redis blinked.
        }
      },
    });
    const sources = this.depthSources;
    this.queueDepth = new Gauge({
      name: 'presence_queue_depth',
      help: 'Items waiting in a bounded queue, by queue (udp: heartbeats for the hot store; write_through: transitions for PostgreSQL; lookups: graph lookups)',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      collect() {
        for (const source of sources)
          for (const [queue, depth] of Object.entries(source())) this.set({ queue }, depth);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'presence_process_' });
  }

  /** Reports the users this process's connections watch (its watch index) at every scrape. */
  watchIndex(watched: () => number): void {
    new Gauge({
      name: 'presence_watched_users',
      help: 'Users watched by at least one WebSocket connection of this process (its watch index)',
      registers: [this.registry],
      collect() {
        this.set(watched());
      },
    });
  }

  /** Reports these queues' depths at every scrape, and their shed counts from 0. */
  watchQueues(depths: () => Record<string, number>): void {
    this.depthSources.push(depths);
    for (const queue of Object.keys(depths())) this.queueShed.inc({ queue }, 0);
  }

  /** Reports what this process read from the bus (Redis pub/sub) at every scrape: messages and bytes. */
  watchBus(traffic: BusTraffic): void {
    new Counter({
      name: 'presence_bus_received_total',
      help: 'Pub/sub messages this process read from the bus (its own echoes included)',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(traffic.received);
      },
    });
    new Counter({
      name: 'presence_bus_received_bytes_total',
      help: 'Bytes of the pub/sub messages this process read from the bus',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(traffic.receivedBytes);
      },
    });
  }

  /**
   * Publishes a readiness check at every scrape: `presence_ready` (1 when /readyz answers 200) and
   * `presence_dependency_up{dependency}`. A check that does not answer within READINESS_SCRAPE_TIMEOUT_MS
   * counts as down, so a hung dependency turns into an alert instead of a scrape timeout.
   */
  watchReadiness(check: () => Promise<{ redis: string; database: string }>): void {
    type State = { redis: string; database: string } | null;
    let pending: Promise<State> | null = null;
    let redisConfigured = true;
    // Both gauges collect during one scrape and share one check; a check still out is joined, not repeated.
    const probe = async (): Promise<State> => {
      pending ??= check()
        .catch(() => null)
        .finally(() => {
          pending = null;
        });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), READINESS_SCRAPE_TIMEOUT_MS);
      });
      const state = await Promise.race([pending, timeout]);
      clearTimeout(timer);
      if (state) redisConfigured = state.redis !== 'not_configured';
      return state;
    };
    new Gauge({
      name: 'presence_ready',
      help: '1 while the process can serve (what GET /readyz answers with 200), 0 otherwise',
      aggregator: 'min',
      registers: [this.registry],
      async collect() {
        this.set((await probe())?.database === 'up' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'presence_dependency_up',
      help: '1 while a dependency answers its health check (redis, database), 0 otherwise',
      labelNames: ['dependency'] as const,
      aggregator: 'min',
      registers: [this.registry],
      async collect() {
        const state = await probe();
        this.set({ dependency: 'database' }, state?.database === 'up' ? 1 : 0);
        if (redisConfigured) this.set({ dependency: 'redis' }, state?.redis === 'up' ? 1 : 0);
      },
    });
  }
}

/** Well under Prometheus' default scrape timeout (10 s), and far above a healthy ping. */
export const READINESS_SCRAPE_TIMEOUT_MS = 2_000;
