/**
 * `--servers LIST` (e.g. 1,2): one run of the bench per server count, one after the other, each a child
 * `node bench/run.mjs` with the load scaled by the count (the load options are per server process), and with
 * `--cluster` each count on the cluster and on the single Redis. Then one table: what each server process
 * accepted and read from the bus as processes are added. Every child cleans up after itself.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { fmt, log } from './report.mjs';
import { resultsPath, writeReport } from './results.mjs';

const RUN = new URL('./run.mjs', import.meta.url).pathname;

/** The child runs of a comparison: every count, on the cluster then on the single Redis (with --cluster). */
export function comparisonRuns(options) {
  const runs = [];
  for (const servers of options.serverCounts) {
    if (options.cluster) runs.push({ servers, cluster: true });
    runs.push({ servers, cluster: false });
  }
  return runs;
}

/** The command line of one child run: the per-server load times `servers`, and the shared options as given. */
function childArgs(options, { servers, cluster }, jsonOut) {
  const args = [
    ['--users', options.users * servers],
    ['--rate', options.rate * servers],
    ['--listeners', options.listenerCount * servers],
    ['--flip-rate', options.flipRate * servers],
    ['--duration-s', options.durationS],
    ['--steps', options.steps.join(',')],
    ['--step-s', options.stepS],
    ['--generators', options.generatorCount],
    ['--per-process', options.perProcess],
    ['--servers', servers],
    ['--workers', options.workers],
    ['--sample-s', options.sampleS],
    ['--database-url', options.databaseUrl],
    ['--redis-url', options.redisUrl],
    ['--json-out', jsonOut],
  ].flatMap(([k, v]) => [k, String(v)]);
  // The ceiling is a single-receiver figure: a comparison of server counts leaves it out.
  args.push('--skip-ceiling');
  if (cluster) args.push('--cluster');
  if (options.profile) args.push('--profile');
  return args;
}

function runChild(args, cleanup) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, ...args], { stdio: 'inherit' });
    cleanup.push(() => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`run exited with ${code}`))));
  });
}

const loadAverage = () => os.loadavg().map((l) => Math.round(l * 100) / 100);

/** Runs every child, prints the comparison and writes it as JSON. Resolves with null (nothing left to print). */
export async function compareServerCounts(options, cleanup) {
  const runs = comparisonRuns(options);
  const id = new Date().toISOString().replace(/[:.]/g, '-');
  log(
    `comparison of ${runs.length} runs; load per server process: ${fmt(options.users)} users, ` +
      `${fmt(options.rate)} heartbeats/s, ${fmt(options.listenerCount)} listeners, ${fmt(options.flipRate)} flips/s`,
  );
  const results = [];
  for (const [i, spec] of runs.entries()) {
    const jsonOut = resultsPath(`compare-${id}-${i}.json`);
    const loadBefore = loadAverage();
    log(
      `run ${i + 1}/${runs.length}: ${spec.servers} server(s) on ${spec.cluster ? 'the cluster' : 'one Redis'}, ` +
        `load average ${loadBefore.join(' ')}`,
    );
    await runChild(childArgs(options, spec, jsonOut), cleanup);
    const report = JSON.parse(readFileSync(jsonOut, 'utf8'));
    rmSync(jsonOut, { force: true });
    results.push({ ...spec, loadBefore, loadAfter: loadAverage(), report });
  }
  const table = comparisonTable(results);
  console.log(`\n${table.join('\n')}`);
  const file = writeReport(
    { date: new Date().toISOString(), options: options.argv, runs: results },
    resultsPath(`compare-${id}.json`),
  );
  console.log(`\nwritten ${file}`);
  return null;
}

/** One row per run and measured phase, and one row per server process with what it read from the bus. */
export function comparisonTable(results) {
  const lines = [
    '================ server processes compared (load per process fixed) ================',
    'redis     servers  phase        offered/s  accepted/s   loss  rate-limited  p99ms  max-ms  missed  srv-cores  redis  other  load-before  load-after',
  ];
  const rows = [];
  for (const r of results)
    for (const p of r.report.phases) {
      lines.push(
        [
          (r.cluster ? 'cluster' : 'one').padEnd(9),
          String(r.servers).padStart(7),
          ` ${p.name.padEnd(12)}`,
          fmt(p.offeredPerS).padStart(10),
          fmt(p.acceptedPerS).padStart(11),
          fmt(p.loss).padStart(6),
          fmt(p.rateLimited).padStart(13),
          String(p.latency.p99).padStart(6),
          String(p.latency.max).padStart(7),
          fmt(p.latency.flipsNeverDelivered).padStart(7),
          String(p.cpu.server).padStart(10),
          String(p.cpu.redis).padStart(6),
          String(p.cpu.other).padStart(6),
          r.loadBefore.join(' ').padStart(12),
          r.loadAfter.join(' ').padStart(11),
        ].join(' '),
      );
      for (const [i, s] of (p.perServer ?? []).entries())
        rows.push(
          `${(r.cluster ? 'cluster' : 'one').padEnd(9)} ${String(r.servers).padStart(7)}  ${p.name.padEnd(12)} server ${i}: ` +
            `accepted ${fmt(s.acceptedPerS)}/s, ${s.cores} cores, bus received ${fmt(s.busMessagesPerS)} msg/s ` +
            `(${fmt(s.busBytesPerS / 1024, 1)} KiB/s), transitions ${fmt(s.transitionsPerS)}/s, ` +
            `status frames ${fmt(s.statusFramesPerS)}/s`,
        );
    }
  lines.push('', 'per server process:', ...rows);
  lines.push(
    '',
    'loss leaves out rate-limited heartbeats (none by design: the schedule is above the minimum interval; some when',
    'the generator or the server is starved and packets bunch up); missed: status changes no listener heard;',
    'other: cores busy outside the bench (other jobs on the machine); load: the 1/5/15-minute load averages',
  );
  return lines;
}
