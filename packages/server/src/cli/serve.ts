import cluster from 'node:cluster';
import { startServer } from '../app.js';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import { closeOnSignals } from './signals.js';

/**
 * `presence serve`: starts the server and stops it gracefully on SIGTERM or SIGINT. With WORKERS above 1 this
 * process becomes the cluster's primary, which only forks, replaces and scrapes the workers; each worker comes
 * back here and runs the server.
 */
export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  if (cluster.isWorker) {
    const { runWorker } = await import('../cluster/worker.js');
    return runWorker(config, logger);
  }
  if (config.workers > 1) {
    const { runPrimary } = await import('../cluster/primary.js');
    return runPrimary(config, logger);
  }
  const server = await startServer({ ...config, logger });
  const mode = config.redisClusterNodes ? 'Redis Cluster' : config.redisUrl ? 'Redis' : 'in-process state';
  const db = config.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}`;
  logger.info(
    { http: server.httpUrl, ws: server.wsUrl, udpPort: server.udpPort, demo: config.demo },
    `presence listening on ${server.httpUrl} (${mode}, ${db})`,
  );
  if (config.demo) {
    process.stdout.write(
      [
        '',
        `  Presence demo:  ${server.httpUrl}/   (open it in two windows, pick a different user in each)`,
        `  WebSocket:      ${server.wsUrl}?token=<token>`,
        `  UDP heartbeats: ${config.host}:${server.udpPort}`,
        `  Get a token:    curl -s -XPOST ${server.httpUrl}/api/dev/token -H 'content-type: application/json' -d '{"user_id":1}'`,
        '',
        '',
      ].join('\n'),
    );
  }
  closeOnSignals(logger, () => server.close());
}
