import cluster from 'node:cluster';
import { startServer } from '../app.js';
import { closeOnSignals } from '../cli/signals.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { isPresenceMessage, type ToPrimary, type ToWorker } from './messages.js';

/** How long a scrape waits for the primary's sum before /metrics fails (the primary waits less per worker). */
const SCRAPE_TIMEOUT_MS = 8_000;

function send(message: ToPrimary): void {
  process.send?.(message);
}

/**
 * One worker of the cluster: a whole server (its own process id, Redis connections, scheduler) on the ports
 * every worker shares. It tells the primary when it listens, answers the primary's metric collections with its
 * own registry, and serves /metrics with the primary's sum over all workers.
 */
export async function runWorker(config: Config, parentLogger: Logger): Promise<void> {
  const workerId = cluster.worker?.id ?? 0;
  const logger = parentLogger.child({ worker: workerId });
  const scrapes = new Map<number, { resolve(text: string): void; reject(error: Error): void }>();
  let nextScrape = 0;
  const scrapeAll = () =>
    new Promise<string>((resolve, reject) => {
      const id = nextScrape++;
      const timer = setTimeout(() => {
        scrapes.delete(id);
        reject(new Error('the primary did not answer the metrics scrape'));
      }, SCRAPE_TIMEOUT_MS);
      const settle =
        <T>(done: (value: T) => void) =>
        (value: T) => {
          clearTimeout(timer);
          scrapes.delete(id);
          done(value);
        };
      scrapes.set(id, { resolve: settle(resolve), reject: settle(reject) });
      send({ type: 'presence:scrape', id });
    });

  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ ...config, logger, workerId, scrapeMetrics: scrapeAll });
  } catch (error) {
    // The IPC channel would keep a worker that failed to start alive: let go of it, so the process exits
    // (with the code the CLI sets) and the primary hears of it.
    cluster.worker?.disconnect();
    throw error;
  }
  process.on('message', (message: unknown) => {
    if (!isPresenceMessage<ToWorker>(message)) return;
    if (message.type === 'presence:collect') {
      server.metrics.registry.getMetricsAsJSON().then(
        (metrics) => send({ type: 'presence:collected', id: message.id, metrics }),
        (error) => logger.warn({ err: error }, 'collecting metrics failed'),
      );
    } else {
      const pending = scrapes.get(message.id);
      if (message.text !== undefined) pending?.resolve(message.text);
      else pending?.reject(new Error(message.error ?? 'the metrics scrape failed'));
    }
  });
  send({ type: 'presence:ready', http: server.httpUrl, ws: server.wsUrl, udpPort: server.udpPort });
  closeOnSignals(logger, async () => {
    await server.close();
    // Leaving on purpose: the primary must not replace this worker.
    cluster.worker?.disconnect();
  });
}
