import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

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
    registers: [this.registry],
  });

  constructor(countOnline: () => Promise<number>) {
    new Gauge({
      name: 'presence_online_users',
      help: 'Users not offline (from the hot store)',
      registers: [this.registry],
      async collect() {
        try {
          this.set(await countOnline());
        } catch {
          // Leave the last value: a scrape must not fail because Redis blinked.
        }
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'presence_process_' });
  }
}
