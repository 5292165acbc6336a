import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import Redis from 'ioredis';
import pg from 'pg';
import WebSocket from 'ws';
import { sleep } from './children.mjs';

export const CLI = new URL('../packages/server/dist/cli/main.js', import.meta.url).pathname;

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
  return { url: url.toString(), version, drop };
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
 * A DevTools-protocol session on the inspector of a process (loopback only): `call(method, params)`.
 * @param {number} inspectPort
 */
export async function inspector(inspectPort) {
  const [target] = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json();
  const socket = new WebSocket(target.webSocketDebuggerUrl, { maxPayload: 1024 ** 3 });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  let nextId = 1;
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`${method} timed out`)), 60_000);
      const onMessage = (data) => {
        const message = JSON.parse(data.toString());
        if (message.id !== id) return;
        clearTimeout(timer);
        socket.off('message', onMessage);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result);
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { call, close: () => socket.close() };
}

/** Forces two full garbage collections in the process, so RSS and heap readings are settled. */
export async function collectGarbage(inspectPort) {
  const session = await inspector(inspectPort);
  try {
    await session.call('HeapProfiler.collectGarbage');
    await session.call('HeapProfiler.collectGarbage');
  } finally {
    session.close();
  }
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
