import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { openTokenAuth } from './auth/token-auth.js';
import { signUserToken } from './auth/tokens.js';
import type { Backend } from './backends/backend.js';
import { openMemoryBackend } from './backends/memory.js';
import { openRedisBackend } from './backends/redis.js';
import { type Config, connectRate, loadConfig, type Timings, timings, validateConfig } from './config.js';
import { PresenceService } from './core/presence-service.js';
import type { RuleConfig } from './core/rules.js';
import type { ServiceEvents } from './core/service-events.js';
import type { SessionLimits } from './core/session.js';
import { type Clock, systemClock } from './core/types.js';
import { openDatabase } from './db/database.js';
import { GraphBulk } from './db/graph-bulk.js';
import { PresenceRepository } from './db/presence-repository.js';
import { DEMO_CONVERSATIONS, DEMO_USERS, installDemoData } from './demo-data.js';
import { Scheduler } from './jobs/scheduler.js';
import { Lifecycle } from './lifecycle.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { DEMO_STATIC_DIR } from './paths.js';
import { createHttpServer } from './transport/http/server.js';
import { UdpHeartbeatServer } from './transport/udp/heartbeat-server.js';
import { WsGateway } from './transport/ws/gateway.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { OutboxSignal } from './webhooks/queue.js';

export interface ServerOptions extends Partial<Config> {
  logger?: Logger;
  /** The time for every rule of this server (tests pass a clock they control). */
  clock?: Clock;
  /** Per-connection limits other than the defaults (tests that flood on purpose). */
  sessionLimits?: Partial<SessionLimits>;
  /** Test hook: subscribed to the service's events before anything can happen (see ServiceEvents). */
  onServiceEvents?: (events: EventEmitter<ServiceEvents>) => void;
  /** The cluster worker this server is (WORKERS above 1): /healthz names it. */
  workerId?: number;
  /** Bounds of the queues off the hot path, other than the defaults (tests that fill them on purpose). */
  queueLimits?: {
    udpBatch?: number;
    udpInFlight?: number;
    udpQueued?: number;
    writeQueued?: number;
    lookupInFlight?: number;
    lookupQueued?: number;
  };
  /** What /metrics answers instead of this process's own registry (a worker's: the sum over all workers). */
  scrapeMetrics?: () => Promise<string>;
}

export interface ServerEvents {
  /** Every datagram's fate: (result, reason, count). */
  udp: [result: 'accepted' | 'dropped', reason: string, count: number];
}

