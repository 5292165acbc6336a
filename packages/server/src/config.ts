import {
  ConfigError,
  type Env,
  flag,
  integer,
  optional,
  origins,
  type RedisNode,
  redisNodes,
  text,
  url,
  workers,
} from './config-env.js';

export { ConfigError, parseRedisNodes, type RedisNode } from './config-env.js';

/**
 * Every environment variable the service reads, parsed and validated in one place. A bad value stops
 * the start with a ConfigError that names the variable and says what it expects.
 */
export interface Config {
  host: string;
  port: number;
  udpPort: number;
  databaseUrl: string | undefined;
  dataDir: string;
  redisUrl: string | undefined;
  /** Seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES): hot state and bus on the cluster. Exclusive with redisUrl. */
  redisClusterNodes: RedisNode[] | undefined;
  /** Prepended to every Redis key and channel, so that several deployments (or test runs) can share a Redis. */
  redisKeyPrefix: string;
  /** HS256 secrets for user tokens, comma-separated: a token signed with any verifies, the first signs. */
  authSecret: string | undefined;
  /** The identity provider's JWKS: RS256 and ES256 tokens whose `kid` it lists verify too. */
  authJwksUrl: string | undefined;
  /** When set, a token's `iss` must equal it. */
  authIssuer: string | undefined;
  /** When set, a token's `aud` must be or contain it. */
  authAudience: string | undefined;
  serviceKey: string | undefined;
  demo: boolean;
  presenceTimeoutMs: number;
  heartbeatMinIntervalMs: number;
  disconnectGraceMs: number;
  typingTtlMs: number;
  presenceTtlS: number;
  syncIntervalMs: number;
  cleanupIntervalMs: number;
  /** A Redis command unanswered this long fails, and a Redis that hangs puts the process in degraded mode. */
  redisCommandTimeoutMs: number;
  /** Open WebSockets per user on one process; one more closes the oldest with 4009. */
  maxSocketsPerUser: number;
  /** New WebSocket connections per second one remote address may open on this process; 0: no limit. */
  maxConnectsPerAddressPerS: number;
  /** How many of them it may open at once before the rate applies; 0: no limit. */
  maxConnectsPerAddressBurst: number;
  /** Origins whose browser apps may call the HTTP API and open the WebSocket; unset: no CORS at all. */
  corsOrigins: string[] | undefined;
  logLevel: LogLevel;
  /**
   * Server processes forked on this host (node:cluster), sharing PORT and UDP_PORT; 1: no cluster at all.
   * More than one needs shared state (REDIS_URL and DATABASE_URL).
   */
  workers: number;
  /** Where presence changes are POSTed; unset: no webhooks (and no outbox). */
  webhookUrl: string | undefined;
  /** Signs every delivery (HMAC-SHA256); required with a webhook URL. */
  webhookSecret: string | undefined;
  /** A delivery unanswered this long failed and is retried. */
  webhookTimeoutMs: number;
  /** Back-off before the first retry of a failed delivery; it doubles with each further failure. */
  webhookRetryMs: number;
  /** The longest back-off between two retries. */
  webhookRetryMaxMs: number;
  /** How long deliveries are retried before the events that waited that long are dropped. */
  webhookMaxAgeMs: number;
}

export const REDIS_CLUSTER_SHARDS = 64;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Reads the configuration from an environment (process.env by default) and checks its invariants.
 *
 * @example
 * const config = loadConfig({ PORT: '0', PRESENCE_TIMEOUT_MS: '30000' });
 */
