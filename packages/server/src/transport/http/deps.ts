import type { TokenVerifier } from '../../auth/token-verifier.js';
import type { PresenceService } from '../../core/presence-service.js';
import type { GraphBulk } from '../../db/graph-bulk.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';

/** What `GET /readyz` reports. */
export interface Readiness {
  redis: 'up' | 'down' | 'not_configured';
  database: 'up' | 'down';
  degraded: boolean;
}

/** What the HTTP routes need: the service and the edges around it. */
export interface HttpDeps {
  service: PresenceService;
  verifier: TokenVerifier;
  metrics: Metrics;
  logger: Logger;
  serviceKey: string | undefined;
  /** Origins allowed to call the API from a browser (CORS); unset: none. */
  corsOrigins?: readonly string[] | undefined;
  /** Bulk graph writes, for the backfill endpoint. */
  graphBulk: GraphBulk;
  readiness: () => Promise<Readiness>;
  /** The cluster worker serving (WORKERS above 1), named by /healthz. */
  workerId?: number | undefined;
  /** The Prometheus text /metrics answers; unset: this process's own registry. */
  scrapeMetrics?: (() => Promise<string>) | undefined;
  demo: { mintToken(userId: number): Promise<string>; users(): Promise<unknown>; staticDir: string } | null;
}
