#!/usr/bin/env node
/**
 * `npm run bench:bus`: what one server process receives from the bus as processes are added, for a fixed load
 * per process. It prints figures; it asserts nothing.
 *
 * It starts a local 3-master Redis Cluster (this machine's redis-server, free ports, a temp dir, stopped at the
 * end) and, for P = 1, 2, 4, 8 simulated processes, gives each process its own bus (its own publisher and
 * subscriber connections, as a server process has) holding USERS connected users. Each process then announces
 * TRANSITIONS transitions, each to WATCHERS users picked at random among all connected users (the load per
 * process is fixed; the total grows with P). It counts the messages each process's subscriber connections
 * receive, for four buses: the server's (sharded, one channel per changed user, read where that user is watched:
 * see measureKeyed), the sharded bus with one message per recipient (SSUBSCRIBE per connected user, the model
 * before the watch index), the classic bus on the cluster (one PUBLISH channel every process reads), and the
 * classic bus on the machine's single Redis.
 *
 * Run from the repository root: node --import tsx bench/cluster-bus.mjs [--users N] [--transitions N] [--watchers N]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { clusterChannels } from '../packages/server/src/backends/redis.ts';
import { RedisBus } from '../packages/server/src/bus/redis-bus.ts';
import { ShardedRedisBus } from '../packages/server/src/bus/sharded-redis-bus.ts';
import { REDIS_CLUSTER_SHARDS } from '../packages/server/src/config.ts';
import { userGroup, watchGroup } from '../packages/server/src/core/ports.ts';
import { RedisStore } from '../packages/server/src/store/redis-store.ts';
import { startRedisCluster } from '../packages/server/test/support/redis-cluster.ts';
import { describeMachine } from './machine.mjs';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '1000' },
    transitions: { type: 'string', default: '500' },
    watchers: { type: 'string', default: '20' },
    processes: { type: 'string', default: '1,2,4,8' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const USERS = Number(values.users);
const TRANSITIONS = Number(values.transitions);
const WATCHERS = Number(values.watchers);
const STEPS = values.processes.split(',').map(Number);
const PAYLOAD = JSON.stringify({
  type: 'presence.status',
  user_id: 123456,
  status: 'online',
  last_seen: new Date().toISOString(),
  v: Date.now(),
  clients: { web: 'online' },
});

/** One simulated process: its bus, what its subscriber connections received, what reached its users. */
async function openProcess(kind, target, prefix) {
  const counted = { delivered: 0 };
  const proc = { counted, onReceived: () => {} };
  if (kind.startsWith('sharded')) {
    const publisher = new Cluster(target);
    const subscriber = new Cluster(target, { shardedSubscribers: true });
    subscriber.on('smessage', () => proc.onReceived());
    const bus = await ShardedRedisBus.create(publisher, subscriber, clusterChannels(prefix));
    return Object.assign(proc, { bus, close: () => Promise.all([bus.close(), publisher.disconnect()]) });
  }
  const publisher = kind === 'classic-cluster' ? new Cluster(target) : new Redis(target);
  const subscriber = publisher.duplicate();
  subscriber.on('message', () => proc.onReceived());
  const bus = await RedisBus.create(publisher, subscriber, prefix);
  return Object.assign(proc, { bus, close: () => Promise.all([bus.close(), publisher.disconnect()]) });
}

/**
 * The server's model since the watch index: a transition is one SPUBLISH on the changed user's channel, and a
 * process subscribes to the channels of the users its clients watch. Each user is watched by WATCHERS random
 * users of all processes; each process announces TRANSITIONS changes of random users of its own. A process
 * receives a change once however many of its clients watch that user, and nothing of users none of them watch.
 */
