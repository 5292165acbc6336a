#!/usr/bin/env node
/**
 * `npm run bench`: the load benchmark of issue 4, item 9. It prints figures; it asserts nothing.
 *
 * One server process on Redis and a throw-away PostgreSQL database, N users heartbeating over UDP from
 * generator workers, M WebSocket listeners (friends of the heartbeating users) in listener workers; then the
 * bare ceiling (bench/ceiling.mjs) driven by the same generator. Everything runs on 127.0.0.1, is bounded in
 * count and time, and is cleaned up (processes, database, Redis keys) on success, error or Ctrl-C.
 *
 * Run `node bench/run.mjs --help` for the options.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { measureCeiling } from './ceiling-phases.mjs';
import { freeTcpPort, freeUdpPort, sleep, Worker } from './children.mjs';
import { cpuFigures, joinLatency, mib, round, serverFigures } from './figures.mjs';
import { describeMachine } from './machine.mjs';
import { byAppFrame, bySelf } from './profile.mjs';
import { fmt, printReport } from './report.mjs';
import {
  analyze,
  collectGarbage,
  createDatabase,
  deleteKeys,
  inspector,
  postgresPids,
  redisInfo,
  seed,
  startServer,
} from './setup.mjs';
import {
  counterDelta,
  cpuSeconds,
  kernelUdp,
  machineCpu,
  parseMetrics,
  rssBytes,
  sumMetric,
  udpCounters,
} from './stats.mjs';
import { selfCheck } from './tokens.mjs';

const USAGE = `usage: npm run bench -- [options]

  --users N            heartbeating users, ids 1..N (default 10000; 1000000 works)
  --rate R             target heartbeats/s over all users (default 10000 unless --interval-ms is given)
  --interval-ms T      each user's heartbeat interval instead of --rate (rate = N * 1000 / T)
  --duration-s S       measured phase at the target rate (default 20)
  --listeners M        WebSocket clients, friends of heartbeating users (default 1000; 10000 works)
  --friends K          ring friends per user in the seeded graph (default 10)
  --flip-rate F        status flips (online <-> away) per second for the latency figure (default 200)
  --steps LIST         extra rate multipliers run after the measured phase, on the server and the ceiling,
                       to find where loss starts (default 2,4; --steps '' for none)
  --step-s S           length of each step (default 8)
  --generators G       UDP generator processes (default 1)
  --per-process P      WebSocket connections per listener process (default 5000; open files max 20000)
  --skip-ceiling       do not measure the bare ceiling
  --profile            CPU-profile the server during the measured phase (through its inspector) and print
                       where the time goes; the .cpuprofile is kept in bench/results/
  --database-url URL   admin URL of PostgreSQL (default postgres://postgres@127.0.0.1:5432/postgres)
  --redis-url URL      Redis (default redis://127.0.0.1:6379)`;

const { values: argv } = parseArgs({
  options: {
    users: { type: 'string', default: '10000' },
    rate: { type: 'string' },
    'interval-ms': { type: 'string' },
    'duration-s': { type: 'string', default: '20' },
    listeners: { type: 'string', default: '1000' },
    friends: { type: 'string', default: '10' },
    'flip-rate': { type: 'string', default: '200' },
    steps: { type: 'string', default: '2,4' },
    'step-s': { type: 'string', default: '8' },
    generators: { type: 'string', default: '1' },
    'per-process': { type: 'string', default: '5000' },
    'skip-ceiling': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    help: { type: 'boolean', default: false },
  },
});
if (argv.help) {
  console.log(USAGE);
  process.exit(0);
}

/** A positive number option, or exit with the usage. */
function num(name, { integer = true, max = Number.MAX_SAFE_INTEGER } = {}) {
  const value = Number(argv[name]);
  if (!Number.isFinite(value) || value <= 0 || value > max || (integer && !Number.isInteger(value))) {
    console.error(
      `bench: --${name} expects a positive ${integer ? 'whole ' : ''}number up to ${max}\n\n${USAGE}`,
    );
    process.exit(64);
  }
  return value;
}

