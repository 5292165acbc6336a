/**
 * One phase of load on the server (the measured phase, or a step): the UDP counters, CPU per component, peak
 * RSS, a per-second timeline and the flip latency, around one drive of the generators.
 */
import { sleep } from './children.mjs';
import { cpuFigures, joinLatency, mib, round, serverFigures } from './figures.mjs';
import { fmt, log } from './report.mjs';
import { mergeMetrics, processTree } from './servers.mjs';
import { postgresPids } from './setup.mjs';
import {
  counterDelta,
  cpuSeconds,
  drain,
  kernelUdp,
  machineCpu,
  rssBytes,
  sumMetric,
  udpCounters,
} from './stats.mjs';

/** Deliveries still in flight after the server has drained its UDP queue. */
const DELIVERY_GRACE_MS = 1_000;

/**
 * A phase runner for this server: `(name, multiplier, seconds) => figures`, at `multiplier` × the target rate.
 */
export function serverPhases(options, run, server, workers, redis) {
  /** CPU seconds per component and per pid (PostgreSQL backends come and go between two snapshots). */
  const cpuSnapshot = async () => {
    const pids = {
      server: server.pids(),
      redis: redis.pids ?? (redis.pid ? [redis.pid] : []),
      postgres: await postgresPids(options.databaseUrl, run.database),
      ...workers.pids(),
    };
    const out = { machine: machineCpu(), at: Date.now(), perServer: server.list.map((s) => treeCpu(s.pid)) };
    for (const [name, list] of Object.entries(pids)) {
      out[name] = new Map(list.map((pid) => [pid, cpuSeconds(pid) ?? 0]));
    }
    return out;
  };
  const processed = async () => Object.values(udpCounters(await server.scrape())).reduce((s, v) => s + v, 0);

  return async (name, multiplier, seconds) => {
    const phaseRate = options.rate * multiplier;
    await workers.reset();
    const each0 = await server.scrapeEach();
    const metrics0 = mergeMetrics(each0);
    const kernel0 = kernelUdp();
    const cpu0 = await cpuSnapshot();
    const timeline = startTimeline(server, metrics0, options.sampleS * 1000);
    const sent = await workers.drive(server.udpPorts, phaseRate, seconds * 1000, true);
    const cpu1 = await cpuSnapshot();
    await drain(processed);
    await sleep(DELIVERY_GRACE_MS);
    const { rows, rssMax } = timeline.stop();
    const each1 = await server.scrapeEach();
    const metrics1 = mergeMetrics(each1);
    const kernel1 = kernelUdp();
    const collected = await workers.collect();
    const counters = counterDelta(udpCounters(metrics0), udpCounters(metrics1));
    const accepted = counters['accepted/none'] ?? 0;
    const rateLimited = counters['dropped/rate_limited'] ?? 0;
    const dropped = Object.entries(counters)
      .filter(([k]) => k.startsWith('dropped/'))
      .reduce((s, [, v]) => s + v, 0);
    const wallS = sent.elapsedMs / 1000;
    const result = {
      name,
      multiplier,
      targetRate: phaseRate,
      seconds: round(wallS, 2),
      offered: sent.sent,
      offeredPerS: Math.round(sent.sent / wallS),
      accepted,
      acceptedPerS: Math.round(accepted / wallS),
      rateLimited,
      droppedByReason: Object.fromEntries(Object.entries(counters).filter(([k]) => k.startsWith('dropped/'))),
      neverCounted: sent.sent - accepted - dropped,
      loss: sent.sent - accepted - rateLimited,
      lossPct: sent.sent > 0 ? round((100 * (sent.sent - accepted - rateLimited)) / sent.sent, 3) : 0,
      kernelRcvbufErrors: kernel1.RcvbufErrors - kernel0.RcvbufErrors,
      cpu: cpuFigures(cpu0, cpu1),
      serverRssMaxMiB: mib(rssMax),
      serverMetrics: serverFigures(metrics1),
      perServer: perServerFigures(server, each0, each1, cpu0, cpu1, wallS),
      delivery: deliveryFigures(metrics0, metrics1, cpu0, cpu1, wallS),
      latency: joinLatency(sent.flips, collected),
      timeline: rows,
    };
    log(
      `${name}: offered ${fmt(result.offeredPerS)}/s, accepted ${fmt(result.acceptedPerS)}/s, loss ${fmt(result.loss)} ` +
        `(${result.lossPct}%), server CPU ${result.cpu.server}, latency p99 ${result.latency.p99} ms`,
    );
    return result;
  };
}