async function measureKeyed(target, processes) {
  const prefix = `bench:${randomBytes(4).toString('hex')}:`;
  const procs = await Promise.all(
    Array.from({ length: processes }, () => openProcess('sharded-keyed', target, prefix)),
  );
  const total = processes * USERS;
  const processOf = (user) => Math.floor((user - 1) / USERS);
  /** user -> the processes holding a watcher of that user */
  const watchedBy = new Map();
  for (let user = 1; user <= total; user++) {
    const holders = new Set();
    for (let w = 0; w < WATCHERS; w++) holders.add(Math.floor(Math.random() * processes));
    watchedBy.set(user, holders);
  }
  let delivered = 0;
  let received = 0;
  procs.forEach((proc, p) => {
    proc.onReceived = () => received++;
    for (const [user, holders] of watchedBy)
      if (holders.has(p)) proc.bus.subscribe(watchGroup(user), () => delivered++);
    for (let u = 1; u <= USERS; u++) proc.bus.subscribe(userGroup(p * USERS + u), () => {});
  });
  await Promise.all(
    procs.flatMap((proc, p) =>
      [...watchedBy]
        .filter(([, holders]) => holders.has(p))
        .map(([user]) => proc.bus.ready?.(watchGroup(user))),
    ),
  );
  let expectedDelivered = 0;
  let expectedReceived = 0;
  const started = performance.now();
  for (let t = 0; t < TRANSITIONS; t++) {
    for (const [p, proc] of procs.entries()) {
      const user = p * USERS + 1 + Math.floor(Math.random() * USERS);
      const holders = watchedBy.get(user);
      expectedDelivered += holders.size;
      // Read by every process subscribed to the user's channel: its watchers' and its own (the publisher).
      expectedReceived += new Set([...holders, processOf(user)]).size;
      proc.bus.publish([userGroup(user), watchGroup(user)], PAYLOAD);
    }
    if (t % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  const deadline = Date.now() + 20_000;
  while ((delivered < expectedDelivered || received < expectedReceived) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(procs.map((proc) => proc.close()));
  return {
    receivedPerProcess: Math.round(received / processes),
    complete: delivered === expectedDelivered && received === expectedReceived,
    seconds: Math.round(seconds * 100) / 100,
  };
}

async function measure(kind, target, processes) {
  if (kind === 'sharded-keyed') return measureKeyed(target, processes);
  const prefix = `bench:${randomBytes(4).toString('hex')}:`;
  const procs = await Promise.all(Array.from({ length: processes }, () => openProcess(kind, target, prefix)));
  let delivered = 0;
  const expected = processes * TRANSITIONS * WATCHERS;
  // Every user is held by one process. The sharded bus sends one message per watcher, read by the process
  // holding it; the classic bus one message per transition, read by every process (its origin too).
  const expectedReceived = kind === 'sharded' ? expected : processes * TRANSITIONS * processes;
  let received = 0;
  let done;
  const all = new Promise((resolve) => {
    done = resolve;
  });
  const check = () => {
    if (delivered === expected && received === expectedReceived) done();
  };
  // Process p holds users p*USERS+1 .. (p+1)*USERS.
  procs.forEach((proc, p) => {
    proc.onReceived = () => {
      received++;
      check();
    };
    for (let u = 1; u <= USERS; u++)
      proc.bus.subscribe(userGroup(p * USERS + u), () => {
        proc.counted.delivered++;
        delivered++;
        check();
      });
  });
  // Every process listens to each of its users before anything is published.
  await Promise.all(
    procs.flatMap((proc, p) =>
      Array.from({ length: USERS }, (_, u) => proc.bus.ready?.(userGroup(p * USERS + u + 1))),
    ),
  );
  const started = performance.now();
  for (let t = 0; t < TRANSITIONS; t++) {
    for (const proc of procs) {
      const groups = new Set();
      while (groups.size < WATCHERS) groups.add(userGroup(1 + Math.floor(Math.random() * processes * USERS)));
      proc.bus.publish([...groups], PAYLOAD);
    }
    if (t % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  const timeout = setTimeout(() => done(), 20_000);
  await all;
  clearTimeout(timeout);
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(procs.map((proc) => proc.close()));
  return {
    receivedPerProcess: Math.round(received / processes),
    complete: delivered === expected && received === expectedReceived,
    seconds: Math.round(seconds * 100) / 100,
  };
}

/** Hot state per online user: bytes of Redis memory for MEMORY_USERS users with one heartbeating device. */
const MEMORY_USERS = 20_000;
async function memoryPerUser(client, usedMemory, clusterShards) {
  const prefix = `bench:${randomBytes(4).toString('hex')}:`;
  const rules = { presenceTimeoutMs: 60_000, disconnectGraceMs: 5_000, heartbeatMinIntervalMs: 10_000 };
  const store = new RedisStore(client, {
    rules,
    processId: 'bench',
    ttlSeconds: 300,
    processTtlMs: 60_000,
    prefix,
    clusterShards,
  });
  await store.register();
  const before = await usedMemory();
  const at = Date.now();
  for (let u = 1; u <= MEMORY_USERS; u += 1_000)
    await store.heartbeat(
      Array.from({ length: 1_000 }, (_, i) => ({ userId: u + i, status: 'online', at, device: 'phone-1' })),
    );
  const bytes = Math.round(((await usedMemory()) - before) / MEMORY_USERS);
  // Store throughput: every user flips status (the full script path), batches of 1,000 one after the other
  // from this one process, so it is a round-trip-bound floor, not what several server processes reach.
  const rounds = 4;
  const started = performance.now();
  for (let r = 1; r <= rounds; r++)
    for (let u = 1; u <= MEMORY_USERS; u += 1_000)
      await store.heartbeat(
        Array.from({ length: 1_000 }, (_, i) => ({
          userId: u + i,
          status: r % 2 === 1 ? 'away' : 'online',
          at: at + r,
          device: 'phone-1',
        })),
      );
  const perSecond = Math.round((rounds * MEMORY_USERS) / ((performance.now() - started) / 1000));
  return { bytes, perSecond, prefix };
}

const cluster = await startRedisCluster();
const seeds = cluster.nodes
  .split(',')
  .map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) }));
const probe = new Redis(values['redis-url']);
const redisVersion = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? null;
probe.disconnect();
console.log(JSON.stringify({ machine: describeMachine({ redisVersion }) }));
console.log(
  `load per process: ${USERS} connected users, ${TRANSITIONS} transitions, each to ${WATCHERS} random users of all processes`,
);
console.log('bus              processes  received/process  complete  seconds');
try {
  for (const processes of STEPS) {
    for (const [kind, target] of [
      ['sharded-keyed', seeds],
      ['sharded', seeds],
      ['classic-cluster', seeds],
      ['classic-single', values['redis-url']],
    ]) {
      const r = await measure(kind, target, processes);
      console.log(
        `${kind.padEnd(16)} ${String(processes).padStart(9)}  ${String(r.receivedPerProcess).padStart(16)}  ${String(r.complete).padStart(8)}  ${String(r.seconds).padStart(7)}`,
      );
    }
  }
  const single = new Redis(values['redis-url']);
  const used = async (node) => Number(/used_memory:(\d+)/.exec(await node.info('memory'))?.[1]);
  const one = await memoryPerUser(single, () => used(single));
  for (const key of await single.keys(`${one.prefix}*`)) await single.del(key);
  single.disconnect();
  const onCluster = new Cluster(seeds);
  const clusterUsed = async () =>
    (await Promise.all(onCluster.nodes('master').map(used))).reduce((a, b) => a + b, 0);
  const sharded = await memoryPerUser(onCluster, clusterUsed, REDIS_CLUSTER_SHARDS);
  onCluster.disconnect();
  console.log(
    `hot state per online user (one device, ${MEMORY_USERS} users): ${one.bytes} bytes on one Redis, ${sharded.bytes} bytes on the cluster layout`,
  );
  console.log(
    `store heartbeats/s (status flips, batches of 1,000, one client): ${one.perSecond} on one Redis, ${sharded.perSecond} on the cluster layout`,
  );
} finally {
  await cluster.stop();
}