export interface RunningServer {
  config: Config;
  httpUrl: string;
  wsUrl: string;
  port: number;
  udpPort: number;
  processId: string;
  service: PresenceService;
  metrics: Metrics;
  /** Test and diagnostics hook for the transports; the service reports on `service.events`. */
  events: EventEmitter<ServerEvents>;
  /** A token for the user, signed with this server's secret (tests, demos, operators). */
  mintToken(userId: number, ttlSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

/** The configuration for a partial one: the documented defaults, then the overrides, then the invariants. */
export function resolveConfig(options: Partial<Config> = {}): Config {
  const defaults = loadConfig({});
  const production =
    options.databaseUrl !== undefined ||
    options.redisUrl !== undefined ||
    options.redisClusterNodes !== undefined;
  const defined = Object.fromEntries(
    Object.entries(options).filter(([key, v]) => v !== undefined && key in defaults),
  );
  return validateConfig({ ...defaults, demo: !production, ...defined });
}

const rulesOf = (config: Config): RuleConfig => ({
  presenceTimeoutMs: config.presenceTimeoutMs,
  disconnectGraceMs: config.disconnectGraceMs,
  heartbeatMinIntervalMs: config.heartbeatMinIntervalMs,
});

function openBackend(config: Config, time: Timings, processId: string, clock: Clock, logger: Logger) {
  const rules = rulesOf(config);
  const target = config.redisClusterNodes
    ? { cluster: config.redisClusterNodes }
    : config.redisUrl
      ? { url: config.redisUrl }
      : null;
  if (target === null) return openMemoryBackend({ rules, ttlMs: config.presenceTtlS * 1000, clock });
  return openRedisBackend({
    target,
    prefix: config.redisKeyPrefix,
    rules,
    processId,
    ttlSeconds: config.presenceTtlS,
    processTtlMs: time.processTtlMs,
    clock,
    logger,
    commandTimeoutMs: config.redisCommandTimeoutMs,
  });
}

/**
 * Starts one server process: migrations, hot state and bus, service, HTTP + WebSocket, UDP and background
 * jobs. Each started component goes on one lifecycle stack, closed in reverse by `close()` or by a failed
 * start.
 *
 * @example
 * const server = await startServer({ port: 0, udpPort: 0, dataDir: 'memory://' });
 * const token = await server.mintToken(1);
 * // … ws://127.0.0.1:${server.port}/ws?token=${token}
 * await server.close();
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const config = resolveConfig(options);
  const time = timings(config);
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const processId = randomUUID();
  const lifecycle = new Lifecycle();
  const closeAll = () => lifecycle.closeAll((err, name) => logger.warn({ err, name }, 'closing failed'));

  try {
    const database = await openDatabase(config);
    lifecycle.defer('database', () => database.close());
    await database.migrate();
    const outboxSignal = new OutboxSignal();
    const repo = new PresenceRepository(database.db, {
      outbox: config.webhookUrl !== undefined,
      onEnqueued: () => outboxSignal.notify(),
    });

    const backend: Backend = await openBackend(config, time, processId, clock, logger);
    lifecycle.defer('backend', () => backend.close());
    // With process-local state, whatever PostgreSQL thinks online is left over from a previous run.
    if (backend.store.ephemeral) await repo.markAllOffline();

    const metrics = new Metrics(() => backend.store.countOnline());
    backend.onDegradedChange((degraded) => metrics.degraded.set(degraded ? 1 : 0));
    if (backend.busTraffic) metrics.watchBus(backend.busTraffic);

    const service = new PresenceService({
      store: backend.store,
      durable: repo,
      bus: backend.bus,
      typingTtlMs: config.typingTtlMs,
      clock,
      resolutionMs: time.tickMs,
      cacheTtlMs: time.cacheTtlMs,
      writeQueueLimit: options.queueLimits?.writeQueued,
      lookupLimits: {
        inFlight: options.queueLimits?.lookupInFlight,
        queued: options.queueLimits?.lookupQueued,
      },
    });
    options.onServiceEvents?.(service.events);
    metrics.watchQueues(() => service.queueDepths());
    metrics.watchIndex(() => service.watches.subjects);
    service.events.on('shed', (queue, count) => metrics.queueShed.inc({ queue }, count));
    service.events.on('transition', (t) => metrics.transitions.inc({ status: t.status }));
    service.events.on('failed', (err, context) =>
      logger.warn({ err, context }, 'presence background work failed'),
    );
    backend.onDegraded((standIn) => service.seedHeld(standIn));
    backend.onRestore(async (restored) => {
      await service.reconnectHeld();
      service.announceRestored(restored);
    });
    lifecycle.defer('service', () => service.shutdown());

    const auth = await openTokenAuth(config, { clock, logger });
    lifecycle.defer('auth', () => auth.close());
    const { verifier, signingKey } = auth;
    const mintToken = (userId: number, ttlSeconds = 86_400) => signUserToken(signingKey, userId, ttlSeconds);
    if (config.demo) await installDemoData(service);

    const app = await createHttpServer({
      service,
      verifier,
      metrics,
      logger,
      serviceKey: config.serviceKey,
      corsOrigins: config.corsOrigins,
      workerId: options.workerId,
      scrapeMetrics: options.scrapeMetrics,
      graphBulk: new GraphBulk(database.db),
      readiness: async () => {
        const [redis, databaseUp] = await Promise.all([backend.health(), database.ping()]);
        return { redis, database: databaseUp ? 'up' : 'down', degraded: backend.store.degraded };
      },
      demo: config.demo
        ? {
            mintToken: (userId) => mintToken(userId),
            users: async () => ({ users: DEMO_USERS, conversations: DEMO_CONVERSATIONS }),
            staticDir: DEMO_STATIC_DIR,
          }
        : null,
    });
    const gateway = new WsGateway({
      service,
      bus: backend.bus,
      verifier,
      metrics,
      logger,
      clock,
      pingIntervalMs: time.pingMs,
      limits: options.sessionLimits,
      maxSocketsPerUser: config.maxSocketsPerUser,
      corsOrigins: config.corsOrigins,
      connectRate: connectRate(config),
    });
    app.server.on('upgrade', (request, socket, head) => gateway.handleUpgrade(request, socket, head));
    // Broadcasts missed while the bus was away: every client gets a fresh snapshot (the SDK re-syncs on it).
    backend.onBusGap(() => {
      service.watches.reloadAll();
      gateway.resync();
    });
    backend.onDegradedChange((degraded) => {
      if (!degraded) gateway.resync();
    });
    await app.listen({ host: config.host, port: config.port });
    lifecycle.defer('http', () => app.close());
    lifecycle.defer('websocket', () => gateway.close());
    const port = (app.server.address() as AddressInfo).port;

    const events = new EventEmitter<ServerEvents>();
    const udp = new UdpHeartbeatServer({
      onResult: (result, reason, count) => events.emit('udp', result, reason, count),
      service,
      verifier,
      metrics,
      logger,
      host: config.host,
      port: config.udpPort,
      presenceTimeoutMs: config.presenceTimeoutMs,
      heartbeatMinIntervalMs: config.heartbeatMinIntervalMs,
      clock,
      maxBatch: options.queueLimits?.udpBatch,
      maxInFlight: options.queueLimits?.udpInFlight,
      maxQueued: options.queueLimits?.udpQueued,
    });
    metrics.watchQueues(() => ({ udp: udp.depth }));
    lifecycle.defer('udp', () => udp.close());
    const udpPort = await udp.listen();

    const scheduler = new Scheduler(logger, backend.store, processId);
    scheduler.every('expire', time.tickMs, () => service.tick());
    scheduler.every('sweep', time.sweepMs, () => service.sweep());
    scheduler.every('typing-sweep', time.typingSweepMs, () => service.sweepTyping());
    scheduler.every('refresh', time.refreshMs, () => service.refresh());
    // A lost graph notice, or a list loaded from the fallback during a database outage, is caught here.
    scheduler.every('watch-revalidate', time.refreshMs, () => service.watches.revalidate());
    scheduler.leased('sync', config.syncIntervalMs, () => service.syncToDatabase());
    scheduler.leased('cleanup', config.cleanupIntervalMs, () => service.cleanup());
    lifecycle.defer('scheduler', () => scheduler.stop());
    if (config.webhookUrl !== undefined && config.webhookSecret !== undefined) {
      const dispatcher = new WebhookDispatcher({
        url: config.webhookUrl,
        secret: config.webhookSecret,
        timeoutMs: config.webhookTimeoutMs,
        retryMs: config.webhookRetryMs,
        retryMaxMs: config.webhookRetryMaxMs,
        maxAgeMs: config.webhookMaxAgeMs,
        outbox: repo,
        leases: backend.store,
        holder: processId,
        signal: outboxSignal,
        logger,
        onResult: (result, count) => metrics.webhookEvents.inc({ result }, count),
        onDepth: (depth) => metrics.webhookQueueDepth.set(depth),
      });
      dispatcher.start();
      lifecycle.defer('webhooks', () => dispatcher.stop());
    }

    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    let closing: Promise<void> | null = null;
    return {
      config,
      httpUrl: `http://${host}:${port}`,
      wsUrl: `ws://${host}:${port}/ws`,
      port,
      udpPort,
      processId,
      service,
      metrics,
      events,
      mintToken,
      close() {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
