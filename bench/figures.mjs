/** The figures of a phase: CPU shares, server gauges, and the latency join of flips and arrivals. */
import os from 'node:os';
import { latencyHistogram, percentilesMs } from './stats.mjs';

export function round(n, digits) {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function mib(bytes) {
  return bytes === null ? null : round(bytes / 1024 ** 2, 1);
}

/** Cores used per component over a phase (CPU seconds / wall seconds), and the machine's busy fraction. */
export function cpuFigures(a, b) {
  const wallS = (b.at - a.at) / 1000;
  const out = {};
  for (const name of ['server', 'redis', 'postgres', 'generators', 'listeners']) {
    let seconds = 0;
    for (const [pid, used] of b[name]) seconds += used - (a[name].get(pid) ?? 0);
    out[name] = round(seconds / wallS, 2);
  }
  out.machineBusy = round((b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total), 2);
  // Cores busy with anything but this benchmark's processes (another job sharing the machine skews the figures).
  const ours = out.server + out.redis + out.postgres + out.generators + out.listeners;
  out.other = round(Math.max(0, out.machineBusy * os.cpus().length - ours), 2);
  return out;
}

/** A few of the server's own gauges at the end of a phase. */
export function serverFigures(metrics) {
  const pick = (name) => metrics.get(name) ?? null;
  return {
    onlineUsers: pick('presence_online_users'),
    degraded: pick('presence_degraded'),
    wsConnections: pick('presence_ws_connections'),
    rssMiB: mib(pick('presence_process_process_resident_memory_bytes')),
    eventLoopLagP99Ms:
      pick('presence_process_nodejs_eventloop_lag_p99_seconds') === null
        ? null
        : round(pick('presence_process_nodejs_eventloop_lag_p99_seconds') * 1000, 1),
    heapUsedMiB: mib(pick('presence_process_nodejs_heap_size_used_bytes')),
  };
}

/**
 * Joins flip sends (user, status, time) with listener arrivals of the matching `presence.status`: each arrival
 * belongs to the latest send of that user and status no later than it. Latencies go into an hdr histogram (µs).
 */
export function joinLatency(flips, collected) {
  /** @type {Map<number, number[]>} key user*2+away → send times, ascending */
  const sends = new Map();
  for (const [userId, away, at] of flips.sort((x, y) => x[2] - y[2])) {
    const key = userId * 2 + away;
    const list = sends.get(key);
    if (list === undefined) sends.set(key, [at]);
    else list.push(at);
  }
  const histogram = latencyHistogram();
  const ingest = latencyHistogram();
  const fanout = latencyHistogram();
  const deliveredSends = new Set();
  const origin = flips[0]?.[2] ?? 0;
  /** Worst latency (ms) of the flips sent in each second of the phase. */
  const worstBySecond = [];
  let unmatched = 0;
  let messages = 0;
  for (const c of collected) {
    messages += c.messages;
    for (const [userId, away, arrived, lastSeen] of c.events) {
      const list = sends.get(userId * 2 + away);
      // Latest send at or before the arrival (1 ms of slack for the per-process clock origins).
      let lo = 0;
      let hi = (list?.length ?? 0) - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (list[mid] <= arrived + 1) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (found < 0) {
        unmatched += 1;
        continue;
      }
      deliveredSends.add(`${userId * 2 + away}:${found}`);
      histogram.recordValue(Math.max(1, Math.round((arrived - list[found]) * 1000)));
      const second = Math.floor((list[found] - origin) / 1000);
      worstBySecond[second] = Math.max(worstBySecond[second] ?? 0, Math.round(arrived - list[found]));
      // last_seen has whole milliseconds: the split is good to a millisecond.
      ingest.recordValue(Math.max(1, Math.round((lastSeen - list[found]) * 1000)));
      fanout.recordValue(Math.max(1, Math.round((arrived - lastSeen) * 1000)));
    }
  }
  const figures = {
    flipsSent: flips.length,
    flipsDelivered: deliveredSends.size,
    // A user's first flip of a phase is left out: when the previous phase lost that user's last flip packet,
    // the server already has the status this one claims, so it is rightly no transition.
    flipsNeverDelivered: neverDelivered(sends, deliveredSends, Number.POSITIVE_INFINITY).length,
    neverDeliveredSample: neverDelivered(sends, deliveredSends, 20, flips[0]?.[2] ?? 0),
    deliveries: histogram.totalCount,
    unmatchedArrivals: unmatched,
    wsMessages: messages,
    ...percentilesMs(histogram),
    worstBySecondMs: Array.from(worstBySecond, (v) => v ?? 0),
    sendToServerMs: percentilesMs(ingest),
    serverToClientMs: percentilesMs(fanout),
  };
  return figures;
}

/**
 * Flips nobody heard, up to `limit`, leaving out each user's first flip of the phase:
 * [user, away, ms after the phase's first flip].
 */
function neverDelivered(sends, deliveredSends, limit, origin = 0) {
  const out = [];
  for (const [key, list] of sends) {
    for (let i = 0; i < list.length && out.length < limit; i++) {
      if (i === 0 && isFirstFlip(sends, key)) continue;
      if (!deliveredSends.has(`${key}:${i}`))
        out.push([Math.floor(key / 2), key % 2, Math.round(list[i] - origin)]);
    }
  }
  return out;
}

/** Whether the first send of `key` (user*2+away) is that user's first flip of the phase. */
function isFirstFlip(sends, key) {
  const other = sends.get(key ^ 1);
  return other === undefined || (sends.get(key)?.[0] ?? 0) < other[0];
}
