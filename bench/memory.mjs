/** Server memory per idle WebSocket: settled RSS and V8 heap before and after the listeners connect. */

import Redis from 'ioredis';
import { sleep } from './children.mjs';
import { mib, round } from './figures.mjs';
import { collectGarbage } from './inspector.mjs';
import { fmt, log } from './report.mjs';
import { rssBytes } from './stats.mjs';

/**
 * RSS and V8 heap after two forced full GCs (summed over the server processes; with WORKERS above 1 only the
 * primary is collected). RSS is the lowest of four readings over 2 s: the pages a GC frees
 * go back to the kernel late, if at all.
 */
async function settledMemory(server) {
  for (const port of server.inspectPorts) await collectGarbage(port);
  const samples = [];
  for (let i = 0; i < 4; i++) {
    await sleep(500);
    samples.push(server.pids().reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0));
  }
  const heap = (await server.scrape()).get('presence_process_nodejs_heap_size_used_bytes') ?? null;
  return { rss: Math.min(...samples), heap };
}

/** Connects every listener and divides the growth by the connections: (after − before) / M. */
export async function measureMemoryPerSocket(server, workers) {
  await sleep(1_500);
  const before = await settledMemory(server);
  const started = Date.now();
  const connected = await workers.connect();
  const connectMs = Date.now() - started;
  const connectedOk = connected.reduce((s, c) => s + c.ok, 0);
  const connectFailed = connected.reduce((s, c) => s + c.failed, 0);
  log(
    `connected ${fmt(connectedOk)} WebSockets in ${fmt(connectMs / 1000, 1)} s` +
      (connectFailed > 0
        ? `, ${fmt(connectFailed)} failed (${connected.find((c) => c.firstError)?.firstError})`
        : ''),
  );
  await sleep(3_000);
  const after = await settledMemory(server);
  const perConnectionKiB = (a, b) =>
    connectedOk > 0 && a !== null && b !== null ? round((b - a) / connectedOk / 1024, 2) : null;
  const memory = {
    rssBeforeMiB: mib(before.rss),
    rssAfterMiB: mib(after.rss),
    perConnectionKiB: perConnectionKiB(before.rss, after.rss),
    heapBeforeMiB: mib(before.heap),
    heapAfterMiB: mib(after.heap),
    heapPerConnectionKiB: perConnectionKiB(before.heap, after.heap),
    connections: connectedOk,
    connectFailed,
    connectSeconds: round(connectMs / 1000, 1),
    serverGauge: (await server.scrape()).get('presence_ws_connections') ?? null,
  };
  log(
    `server RSS ${memory.rssBeforeMiB} → ${memory.rssAfterMiB} MiB: ${memory.perConnectionKiB} KiB per idle WebSocket ` +
      `(V8 heap ${memory.heapPerConnectionKiB} KiB)`,
  );
  return memory;
}

/**
 * Redis's used_memory in bytes: the single Redis, or the sum over the cluster's nodes. On a Redis shared with
 * other jobs the difference of two readings also holds what they wrote meanwhile.
 */
export async function redisUsedMemory({ redisUrl }, redis) {
  const urls = redis.nodes ? redis.nodes.split(',').map((node) => `redis://${node}`) : [redisUrl];
  let total = 0;
  for (const url of urls) {
    const client = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      total += Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1] ?? 0);
    } finally {
      client.disconnect();
    }
  }
  return total;
}

/**
 * After the warm-up: the server's settled RSS with every user online (and the sockets already open), and
 * Redis's growth since `redisBefore` (read before the warm-up) per online user.
 */
export async function measureOnline(server, options, redis, redisBefore) {
  const settled = await settledMemory(server);
  const users = (await server.scrape()).get('presence_online_users') ?? 0;
  const delta = (await redisUsedMemory(options, redis)) - redisBefore;
  const online = {
    users,
    rssMiB: mib(settled.rss),
    heapMiB: mib(settled.heap),
    redisDeltaMiB: mib(delta),
    redisBytesPerUser: users > 0 ? Math.round(delta / users) : null,
  };
  log(
    `after the warm-up: ${fmt(users)} online, server RSS ${online.rssMiB} MiB settled, Redis +${online.redisDeltaMiB} MiB ` +
      `(${fmt(online.redisBytesPerUser)} bytes per online user)`,
  );
  return online;
}
