/**
 * Setup: the run's names, Redis, a throw-away database seeded by the server's own command, and the server
 * process. Each step pushes its undo on the cleanup stack as soon as there is something to undo.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import os from 'node:os';
import Redis from 'ioredis';
import pg from 'pg';
import { freeTcpPort, freeUdpPort, sleep } from './children.mjs';
import { fmt, log } from './report.mjs';
import { parseMetrics } from './stats.mjs';

export const CLI = new URL('../packages/server/dist/cli/main.js', import.meta.url).pathname;

/**
 * The names of this run's throw-away things, random so that two runs (or a crashed one) never share a database
 * or a Redis key, and the token secret.
 */
export function newRun() {
  const id = randomBytes(4).toString('hex');
  return {
    id,
    secret: randomBytes(24).toString('hex'),
    prefix: `bench:${id}:`,
    database: `bench_${id}`,
    logPath: `${os.tmpdir()}/presence-bench-${id}.log`,
  };
}

/**
 * Server timing: users must never time out during the run, and no heartbeat of the schedule is rate limited,
 * even at the largest step (the minimum interval is half the shortest interval between two heartbeats).
 */
export function serverTiming({ intervalMs, maxMultiplier }) {
  const presenceTimeoutMs = Math.max(60_000, Math.ceil(3 * intervalMs) + 10_000);
  return {
    minIntervalMs: Math.max(0, Math.min(10_000, Math.floor(intervalMs / (2 * maxMultiplier)))),
    presenceTimeoutMs,
    presenceTtlS: Math.ceil(presenceTimeoutMs / 1000) + 60,
  };
}

/** Redis's version and pid; the run's keys are deleted at the end. */
export async function openRedis({ redisUrl }, run, cleanup) {
  const redis = await redisInfo(redisUrl);
  cleanup.push(async () => {
    const deleted = await deleteKeys(redisUrl, run.prefix);
    log(`deleted ${fmt(deleted)} Redis keys under ${run.prefix}`);
  });
  return redis;
}

/**
 * A local 3-master Redis Cluster for `--cluster`, started from this machine's redis-server by the test suite's
 * helper (TypeScript, loaded through tsx) and stopped at the end: its version, its nodes and every node's pid.
 */
export async function openRedisCluster(cleanup) {
  const { register } = await import('tsx/esm/api');
  register();
  const { startRedisCluster } = await import('../packages/server/test/support/redis-cluster.ts');
  const cluster = await startRedisCluster();
  cleanup.push(() => cluster.stop());
  const first = cluster.nodes.split(',')[0];
  const { version } = await redisInfo(`redis://${first}`);
  const pids = cluster.members.map((m) => m.process.pid);
  log(`Redis Cluster of 3 masters on ${cluster.nodes}`);
  return { version, pid: null, pids, nodes: cluster.nodes };
}

/** The run's own database, dropped at the end. */
export async function openDatabase({ databaseUrl }, run, cleanup) {
  const database = await createDatabase(databaseUrl, run.database);
  cleanup.push(async () => {
    await database.drop();
    log(`dropped database ${run.database}`);
  });
  return database;
}

/** Seeds the graph with the server's `seed` command, then ANALYZE. Returns the seed's summary line. */
export async function seedDatabase({ users, friends }, run, database) {
  const started = Date.now();
  const summary = await seed(database.url, run.secret, users, friends, 120_000 + users * 2);
  await analyze(database.url);
  log(`${summary}, analyzed (${fmt((Date.now() - started) / 1000, 1)} s)`);
  return summary;
}

/**
 * Starts `presence serve` on free ports with warnings-only logging and the run's timing, and stops it at the
 * end. `scrape` reads its /metrics. `index` names it among several (`--servers`); `workers` is its WORKERS.
 */
