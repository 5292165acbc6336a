/**
 * `--servers N`: N server processes on the same Redis (or cluster) and database, each on its own HTTP and UDP
 * port, seen by the rest of the bench as one server: pids, ports, a merged scrape and one stop. Each process's
 * own scrape is kept for the per-process figures (what it accepted and what it read from the bus).
 */
import { readFileSync } from 'node:fs';
import { startBenchServer } from './setup.mjs';

/** Gauges that are one figure for the whole deployment or a worst case: merged by max, not summed. */
const MAX_MERGED = /^presence_(online_users|degraded|ready|dependency_up|workers)|_lag_/;

/**
 * Starts `count` servers one after the other (each migrates the shared database at start; in turn, they never
 * race). `workers` is WORKERS for each.
 */
export async function startBenchServers(options, run, database, timing, cleanup, redis) {
  const list = [];
  for (let i = 0; i < options.servers; i++)
    list.push(await startBenchServer(options, run, database, timing, cleanup, redis, i));
  const scrapeEach = () => Promise.all(list.map((s) => s.scrape()));
  return {
    list,
    count: list.length,
    /** Every pid serving: each server and, with WORKERS above 1, its workers. */
    pids: () => list.flatMap((s) => processTree(s.pid)),
    /** The first server's HTTP port (the inspector and the profile are the first server's too). */
    port: list[0].port,
    ports: list.map((s) => s.port),
    udpPorts: list.map((s) => s.udpPort),
    inspectPorts: list.map((s) => s.inspectPort),
    inspectPort: list[0].inspectPort,
    scrapeEach,
    scrape: async () => mergeMetrics(await scrapeEach()),
    stop: () => Promise.all(list.map((s) => s.stop())),
  };
}

/** Metric maps of several processes as one: counters and most gauges summed, MAX_MERGED ones by max. */
export function mergeMetrics(maps) {
  const out = new Map();
  for (const map of maps)
    for (const [key, value] of map) {
      const have = out.get(key);
      if (have === undefined) out.set(key, value);
      else out.set(key, MAX_MERGED.test(key) ? Math.max(have, value) : have + value);
    }
  return out;
}

/** A pid and its descendants (a WORKERS primary and its workers), those still alive. */
export function processTree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const children = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (children !== '') out.push(...children.split(/\s+/).map(Number));
    } catch {
      // gone, or no children file
    }
  }
  return out;
}
