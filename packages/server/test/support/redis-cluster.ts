import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, redisReady } from './processes.js';

const run = promisify(execFile);

/** Redis Cluster's bus listens on the client port plus this, so both must be free. */
const BUS_PORT_OFFSET = 10_000;
/** Highest client port whose bus port is still a port. */
const MAX_CLIENT_PORT = 65_535 - BUS_PORT_OFFSET;
const START_TIMEOUT_MS = 20_000;

export interface RedisClusterOptions {
  masters?: number;
  /** Replicas per master (the failover test wants one). */
  replicas?: number;
}

export interface RedisClusterNode {
  port: number;
  process: ChildProcess;
}

/** A Redis Cluster of this machine's `redis-server` binaries, in a temp dir, on free ports. */
export interface RedisCluster {
  /** `127.0.0.1:p1,127.0.0.1:p2,…`: what REDIS_CLUSTER_NODES takes. */
  readonly nodes: string;
  readonly members: readonly RedisClusterNode[];
  /** Stops this cluster's own processes and removes its directory. */
  stop(): Promise<void>;
}

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  server.listen(port, '127.0.0.1');
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([error]) => Promise.reject(error)),
    ]);
  } catch {
    return false;
  }
  server.close();
  await once(server, 'close');
  return true;
}

/** A client port the OS hands out, whose cluster bus port (+10000) is free too. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port > MAX_CLIENT_PORT || taken.has(port) || taken.has(port + BUS_PORT_OFFSET)) continue;
    if (!(await isFree(port + BUS_PORT_OFFSET))) continue;
    taken.add(port);
    taken.add(port + BUS_PORT_OFFSET);
    return port;
  }
}

async function startNode(dir: string, port: number): Promise<RedisClusterNode> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-node-timeout',
      '2000',
      // A replica syncs at once (the default waits 5 s for more replicas), so a failover test can start sooner.
      '--repl-diskless-sync-delay',
      '0',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await redisReady(child, START_TIMEOUT_MS);
  return { port, process: child };
}

/**
 * Waits until every node says `cluster_state:ok` and knows every slot, and every replica has synced with its
 * master (only a synced replica can take over). Redis announces neither, so this asks each node again,
 * briefly, until it does.
 */
async function waitForClusterOk(ports: readonly number[]): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (const port of ports) {
    const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      for (;;) {
        const info = await client.cluster('INFO');
        const replication = await client.info('replication');
        const synced = replication.includes('role:master') || replication.includes('master_link_status:up');
        if (info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384') && synced) break;
        if (Date.now() > deadline) throw new Error(`node ${port} never reached cluster_state:ok: ${info}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      client.disconnect();
    }
  }
}

async function stopNode(node: RedisClusterNode): Promise<void> {
  const child = node.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGCONT');
  child.kill('SIGKILL');
  await exited;
}

/**
 * Starts a Redis Cluster (3 masters by default, no replicas) from this machine's `redis-server` and
 * `redis-cli`, with no persistence, and waits until every node serves every slot.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 0;
  const dir = await mkdtemp(join(tmpdir(), 'presence-redis-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < masters * (1 + replicas); i++) ports.push(await freeClusterPort(taken));
  const members: RedisClusterNode[] = [];
  const stop = async () => {
    await Promise.all(members.map(stopNode));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    members.push(...(await Promise.all(ports.map((port) => startNode(dir, port)))));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    await waitForClusterOk(ports);
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes: ports.map((port) => `127.0.0.1:${port}`).join(','), members, stop };
}

/** Whether this machine has the binaries a test cluster needs. */
export async function hasRedisClusterBinaries(): Promise<boolean> {
  try {
    await run('redis-server', ['--version']);
    await run('redis-cli', ['--version']);
    return true;
  } catch {
    return false;
  }
}
