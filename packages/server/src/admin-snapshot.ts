/**
 * One frame of `GET /admin/stream`: what the operations page draws, once a second. Plain data with no
 * imports, so the page can share the type without pulling in the server.
 */
export interface AdminSnapshot {
  /** Epoch milliseconds when the snapshot was taken. */
  time: number;
  /** Seconds since the previous snapshot: the window of every rate (0 on the first one). */
  interval_s: number;
  /** Users not offline, from the hot store (every process of a deployment sees the same figure). */
  online_users: number;
  /** Open WebSockets on this process. */
  ws_connections: number;
  /** Per second over `interval_s`. */
  rates: AdminCounters;
  /** Since this process started. */
  totals: AdminCounters;
  /** Event-loop delay over `interval_s`, in milliseconds. */
  event_loop_lag_ms: { p50: number; p99: number; max: number };
  memory_bytes: { rss: number; heap_used: number };
  /** From the readiness check (the one behind /readyz); `unknown` until its first answer. */
  redis: 'up' | 'down' | 'not_configured' | 'unknown';
  database: 'up' | 'down' | 'unknown';
  /** When the check behind `redis` and `database` last answered (epoch ms), null before it ever did. */
  health_checked_at: number | null;
  /** Redis is unreachable and this process runs on local state and PostgreSQL. */
  degraded: boolean;
}

/** The service's counters, each keyed by its label where it has one. */
export interface AdminCounters {
  udp_accepted: number;
  /** By drop reason (the `reason` label of presence_udp_packets_total). */
  udp_dropped: Record<string, number>;
  http_accepted: number;
  http_rate_limited: number;
  /** By new status. */
  transitions: Record<string, number>;
  /** Frames delivered to local WebSockets, by type. */
  broadcasts: Record<string, number>;
  /** Connections the server closed, by reason. */
  ws_closed: Record<string, number>;
}
