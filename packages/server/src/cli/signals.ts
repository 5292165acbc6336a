import type { Logger } from '../logger.js';

/** How long a graceful stop may take before the process gives up and exits. */
export const SHUTDOWN_TIMEOUT_MS = 15_000;

/**
 * Runs `close` once on SIGTERM or SIGINT, and exits with 1 if it takes longer than SHUTDOWN_TIMEOUT_MS. Also
 * logs unhandled rejections instead of dying on them: a promise rejected with nobody to handle it is a bug to
 * fix, not a reason to drop every connection.
 */
export function closeOnSignals(logger: Logger, close: () => Promise<void>): void {
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    force.unref();
    close().then(
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