const users = num('users', { max: 10_000_000 });
const rate =
  argv.rate !== undefined
    ? num('rate', { max: 1_000_000 })
    : argv['interval-ms'] !== undefined
      ? (users * 1000) / num('interval-ms')
      : 10_000;
const intervalMs = (users * 1000) / rate;
const durationS = num('duration-s', { integer: false, max: 3_600 });
const listenerCount = num('listeners', { max: 200_000 });
const friends = num('friends', { max: 1_000 });
const flipRate = num('flip-rate', { integer: false, max: 100_000 });
const stepS = num('step-s', { integer: false, max: 600 });
const generatorCount = num('generators', { max: 16 });
const perProcess = num('per-process', { max: 18_000 });
const steps = argv.steps
  .split(',')
  .filter((s) => s.trim() !== '')
  .map(Number);
if (steps.some((s) => !Number.isFinite(s) || s <= 0 || s > 100)) {
  console.error(`bench: --steps expects multipliers like 2,4\n\n${USAGE}`);
  process.exit(64);
}
const maxMultiplier = Math.max(1, ...steps);

/** Heartbeats/s of the warm-ups (server and ceiling), where every user is seen for the first time. */
const WARMUP_RATE = 10_000;
const runId = randomBytes(4).toString('hex');
const secret = randomBytes(24).toString('hex');
const redisUrl = argv['redis-url'];
const prefix = `bench:${runId}:`;
const tokenTtlS = 24 * 3600;
/** Server timing: users must never time out during the run, and no heartbeat of the schedule is rate limited. */
const minIntervalMs = Math.max(0, Math.min(10_000, Math.floor(intervalMs / (2 * maxMultiplier))));
const presenceTimeoutMs = Math.max(60_000, Math.ceil(3 * intervalMs) + 10_000);
const presenceTtlS = Math.ceil(presenceTimeoutMs / 1000) + 60;
const logPath = `${os.tmpdir()}/presence-bench-${runId}.log`;

