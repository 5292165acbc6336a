import { startServer } from '../app.js';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';

/** `presence serve`: starts the server and stops it gracefully on SIGTERM or SIGINT. */
export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
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
  // A promise rejected with nobody to handle it is a bug to fix, not a reason to drop every connection.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    server.close().then(
      () => {
        logger.info('stopped');
        process.exitCode = 0;
      },
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