export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:']);
  const redisClusterNodes = redisNodes(env, 'REDIS_CLUSTER_NODES');
  const authJwksUrl = url(env, 'AUTH_JWKS_URL', ['https:', 'http:']);
  const level = text(env, 'LOG_LEVEL', 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ConfigError('LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}`, level);
  }
  const config: Config = {
    host: text(env, 'HOST', '127.0.0.1'),
    port: integer(env, 'PORT', 8080, 0, 65535),
    udpPort: integer(env, 'UDP_PORT', 5555, 0, 65535),
    databaseUrl,
    dataDir: text(env, 'DATA_DIR', './.data'),
    redisUrl,
    redisClusterNodes,
    redisKeyPrefix: text(env, 'REDIS_KEY_PREFIX', ''),
    authSecret: optional(env, 'AUTH_SECRET'),
    authJwksUrl,
    authIssuer: optional(env, 'AUTH_ISSUER'),
    authAudience: optional(env, 'AUTH_AUDIENCE'),
    serviceKey: optional(env, 'SERVICE_KEY'),
    demo: flag(
      env,
      'DEMO',
      databaseUrl === undefined && redisUrl === undefined && redisClusterNodes === undefined,
    ),
    presenceTimeoutMs: integer(env, 'PRESENCE_TIMEOUT_MS', 60_000, 1),
    heartbeatMinIntervalMs: integer(env, 'HEARTBEAT_MIN_INTERVAL_MS', 10_000, 0),
    disconnectGraceMs: integer(env, 'DISCONNECT_GRACE_MS', 5_000, 0),
    typingTtlMs: integer(env, 'TYPING_TTL_MS', 3_000, 1),
    presenceTtlS: integer(env, 'PRESENCE_TTL_S', 300, 1),
    syncIntervalMs: integer(env, 'SYNC_INTERVAL_MS', 300_000, 1),
    cleanupIntervalMs: integer(env, 'CLEANUP_INTERVAL_MS', 300_000, 1),
    redisCommandTimeoutMs: integer(env, 'REDIS_COMMAND_TIMEOUT_MS', 2_000, 50, 60_000),
    maxSocketsPerUser: integer(env, 'MAX_SOCKETS_PER_USER', 16, 1, 10_000),
    maxConnectsPerAddressPerS: integer(env, 'MAX_CONNECTS_PER_ADDRESS_PER_S', 20, 0, 1_000_000),
    maxConnectsPerAddressBurst: integer(env, 'MAX_CONNECTS_PER_ADDRESS_BURST', 100, 0, 1_000_000),
    corsOrigins: origins(env, 'CORS_ORIGINS'),
    logLevel: level as LogLevel,
    workers: workers(env, databaseUrl !== undefined && redisUrl !== undefined),
    webhookUrl: url(env, 'WEBHOOK_URL', ['https:', 'http:']),
    webhookSecret: optional(env, 'WEBHOOK_SECRET'),
    webhookTimeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 5_000, 1),
    webhookRetryMs: integer(env, 'WEBHOOK_RETRY_MS', 5_000, 1),
    webhookRetryMaxMs: integer(env, 'WEBHOOK_RETRY_MAX_MS', 300_000, 1),
    webhookMaxAgeMs: integer(env, 'WEBHOOK_MAX_AGE_MS', 3_600_000, 1),
  };
  return validateConfig(config);
}

/** Checks the timing invariants; returns the config unchanged or throws a ConfigError naming what to change. */
export function validateConfig(config: Config): Config {
  const { presenceTimeoutMs, heartbeatMinIntervalMs, presenceTtlS } = config;
  if (presenceTimeoutMs <= heartbeatMinIntervalMs) {
    throw new ConfigError(
      'PRESENCE_TIMEOUT_MS',
      `expected a value above HEARTBEAT_MIN_INTERVAL_MS (${heartbeatMinIntervalMs}), or a client heartbeating at the allowed rate would flap`,
      String(presenceTimeoutMs),
    );
  }
  if (presenceTtlS * 1000 <= presenceTimeoutMs) {
    throw new ConfigError(
      'PRESENCE_TTL_S',
      `expected more seconds than PRESENCE_TIMEOUT_MS (${presenceTimeoutMs} ms), or hot state would expire before the user times out`,
      String(presenceTtlS),
    );
  }
  if (config.redisUrl !== undefined && config.redisClusterNodes !== undefined) {
    throw new ConfigError(
      'REDIS_CLUSTER_NODES',
      'set either REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster), not both',
    );
  }
  // No braces: a `{` in the prefix would become every key's hash tag and put the whole cluster on one slot.
  if (!/^[A-Za-z0-9:_.-]{0,64}$/.test(config.redisKeyPrefix)) {
    throw new ConfigError(
      'REDIS_KEY_PREFIX',
      'expected at most 64 letters, digits or : _ . -',
      config.redisKeyPrefix,
    );
  }
  if (config.authSecret === undefined && !config.demo) {
    throw new ConfigError(
      'AUTH_SECRET',
      'required outside demo mode (DEMO=0): an HS256 secret for user tokens',
    );
  }
  if (config.authSecret !== undefined && authSecrets(config.authSecret).some((s) => s.length < 16)) {
    throw new ConfigError('AUTH_SECRET', 'expected at least 16 characters in each comma-separated secret');
  }
  if (config.serviceKey !== undefined && config.serviceKey.length < 16) {
    throw new ConfigError('SERVICE_KEY', 'expected at least 16 characters');
  }
  validateWebhooks(config);
  validateConnectRate(config);
  validateWorkers(config);
  timings(config);
  return config;
}

/** Both connect-rate values on, or both off: half a limit would be no limit or no connections. */
function validateConnectRate(config: Config): void {
  const { maxConnectsPerAddressPerS: perSecond, maxConnectsPerAddressBurst: burst } = config;
  if ((perSecond === 0) === (burst === 0)) return;
  const [variable, value, other] =
    perSecond === 0
      ? ['MAX_CONNECTS_PER_ADDRESS_PER_S', perSecond, 'MAX_CONNECTS_PER_ADDRESS_BURST']
      : ['MAX_CONNECTS_PER_ADDRESS_BURST', burst, 'MAX_CONNECTS_PER_ADDRESS_PER_S'];
  throw new ConfigError(
    variable,
    `expected a value above 0 while ${other} is set, or 0 in both to turn the per-address connect limit off`,
    String(value),
  );
}