/** Undo steps, run in reverse on the way out, whatever the way out. */
const cleanups = [];
let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (error) {
        console.error(`bench: cleanup step failed: ${error.message}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`\nbench: ${signal}, cleaning up`);
    cleanup().finally(() => process.exit(130));
  });
}

const log = (message) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

async function main() {
  const hardLimitS =
    600 + Math.ceil(users / 2_000) + 3 * (intervalMs / 1000 + durationS + steps.length * (stepS + 20));
  const watchdog = setTimeout(() => {
    console.error(`bench: still running after ${hardLimitS} s, giving up`);
    cleanup().finally(() => process.exit(1));
  }, hardLimitS * 1000);
  watchdog.unref();

  const idle0 = machineCpu();
  await sleep(1_000);
  const idle1 = machineCpu();
  const busyBeforeStart = round((idle1.busy - idle0.busy) / (idle1.total - idle0.total), 2);
  if (busyBeforeStart > 0.15)
    log(
      `warning: the machine is already ${Math.round(busyBeforeStart * 100)}% busy before the bench starts; figures will be skewed`,
    );
  log(
    `run ${runId}: ${fmt(users)} users, ${fmt(rate)} heartbeats/s (every ${fmt(intervalMs)} ms per user), ` +
      `${fmt(listenerCount)} listeners, ${durationS} s measured, steps ${steps.join(',') || 'none'}`,
  );
  await selfCheck(secret);
  const redis = await redisInfo(redisUrl);
  cleanups.push(async () => {
    const deleted = await deleteKeys(redisUrl, prefix);
    log(`deleted ${fmt(deleted)} Redis keys under ${prefix}`);
  });

  // ---- database --------------------------------------------------------------------------------------------
  const database = await createDatabase(argv['database-url'], `bench_${runId}`);
  cleanups.push(async () => {
    await database.drop();
    log(`dropped database bench_${runId}`);
  });
  const machine = describeMachine({ redisVersion: redis.version, postgresVersion: database.version });
  let started = Date.now();
  const seedSummary = await seed(database.url, secret, users, friends, 120_000 + users * 2);
  await analyze(database.url);
  log(`${seedSummary}, analyzed (${fmt((Date.now() - started) / 1000, 1)} s)`);

  // ---- server ----------------------------------------------------------------------------------------------
  const port = await freeTcpPort();
  const udpPort = await freeUdpPort();
  const inspectPort = await freeTcpPort();
  const server = await startServer(
    {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      AUTH_SECRET: secret,
      SERVICE_KEY: randomBytes(16).toString('hex'),
      HOST: '127.0.0.1',
      PORT: String(port),
      UDP_PORT: String(udpPort),
      LOG_LEVEL: 'warn',
      DEMO: '0',
      HEARTBEAT_MIN_INTERVAL_MS: String(minIntervalMs),
      PRESENCE_TIMEOUT_MS: String(presenceTimeoutMs),
      PRESENCE_TTL_S: String(presenceTtlS),
    },
    port,
    logPath,
    inspectPort,
  );
  cleanups.push(() => server.stop());
  log(`server pid ${server.pid} on http :${port}, udp :${udpPort} (log ${logPath})`);
  const scrape = async () => parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());

  // ---- who listens, who flips ------------------------------------------------------------------------------
  const stride = Math.max(1, Math.floor(users / listenerCount));
  const listenerIds = Array.from({ length: listenerCount }, (_, k) => 1 + ((k * stride) % users));
  const uniqueListeners = [...new Set(listenerIds)].sort((a, b) => a - b);
  const flipCount = Math.min(uniqueListeners.length, Math.max(1, Math.round((flipRate * intervalMs) / 1000)));
  // Each flip user is the ring neighbour (id + 1) of a listener, so every flip has at least one listener.
  const flipIds = [
    ...new Set(
      Array.from({ length: flipCount }, (_, k) => {
        const listener = uniqueListeners[Math.floor((k * uniqueListeners.length) / flipCount)];
        return listener === users ? 1 : listener + 1;
      }),
    ),
  ];

  // ---- workers ---------------------------------------------------------------------------------------------
  const heap = users > 200_000 ? ['--max-old-space-size=8192'] : [];
  const generators = [];
  const share = Math.ceil(users / generatorCount);
  for (let g = 0; g < generatorCount && g * share < users; g++) {
    const worker = new Worker(new URL('./udp-load.mjs', import.meta.url).pathname, `generator ${g}`, heap);
    cleanups.push(() => worker.stop());
    generators.push({ worker, from: 1 + g * share, to: Math.min(users, (g + 1) * share) });
  }
  const listeners = [];
  for (let start = 0; start < listenerIds.length; start += perProcess) {
    const worker = new Worker(
      new URL('./ws-listeners.mjs', import.meta.url).pathname,
      `listeners ${listeners.length}`,
    );
    cleanups.push(() => worker.stop());
    listeners.push({ worker, ids: listenerIds.slice(start, start + perProcess) });
  }
  started = Date.now();
  const signTimeout = 60_000 + users / 5;
  await Promise.all([
    ...generators.map((g) =>
      g.worker.ask(
        { type: 'init', from: g.from, to: g.to, secret, ttlSeconds: tokenTtlS, flipIds },
        'ready',
        signTimeout,
      ),
    ),
    ...listeners.map((l) =>
      l.worker.ask(
        { type: 'init', ids: l.ids, port, secret, ttlSeconds: tokenTtlS, flipIds },
        'ready',
        10_000,
      ),
    ),
  ]);
  log(`signed ${fmt(users)} generator tokens in ${fmt((Date.now() - started) / 1000, 1)} s`);

  // ---- memory per idle WebSocket ---------------------------------------------------------------------------
  /** RSS and V8 heap after two forced full GCs: the lowest of a few readings. */
  const settledMemory = async () => {
    await collectGarbage(inspectPort);
    const samples = [];
    for (let i = 0; i < 4; i++) {
      await sleep(500);
      samples.push(rssBytes(server.pid));
    }
    const heap = (await scrape()).get('presence_process_nodejs_heap_size_used_bytes') ?? null;
    return { rss: Math.min(...samples), heap };
  };
  await sleep(1_500);
  const before = await settledMemory();
  started = Date.now();
  const connected = await Promise.all(
    listeners.map((l) =>
      l.worker.ask({ type: 'connect', concurrency: 50 }, 'connected', 120_000 + l.ids.length * 20),
    ),
  );
  const connectMs = Date.now() - started;
  const connectedOk = connected.reduce((s, c) => s + c.ok, 0);
  const connectFailed = connected.reduce((s, c) => s + c.failed, 0);
  log(
    `connected ${fmt(connectedOk)} WebSockets in ${fmt((Date.now() - started) / 1000, 1)} s` +
      (connectFailed > 0
        ? `, ${fmt(connectFailed)} failed (${connected.find((c) => c.firstError)?.firstError})`
        : ''),
  );
  await sleep(3_000);
  const after = await settledMemory();
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
    serverGauge: (await scrape()).get('presence_ws_connections') ?? null,
  };
  log(
    `server RSS ${memory.rssBeforeMiB} → ${memory.rssAfterMiB} MiB: ${memory.perConnectionKiB} KiB per idle WebSocket ` +
      `(V8 heap ${memory.heapPerConnectionKiB} KiB)`,
  );

  // ---- load on the server ----------------------------------------------------------------------------------
  const redisPid = redis.pid;
  const cpuPids = async () => ({
    server: [server.pid],
    redis: redisPid ? [redisPid] : [],
    postgres: await postgresPids(argv['database-url'], `bench_${runId}`),
    generators: generators.map((g) => g.worker.pid),
    listeners: listeners.map((l) => l.worker.pid),
  });
  /** CPU seconds per component and per pid (PostgreSQL backends come and go between two snapshots). */
  const cpuSnapshot = async () => {
    const pids = await cpuPids();
    const out = { machine: machineCpu(), at: Date.now() };
    for (const [name, list] of Object.entries(pids)) {
      out[name] = new Map(list.map((pid) => [pid, cpuSeconds(pid) ?? 0]));
    }
    return out;
  };

  /** Sends at `phaseRate` for `ms`, waits for the receiver to drain, returns what the generators sent. */
  const drive = async (targetPort, phaseRate, ms, recordFlips) => {
    const results = await Promise.all(
      generators.map((g) =>
        g.worker.ask(
          {
            type: 'run',
            port: targetPort,
            rate: (phaseRate * (g.to - g.from + 1)) / users,
            durationMs: ms,
            recordFlips,
          },
          'done',
          ms + 60_000,
        ),
      ),
    );
    return {
      sent: results.reduce((s, r) => s + r.sent, 0),
      elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
      flips: results.flatMap((r) => r.flips),
    };
  };

  /** Polls a total until it stops moving (three equal reads 250 ms apart) or 20 s pass. */
  const drain = async (read, timeoutMs = 20_000) => {
    let last = await read();
    let still = 0;
    const deadline = Date.now() + timeoutMs;
    while (still < 3 && Date.now() < deadline) {
      await sleep(250);
      const now = await read();
      still = now === last ? still + 1 : 0;
      last = now;
    }
    return still >= 3;
  };
  const serverProcessed = async () => Object.values(udpCounters(await scrape())).reduce((s, v) => s + v, 0);

  /** One phase against the server: counters, CPU, RSS and latency around a drive. */
  const serverPhase = async (name, multiplier, seconds) => {
    const phaseRate = rate * multiplier;
    await Promise.all(listeners.map((l) => l.worker.ask({ type: 'reset' }, 'reset', 10_000)));
    const metrics0 = await scrape();
    const kernel0 = kernelUdp();
    const cpu0 = await cpuSnapshot();
    let rssMax = rssBytes(server.pid);
    /**
     * Per second: accepted, kernel receive-buffer drops, server CPU cores, the server's event-loop lag max (ms,
     * since the previous scrape) and mean heartbeat batch time (ms, UDP socket to transitions published).
     */
    const timeline = [];
    const sample = (metrics) => ({
      accepted: udpCounters(metrics)['accepted/none'] ?? 0,
      batchSum: metrics.get('presence_heartbeat_batch_seconds_sum') ?? 0,
      batchCount: metrics.get('presence_heartbeat_batch_seconds_count') ?? 0,
      rcvbuf: kernelUdp().RcvbufErrors,
      cpu: cpuSeconds(server.pid),
    });
    let last = sample(metrics0);
    const sampler = setInterval(async () => {
      rssMax = Math.max(rssMax, rssBytes(server.pid) ?? 0);
      try {
        const metrics = await scrape();
        const now = sample(metrics);
        const batches = now.batchCount - last.batchCount;
        timeline.push([
          now.accepted - last.accepted,
          now.rcvbuf - last.rcvbuf,
          round(now.cpu - last.cpu, 2),
          round((metrics.get('presence_process_nodejs_eventloop_lag_max_seconds') ?? 0) * 1000, 1),
          batches > 0 ? round(((now.batchSum - last.batchSum) / batches) * 1000, 1) : 0,
        ]);
        last = now;
      } catch {
        // a missed sample
      }
    }, 1_000);
    const sent = await drive(udpPort, phaseRate, seconds * 1000, true);
    const cpu1 = await cpuSnapshot();
    await drain(serverProcessed);
    await sleep(1_000); // deliveries in flight
    clearInterval(sampler);
    const metrics1 = await scrape();
    const kernel1 = kernelUdp();
    const collected = await Promise.all(
      listeners.map((l) => l.worker.ask({ type: 'collect' }, 'collected', 30_000)),
    );
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
      latency: joinLatency(sent.flips, collected),
      timeline,
    };
    log(
      `${name}: offered ${fmt(result.offeredPerS)}/s, accepted ${fmt(result.acceptedPerS)}/s, loss ${fmt(result.loss)} ` +
        `(${result.lossPct}%), server CPU ${result.cpu.server}, latency p99 ${result.latency.p99} ms`,
    );
    return result;
  };

  // Warm-up: every user seen at least once (first sight costs a database insert, a token verification and an
  // online transition with a subscriber lookup), and at least 5 s, then wait for the server to go quiet.
  // At most 10,000/s: first sight costs a token verification and an online transition each, so a faster
  // warm-up would measure a mass login instead of filling the caches.
  const warmupRate = Math.min(rate, WARMUP_RATE);
  const warmupMs = Math.max((users * 1000) / warmupRate, 5_000);
  log(`warm-up: ${fmt(warmupMs / 1000, 1)} s at ${fmt(warmupRate)}/s so every user has been seen`);
  const warmup = await drive(udpPort, warmupRate, warmupMs, false);
  const warmupEnded = Date.now();
  // Every heartbeating user online first (a stuck server also has still counters), then quiet: no more packets
  // handled and no more transitions broadcast (the fan-out of the mass online).
  const onlineTarget = Math.min(users, warmup.sent);
  const onlineDeadline = Date.now() + Math.max(60_000, users / 5);
  let online = 0;
  while (Date.now() < onlineDeadline) {
    online = (await scrape()).get('presence_online_users') ?? 0;
    if (online >= onlineTarget) break;
    await sleep(500);
  }
  const quiet = await drain(async () => {
    const metrics = await scrape();
    const udp = Object.values(udpCounters(metrics)).reduce((s, v) => s + v, 0);
    return (
      udp + sumMetric(metrics, 'presence_broadcasts_total') + sumMetric(metrics, 'presence_transitions_total')
    );
  }, 120_000);
  const warmupSettleS = round((Date.now() - warmupEnded) / 1000, 1);
  if (online < onlineTarget || !quiet)
    log(`warning: after the warm-up ${fmt(online)} of ${fmt(onlineTarget)} users online, quiet: ${quiet}`);
  await sleep(2_000);
  log(
    `warm-up sent ${fmt(warmup.sent)}; settled ${warmupSettleS} s after the last packet; online users ${fmt(online)}`,
  );

  let profile = null;
  let profiler = null;
  if (argv.profile) {
    profiler = await inspector(inspectPort);
    await profiler.call('Profiler.enable');
    await profiler.call('Profiler.setSamplingInterval', { interval: 500 });
    await profiler.call('Profiler.start');
  }
  const phases = [await serverPhase('measured', 1, durationS)];
  if (profiler) {
    const { profile: cpuProfile } = await profiler.call('Profiler.stop');
    profiler.close();
    const dir = new URL('./results/', import.meta.url).pathname;
    mkdirSync(dir, { recursive: true });
    const file = `${dir}server-${runId}.cpuprofile`;
    writeFileSync(file, JSON.stringify(cpuProfile));
    profile = { file, byAppFrame: byAppFrame(cpuProfile), bySelf: bySelf(cpuProfile) };
  }
  for (const multiplier of steps) phases.push(await serverPhase(`step x${multiplier}`, multiplier, stepS));

  const closeListeners = async () => {
    await Promise.all(
      listeners.map((l) => l.worker.ask({ type: 'close' }, 'closed', 30_000).catch(() => {})),
    );
  };
  await closeListeners();
  await server.stop();
  log('server stopped');

  // ---- the bare ceiling ------------------------------------------------------------------------------------
  const ceiling = argv['skip-ceiling']
    ? null
    : await measureCeiling({
        cleanups,
        drive,
        drain,
        log,
        rate,
        steps,
        durationS,
        stepS,
        redisPid,
        generators,
        phases,
        secret,
        redisUrl,
        prefix,
        presenceTimeoutMs,
        warmupRate: Math.min(rate, WARMUP_RATE),
        users,
      });

  const report = {
    runId,
    date: new Date().toISOString(),
    machine,
    busyBeforeStart,
    loadAverage: os.loadavg().map((l) => round(l, 2)),
    options: {
      users,
      rate,
      intervalMs: round(intervalMs, 1),
      durationS,
      listeners: listenerCount,
      friends,
      flipRate,
      flipUsers: flipIds.length,
      steps,
      stepS,
      generators: generators.length,
      listenerProcesses: listeners.length,
      server: {
        HEARTBEAT_MIN_INTERVAL_MS: minIntervalMs,
        PRESENCE_TIMEOUT_MS: presenceTimeoutMs,
        PRESENCE_TTL_S: presenceTtlS,
      },
    },
    seed: seedSummary,
    warmup: {
      rate: warmupRate,
      seconds: round(warmupMs / 1000, 1),
      sent: warmup.sent,
      online,
      onlineTarget,
      quiet,
      settledAfterS: warmupSettleS,
    },
    memory,
    phases,
    ceiling,
    profile,
  };
  clearTimeout(watchdog);
  return report;
}

main()
  .then(async (report) => {
    await cleanup();
    printReport(report);
    const dir = new URL('./results/', import.meta.url).pathname;
    mkdirSync(dir, { recursive: true });
    const file = `${dir}${report.date.replace(/[:.]/g, '-')}.json`;
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    rmSync(logPath, { force: true });
    console.log(`\nwritten ${file}`);
  })
  .catch(async (error) => {
    console.error(`bench: failed: ${error.stack ?? error}`);
    console.error(`bench: server log kept at ${logPath}`);
    await cleanup();
    process.exit(1);
  });