/**
 * Samples the server every `everyMs` (--sample-s) until `stop`: its peak RSS, and per sample a row of accepted,
 * kernel receive-buffer drops, server CPU cores, the event-loop lag max (ms, since the previous scrape), the
 * mean heartbeat batch time (ms, UDP socket to transitions published) and how long the scrape took (ms). A
 * stall shows in the sample it happened in. A scrape is not free: with 10,000 sockets the process metrics
 * list every handle and open file, which shows in the profile and in the lag.
 */
function startTimeline(server, metrics0, everyMs) {
  const rss = () => server.pids().reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0);
  const cpu = () => server.pids().reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0);
  let rssMax = rss();
  const rows = [];
  const sample = (metrics) => ({
    accepted: udpCounters(metrics)['accepted/none'] ?? 0,
    batchSum: metrics.get('presence_heartbeat_batch_seconds_sum') ?? 0,
    batchCount: metrics.get('presence_heartbeat_batch_seconds_count') ?? 0,
    rcvbuf: kernelUdp().RcvbufErrors,
    cpu: cpu(),
  });
  let last = sample(metrics0);
  const sampler = setInterval(async () => {
    rssMax = Math.max(rssMax, rss());
    try {
      const scrapeStarted = performance.now();
      const metrics = await server.scrape();
      const scrapeMs = round(performance.now() - scrapeStarted, 1);
      const now = sample(metrics);
      const batches = now.batchCount - last.batchCount;
      rows.push([
        now.accepted - last.accepted,
        now.rcvbuf - last.rcvbuf,
        round(now.cpu - last.cpu, 2),
        round((metrics.get('presence_process_nodejs_eventloop_lag_max_seconds') ?? 0) * 1000, 1),
        batches > 0 ? round(((now.batchSum - last.batchSum) / batches) * 1000, 1) : 0,
        scrapeMs,
      ]);
      last = now;
    } catch {
      // a missed sample
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(sampler);
      return { rows, rssMax };
    },
  };
}

/** CPU seconds of a server process and its workers. */
function treeCpu(pid) {
  return processTree(pid).reduce((sum, p) => sum + (cpuSeconds(p) ?? 0), 0);
}

/**
 * Per server process over the phase: heartbeats accepted, cores, what it read from the bus (messages and
 * bytes per second) and the status frames it wrote to its WebSockets.
 */
function perServerFigures(server, each0, each1, cpu0, cpu1, wallS) {
  const delta = (i, name) => sumMetric(each1[i], name) - sumMetric(each0[i], name);
  return server.list.map((s, i) => ({
    pid: s.pid,
    udpPort: s.udpPort,
    acceptedPerS: Math.round(
      (udpCounters(each1[i])['accepted/none'] - (udpCounters(each0[i])['accepted/none'] ?? 0)) / wallS,
    ),
    cores: round((cpu1.perServer[i] - cpu0.perServer[i]) / ((cpu1.at - cpu0.at) / 1000), 2),
    busMessagesPerS: Math.round(delta(i, 'presence_bus_received_total') / wallS),
    busBytesPerS: Math.round(delta(i, 'presence_bus_received_bytes_total') / wallS),
    transitionsPerS: Math.round(delta(i, 'presence_transitions_total') / wallS),
    statusFramesPerS: Math.round(
      ((each1[i].get('presence_broadcasts_total{type="status"}') ?? 0) -
        (each0[i].get('presence_broadcasts_total{type="status"}') ?? 0)) /
        wallS,
    ),
  }));
}

/**
 * Status frames the servers wrote to their WebSockets over the phase, and the CPU of the server, Redis and
 * this database's PostgreSQL per frame (µs): everything a delivery costs, heartbeats of the phase included.
 */
function deliveryFigures(metrics0, metrics1, cpu0, cpu1, wallS) {
  const key = 'presence_broadcasts_total{type="status"}';
  const frames = (metrics1.get(key) ?? 0) - (metrics0.get(key) ?? 0);
  const used = (name) => {
    let seconds = 0;
    for (const [pid, v] of cpu1[name]) seconds += v - (cpu0[name].get(pid) ?? 0);
    return seconds;
  };
  const us = (seconds) => (frames > 0 ? round((seconds * 1e6) / frames, 1) : null);
  const [server, redis, postgres] = [used('server'), used('redis'), used('postgres')];
  return {
    frames,
    framesPerS: Math.round(frames / wallS),
    cpuPerDeliveryUs: us(server + redis + postgres),
    serverUs: us(server),
    redisUs: us(redis),
    postgresUs: us(postgres),
  };
}