/** The per-address connect rate of a configuration, or undefined when it is off. */
export function connectRate(config: Config): { perSecond: number; burst: number } | undefined {
  const { maxConnectsPerAddressPerS: perSecond, maxConnectsPerAddressBurst: burst } = config;
  return perSecond > 0 && burst > 0 ? { perSecond, burst } : undefined;
}

function validateWorkers(config: Config): void {
  if (config.workers <= 1) return;
  // Workers share nothing but the ports: presence lives in Redis, and PGlite's folder belongs to one process.
  const missing = [
    config.redisUrl === undefined ? 'REDIS_URL' : null,
    config.databaseUrl === undefined ? 'DATABASE_URL' : null,
  ].filter((name) => name !== null);
  if (missing.length > 0) {
    throw new ConfigError(
      'WORKERS',
      `more than one worker needs shared state: set ${missing.join(' and ')}, or WORKERS=1`,
      String(config.workers),
    );
  }
}

function validateWebhooks(config: Config): void {
  if (config.webhookUrl === undefined) return;
  if (config.webhookSecret === undefined) {
    throw new ConfigError('WEBHOOK_SECRET', 'required with WEBHOOK_URL: the key that signs every delivery');
  }
  if (config.webhookSecret.length < 16) {
    throw new ConfigError('WEBHOOK_SECRET', 'expected at least 16 characters');
  }
  if (config.webhookRetryMaxMs < config.webhookRetryMs) {
    throw new ConfigError(
      'WEBHOOK_RETRY_MAX_MS',
      `expected at least WEBHOOK_RETRY_MS (${config.webhookRetryMs}): the cap of a back-off that starts there`,
      String(config.webhookRetryMaxMs),
    );
  }
}

/** The secrets of an AUTH_SECRET value, the signing one first (a secret cannot hold a comma). */
export function authSecrets(value: string): string[] {
  return value.split(',').map((secret) => secret.trim());
}

/** Every timing derived from the configuration, computed once here so no component repeats the arithmetic. */
export interface Timings {
  /** Resolution of the deadline wheels: how often local deadlines (offline, typing) are checked. */
  tickMs: number;
  /** How often each process re-scores the users it holds WebSockets for, well inside the timeout. */
  refreshMs: number;
  /** How often the crash-safe sweep over the online set runs. */
  sweepMs: number;
  /**
   * How often typing past its expiry is looked for wherever it started: within one TTL, so the typing of a
   * process that died ends for its watchers about one TTL late at worst, never a whole sweep later.
   */
  typingSweepMs: number;
  /** How long a process's socket counts are believed without a refresh (two refreshes may be missed). */
  processTtlMs: number;
  /** WebSocket ping period; a peer that has not answered the previous ping is dropped. */
  pingMs: number;
  /** How long a cached visibility list lives without a graph-version check. */
  cacheTtlMs: number;
  /** How long a graph version counter lives: longer than any cached list, so it never restarts under one. */
  graphVersionTtlMs: number;
}

const TICK_MS = 25;
const CACHE_TTL_MS = 300_000;
const GRAPH_VERSION_TTL_MS = 3_600_000;

/** The derived timings of a configuration, with their invariants checked (a ConfigError names what to change). */
export function timings(config: Config): Timings {
  const { presenceTimeoutMs, disconnectGraceMs } = config;
  const refreshMs = Math.max(50, Math.floor(presenceTimeoutMs / 3));
  const derived: Timings = {
    tickMs: TICK_MS,
    refreshMs,
    sweepMs: Math.max(50, Math.min(15_000, Math.floor(presenceTimeoutMs / 4))),
    typingSweepMs: Math.max(50, Math.min(15_000, config.typingTtlMs)),
    processTtlMs: 2 * refreshMs,
    pingMs: Math.min(30_000, Math.max(1_000, Math.floor(presenceTimeoutMs / 2))),
    cacheTtlMs: CACHE_TTL_MS,
    graphVersionTtlMs: GRAPH_VERSION_TTL_MS,
  };
  if (disconnectGraceMs >= presenceTimeoutMs) {
    throw new ConfigError(
      'DISCONNECT_GRACE_MS',
      `expected a value below PRESENCE_TIMEOUT_MS (${presenceTimeoutMs}): a closed tab must not outlive a silent one`,
      String(disconnectGraceMs),
    );
  }
  if (derived.graphVersionTtlMs <= derived.cacheTtlMs) {
    throw new Error(
      'graph versions must outlive cached visibility lists, or a cached list could look current',
    );
  }
  if (derived.processTtlMs <= derived.refreshMs) {
    throw new Error('a process key must outlive one refresh interval, or live sockets would stop counting');
  }
  return derived;
}