export async function startBenchServer(
  { redisUrl, workers = 1 },
  run,
  database,
  timing,
  cleanup,
  redis = {},
  index = 0,
) {
  const port = await freeTcpPort();
  const udpPort = await freeUdpPort();
  const inspectPort = await freeTcpPort();
  const server = await startServer(
    {
      DATABASE_URL: database.url,
      ...(redis.nodes ? { REDIS_CLUSTER_NODES: redis.nodes } : { REDIS_URL: redisUrl }),
      REDIS_KEY_PREFIX: run.prefix,
      AUTH_SECRET: run.secret,
      SERVICE_KEY: randomBytes(16).toString('hex'),
      HOST: '127.0.0.1',
      PORT: String(port),
      UDP_PORT: String(udpPort),
      LOG_LEVEL: 'warn',
      DEMO: '0',
      HEARTBEAT_MIN_INTERVAL_MS: String(timing.minIntervalMs),
      PRESENCE_TIMEOUT_MS: String(timing.presenceTimeoutMs),
      PRESENCE_TTL_S: String(timing.presenceTtlS),
      // Every benchmark socket comes from 127.0.0.1: the per-address connect limit would refuse most of them.
      MAX_CONNECTS_PER_ADDRESS_PER_S: '0',
      MAX_CONNECTS_PER_ADDRESS_BURST: '0',
      WORKERS: String(workers),
      // The bench forces full GCs (memory figures) and shares 2 cores with its load and other jobs: a reply
      // late by 2 s (the default) is a starved process, not an outage, and degraded mode would skew the run.
      REDIS_COMMAND_TIMEOUT_MS: '20000',
    },
    port,
    run.logPath,
    inspectPort,
  );
  cleanup.push(() => server.stop());
  log(
    `server ${index} pid ${server.pid}${workers > 1 ? ` (${workers} workers)` : ''} on http :${port}, ` +
      `udp :${udpPort} (log ${run.logPath})`,
  );
  // A scrape that hangs fails the run instead of holding it until the watchdog.
  const scrape = async () =>
    parseMetrics(
      await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(60_000) })).text(),
    );
  return { ...server, port, udpPort, inspectPort, scrape };
}

/**
 * Creates a throw-away database and returns its URL and a `drop` to call at the end.
 * @param {string} adminUrl a URL of the server's `postgres` database
 * @param {string} name
 */
export async function createDatabase(adminUrl, name) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const version = (await admin.query('show server_version')).rows[0].server_version;
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const drop = async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`drop database if exists ${name} with (force)`);
    await client.end();
  };
  return { name, url: url.toString(), version, drop };
}

/**
 * Runs the server's own `seed` command (migrations, then users 1..N with K ring friends, and conversations).
 * @returns {Promise<string>} its summary line
 */
export function seed(databaseUrl, secret, users, friends, timeoutMs) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, 'seed', '--users', String(users), '--friends', String(friends)],
      {
        env: { ...process.env, DATABASE_URL: databaseUrl, AUTH_SECRET: secret, LOG_LEVEL: 'warn' },
        timeout: timeoutMs,
      },
      (error, stdout, stderr) =>
        error ? reject(new Error(`seed failed: ${stderr || error.message}`)) : resolve(stdout.trim()),
    );
  });
}

/**
 * ANALYZE after the bulk seed, as autovacuum would a minute later: without statistics the planner takes the
 * subscriber query to a sequential scan of conversation_participants (and JIT-compiles it), 1.4 s per call at
 * 1,000,000 users.
 */
export async function analyze(databaseUrl) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('analyze');
  } finally {
    await client.end();
  }
}

/**
 * Starts `presence serve` with `env`, logging to `logPath`, with the inspector on `inspectPort`, and waits for
 * GET /healthz.
 * @returns {Promise<{pid: number, stop: () => Promise<void>, exited: () => boolean}>}
 */
export async function startServer(env, port, logPath, inspectPort, nodeArgs = [], timeoutMs = 30_000) {
  const fd = openSync(logPath, 'a');
  // The inspector (loopback only) lets the bench force a full GC before reading RSS; idle, it costs nothing.
  const child = spawn(process.execPath, [`--inspect=127.0.0.1:${inspectPort}`, ...nodeArgs, CLI, 'serve'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let exited = false;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      resolve(signal ?? code);
    });
  });
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exit;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`server exited during start; see ${logPath}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (response.ok) return { pid: child.pid, stop, exited: () => exited };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`server not healthy within ${timeoutMs} ms; see ${logPath}`);
}

/** Redis version and pid (for its CPU figures), from INFO. */
export async function redisInfo(redisUrl) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('server');
    return {
      version: /redis_version:(\S+)/.exec(info)?.[1] ?? null,
      pid: Number(/process_id:(\d+)/.exec(info)?.[1] ?? 0) || null,
    };
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key under `prefix` (SCAN + UNLINK), returns how many. */
export async function deleteKeys(redisUrl, prefix) {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5_000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/**
 * Pids of the PostgreSQL processes that work for `database`: its backends and the shared auxiliary processes
 * (WAL writer, checkpointer, …), not the backends of other databases on the same server.
 */
export async function postgresPids(adminUrl, database) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      `select pid from pg_stat_activity
        where (datname = $1 or backend_type <> 'client backend') and pid <> pg_backend_pid()`,
      [database],
    );
    return rows.map((r) => r.pid);
  } finally {
    await client.end();
  }
}
