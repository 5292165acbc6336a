#!/usr/bin/env node
/**
 * `npm run bench`: the load benchmark. It prints figures; it asserts nothing.
 *
 * One server process on Redis and a throw-away PostgreSQL database, N users heartbeating over UDP from
 * generator workers, M WebSocket listeners (friends of the heartbeating users) in listener workers; then the
 * bare ceiling (bench/ceiling.mjs) driven by the same generator. Everything runs on 127.0.0.1, is bounded in
 * count and time, and is cleaned up (processes, database, Redis keys) on success, error or Ctrl-C.
 *
 * Run `node bench/run.mjs --help` for the options.
 */
import { rmSync } from 'node:fs';
import { measureCeiling } from './ceiling-phases.mjs';
import { cleanUpOnSignals, cleanupStack, startWatchdog } from './cleanup.mjs';
import { compareServerCounts } from './compare.mjs';
import { checkIdle, describeMachine, loadAverage } from './machine.mjs';
import { measureMemoryPerSocket, measureOnline, redisUsedMemory } from './memory.mjs';
import { parseOptions, timeLimitS } from './options.mjs';
import { startProfiler } from './profile.mjs';
import { benchProgress } from './progress.mjs';
import { announce, log, printReport } from './report.mjs';
import { collectReport, resultsPath, writeReport } from './results.mjs';
import { serverPhases } from './server-phase.mjs';
import { startBenchServers } from './servers.mjs';
import { newRun, openDatabase, openRedis, openRedisCluster, seedDatabase, serverTiming } from './setup.mjs';
import { selfCheck } from './tokens.mjs';
import { warmUp } from './warmup.mjs';
import { chooseUsers, startWorkers } from './workers.mjs';

const options = parseOptions();
const run = newRun();
const timing = serverTiming(options);
const cleanup = cleanupStack();
const progress = benchProgress(options);
cleanUpOnSignals(cleanup);

async function main() {
  const disarmWatchdog = startWatchdog(timeLimitS(options), cleanup);
  const loadAverageBefore = loadAverage();
  const busyBeforeStart = await checkIdle();
  announce(run.id, options);
  await selfCheck(run.secret);

  const redis = options.cluster ? await openRedisCluster(cleanup) : await openRedis(options, run, cleanup);
  const database = await openDatabase(options, run, cleanup);
  const machine = describeMachine({ redisVersion: redis.version, postgresVersion: database.version });
  const seed = await seedDatabase(options, run, database);
  progress.done('seed');
  const server = await startBenchServers(options, run, database, timing, cleanup, redis);
  const users = chooseUsers(options);
  const workers = await startWorkers(options, run, users, server.ports, cleanup);
  progress.done('server and workers');

  const memory = await measureMemoryPerSocket(server, workers);
  progress.done('memory');
  const redisBefore = await redisUsedMemory(options, redis);
  const warmup = await warmUp(options, server, workers);
  progress.done('warm-up');
  const online = await measureOnline(server, options, redis, redisBefore);
  const serverPhase = serverPhases(options, run, server, workers, redis);
  const profiler = options.profile ? await startProfiler(server.inspectPort) : null;
  const phases = [await serverPhase('measured', 1, options.durationS)];
  progress.done('measured');
  const profile = profiler ? await profiler.stop(resultsPath(`server-${run.id}.cpuprofile`)) : null;
  for (const multiplier of options.steps) {
    phases.push(await serverPhase(`step x${multiplier}`, multiplier, options.stepS));
    progress.done(`step x${multiplier}`);
  }
  await workers.close();
  await server.stop();
  log('server stopped');

  const ceiling = options.skipCeiling
    ? null
    : await measureCeiling({ options, run, timing, workers, redis, phases, cleanup, progress });

  disarmWatchdog();
  return collectReport({
    loadAverageBefore,
    run,
    machine,
    busyBeforeStart,
    options,
    users,
    workers,
    timing,
    seed,
    warmup,
    online,
    memory,
    phases,
    ceiling,
    profile,
  });
}

(options.serverCounts.length > 1 ? compareServerCounts(options, cleanup) : main())
  .then(async (report) => {
    if (report === null) return;
    await cleanup.run();
    printReport(report);
    const file = writeReport(report, options.jsonOut);
    rmSync(run.logPath, { force: true });
    console.log(`\nwritten ${file}`);
  })
  .catch(async (error) => {
    console.error(`bench: failed: ${error.stack ?? error}`);
    console.error(`bench: server log kept at ${run.logPath}`);
    await cleanup.run();
    process.exit(1);
  });
