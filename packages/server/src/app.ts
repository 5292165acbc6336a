import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { tokenSecret } from './auth/secret.js';
import { TokenVerifier } from './auth/token-verifier.js';
import { signUserToken } from './auth/tokens.js';
import { type Bus, LocalBus } from './bus/bus.js';
import { RedisBus } from './bus/redis-bus.js';
import { type Config, loadConfig, refreshIntervalMs, sweepIntervalMs, validateConfig } from './config.js';
import { PresenceService } from './core/presence-service.js';
import { systemClock } from './core/types.js';
import { openDatabase } from './db/database.js';
import { PresenceRepository } from './db/presence-repository.js';
import { DEMO_CONVERSATIONS, DEMO_USERS, installDemoData } from './demo-data.js';
import { Scheduler } from './jobs/scheduler.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { DEMO_STATIC_DIR } from './paths.js';
import { MemoryStore } from './store/memory-store.js';
import type { PresenceStore } from './store/presence-store.js';
import { RedisStore } from './store/redis-store.js';
import { ResilientStore } from './store/resilient-store.js';
import { createHttpServer } from './transport/http/server.js';
import { UdpHeartbeatServer } from './transport/udp/heartbeat-server.js';
import { WsGateway } from './transport/ws/gateway.js';

export interface ServerOptions extends Partial<Config> {
  logger?: Logger;
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
  /** Test and diagnostics hook: 'udp' (result, reason, count) for every datagram's fate. */
  events: EventEmitter<{ udp: [result: 'accepted' | 'dropped', reason: string, count: number] }>;
  /** A token for the user, signed with this server's secret (tests, demos, operators). */
  mintToken(userId: number, ttlSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

/** The configuration for a partial one: contract defaults, then the overrides, then the invariants. */
export function resolveConfig(options: Partial<Config> = {}): Config {
  const defaults = loadConfig({});
  const production = options.databaseUrl !== undefined || options.redisUrl !== undefined;
  const defined = Object.fromEntries(
    Object.entries(options).filter(([key, v]) => v !== undefined && key in defaults),
  );
  return validateConfig({ ...defaults, demo: !production, ...defined });
}

/**
 * Starts one server process: migrations, hot store, bus, service, HTTP + WebSocket, UDP and background jobs.
 *
 * @example
 * const server = await startServer({ port: 0, udpPort: 0, dataDir: 'memory://' });
 * const token = await server.mintToken(1);
 * // … ws://127.0.0.1:${server.port}/ws?token=${token}
 * await server.close();
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const config = resolveConfig(options);
  const logger = options.logger ?? createLogger(config.logLevel);
  const processId = randomUUID();
  const clock = systemClock;
  const rules = {
    presenceTimeoutMs: config.presenceTimeoutMs,
    disconnectGraceMs: config.disconnectGraceMs,
    heartbeatMinIntervalMs: config.heartbeatMinIntervalMs,
  };
  const cleanups: Array<() => Promise<void>> = [];
  const runCleanups = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };

  try {
    const database = await openDatabase(config);
    cleanups.push(() => database.close());
    await database.migrate();
    const repo = new PresenceRepository(database.db);

    let store: PresenceStore;
    let bus: Bus;
    let redis: Redis | null = null;
    let resilient: ResilientStore | null = null;
    let metrics: Metrics | null = null;
    if (config.redisUrl) {
      const prefix = config.redisKeyPrefix;
      redis = new Redis(config.redisUrl, {
        lazyConnect: true,
        enableAutoPipelining: true,
        maxRetriesPerRequest: 1,
      });
      redis.on('error', () => {});
      const connected = redis;
      cleanups.push(async () => connected.disconnect());
      await redis.connect();
      const subscriber = redis.duplicate();
      subscriber.on('error', () => {});
      const redisStore = new RedisStore(redis, {
        rules,
        processId,
        ttlSeconds: config.presenceTtlS,
        processTtlMs: 2 * refreshIntervalMs(config),
        prefix,
      });
      await redisStore.register();
      resilient = new ResilientStore(
        redisStore,
        redis,
        rules,
        config.presenceTtlS * 1000,
        logger,
        (degraded) => metrics?.degraded.set(degraded ? 1 : 0),
        clock,
      );
      store = resilient;
      bus = await RedisBus.create(redis, subscriber, prefix);
    } else {
      store = new MemoryStore(rules, config.presenceTtlS * 1000, clock);
      bus = new LocalBus();
      // This process owns all state: whatever PostgreSQL thinks online is left over from a previous run.
      await repo.markAllOffline();
    }
    cleanups.push(() => bus.close());

    const service = new PresenceService({
      store,
      durable: repo,
      bus,
      typingTtlMs: config.typingTtlMs,
      clock,
      onError: (error, context) => logger.warn({ err: error, context }, 'presence background work failed'),
    });
    metrics = new Metrics(() => store.countOnline());
    const restoredService = service;
    if (resilient) resilient.onRestored = () => restoredService.reconnectHeld();
    service.events.on('transition', (t) => metrics.transitions.inc({ status: t.status }));

    const key = await tokenSecret(config);
    const verifier = new TokenVerifier(key, clock);
    const mintToken = (userId: number, ttlSeconds = 86_400) => signUserToken(key, userId, ttlSeconds);

    if (config.demo) await installDemoData(service);

    const readiness = async () => {
      const [redisUp, databaseUp] = await Promise.all([store.ping(), database.ping()]);
      return {
        redis: redis === null ? ('not_configured' as const) : redisUp ? ('up' as const) : ('down' as const),
        database: databaseUp ? ('up' as const) : ('down' as const),
        degraded: resilient?.degraded ?? false,
      };
    };

    const app = await createHttpServer({
      service,
      verifier,
      metrics,
      logger,
      serviceKey: config.serviceKey,
      readiness,
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
      bus,
      verifier,
      metrics,
      logger,
      pingIntervalMs: Math.min(30_000, Math.max(1_000, Math.floor(config.presenceTimeoutMs / 2))),
    });
    app.server.on('upgrade', (request, socket, head) => gateway.handleUpgrade(request, socket, head));
    await app.listen({ host: config.host, port: config.port });
    const port = (app.server.address() as AddressInfo).port;

    const events = new EventEmitter<{
      udp: [result: 'accepted' | 'dropped', reason: string, count: number];
    }>();
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
    });
    const udpPort = await udp.listen();

    const scheduler = new Scheduler(logger, store, processId);
    scheduler.every('expire', 25, () => service.tick());
    scheduler.every('sweep', sweepIntervalMs(config), () => service.sweep());
    scheduler.every('refresh', refreshIntervalMs(config), () => service.refresh());
    scheduler.leased('sync', config.syncIntervalMs, () => service.syncToDatabase());
    scheduler.leased('cleanup', config.cleanupIntervalMs, () => service.cleanup());

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
        closing ??= (async () => {
          await scheduler.stop();
          await udp.close();
          await gateway.close();
          await service.shutdown();
          await app.close();
          await runCleanups();
        })();
        return closing;
      },
    };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}
