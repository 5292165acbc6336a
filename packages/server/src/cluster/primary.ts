import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { closeOnSignals } from '../cli/signals.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import {
  type CollectAnswer,
  isPresenceMessage,
  type MetricsJson,
  type ToPrimary,
  type ToWorker,
  type WorkerReady,
} from './messages.js';

/** How long a scrape waits for each worker's metrics; a worker that does not answer is left out of the sum. */
const COLLECT_TIMEOUT_MS = 3_000;
/** Back-off before replacing a worker that died before it was ready again, doubling up to the maximum. */
const RESTART_BACKOFF_MS = 500;
const RESTART_BACKOFF_MAX_MS = 30_000;

function send(worker: Worker, message: ToWorker): void {
  if (worker.isConnected()) worker.send(message);
}

/**
 * The cluster's primary: forks WORKERS workers, which share PORT and UDP_PORT through node:cluster (it holds
 * the listening sockets and hands connections to the workers; datagrams go to whichever worker reads first).
 * It serves nothing itself. A worker that dies is replaced at once; the users it held go offline on the other
 * workers as after any crashed process (the crash sweep over Redis's process registry). A scrape of /metrics
 * on any worker comes here and is answered with the sum over all workers.
 */
export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  const count = config.workers;
  const ready = new Map<Worker, WorkerReady>();
  const registry = new Registry();
  const workersGauge = new Gauge({
    name: 'presence_workers',
    help: 'Worker processes whose metrics this scrape sums',
    registers: [registry],
  });
  const restarts = new Counter({
    name: 'presence_worker_restarts_total',
    help: 'Workers that died and were replaced',
    registers: [registry],
  });
  let stopping = false;
  let failuresInARow = 0;
  let started = false;
  let startFailed: (error: Error) => void = () => {};
  let allReady: () => void = () => {};
  const starting = new Promise<void>((resolve, reject) => {
    allReady = resolve;
    startFailed = reject;
  });

  const collects = new Map<number, (answer: CollectAnswer) => void>();
  let nextCollect = 0;
  const collect = (worker: Worker) =>
    new Promise<MetricsJson | null>((resolve) => {
      const id = nextCollect++;
      const timer = setTimeout(() => {
        collects.delete(id);
        logger.warn({ worker: worker.id }, 'a worker did not answer the metrics scrape; left out');
        resolve(null);
      }, COLLECT_TIMEOUT_MS);
      collects.set(id, (answer) => {
        clearTimeout(timer);
        collects.delete(id);
        resolve(answer.metrics);
      });
      send(worker, { type: 'presence:collect', id });
    });
  const scrape = async (): Promise<string> => {
    const answers = (await Promise.all([...ready.keys()].map(collect))).filter((m) => m !== null);
    workersGauge.set(answers.length);
    return AggregatorRegistry.aggregate([...answers, await registry.getMetricsAsJSON()]).metrics();
  };

  const fork = () => {
    const worker = cluster.fork();
    worker.on('message', (message: unknown) => {
      if (!isPresenceMessage<ToPrimary>(message)) return;
      if (message.type === 'presence:ready') {
        ready.set(worker, message);
        failuresInARow = 0;
        logger.info({ worker: worker.id, pid: worker.process.pid }, `worker ${worker.id} ready`);
        if (!started && ready.size === count) {
          started = true;
          allReady();
        }
      } else if (message.type === 'presence:collected') {
        collects.get(message.id)?.(message);
      } else {
        scrape().then(
          (text) => send(worker, { type: 'presence:scrape-answer', id: message.id, text }),
          (error: Error) =>
            send(worker, { type: 'presence:scrape-answer', id: message.id, error: error.message }),
        );
      }
    });
  };

  cluster.on('exit', (worker, code, signal) => {
    const wasReady = ready.delete(worker);
    if (stopping) return;
    if (!started) {
      startFailed(new Error(`worker ${worker.id} exited (${signal ?? `code ${code}`}) before it was ready`));
      return;
    }
    if (!wasReady) failuresInARow += 1;
    const delay =
      failuresInARow === 0 ? 0 : Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MS * 2 ** failuresInARow);
    logger.error(
      { worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: delay },
      `worker ${worker.id} died; starting a replacement`,
    );
    restarts.inc();
    setTimeout(() => {
      if (!stopping) fork();
    }, delay);
  });

  const stopWorkers = async () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) return resolve();
            worker.once('exit', () => resolve());
            worker.process.kill('SIGTERM');
          }),
      ),
    );
  };

  for (let i = 0; i < count; i++) fork();
  try {
    await starting;
  } catch (error) {
    await stopWorkers();
    throw error;
  }
  const first = ready.values().next().value as WorkerReady;
  logger.info(
    { http: first.http, ws: first.ws, udpPort: first.udpPort, workers: count, demo: config.demo },
    `presence listening on ${first.http} (${count} workers, Redis, PostgreSQL)`,
  );
  closeOnSignals(logger, stopWorkers);
}
