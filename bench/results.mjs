/** What a run hands back: the report object (printed, and kept as JSON under bench/results/). */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { round } from './figures.mjs';
import { evaluateTargets } from './targets.mjs';

/** A path under bench/results/ (created on first use), which git ignores. */
export function resultsPath(name) {
  const dir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  return `${dir}${name}`;
}

/** Every figure of the run in one object, with the options and server timing it ran with. */
export function collectReport({
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
}) {
  const report = {
    runId: run.id,
    date: new Date().toISOString(),
    machine,
    busyBeforeStart,
    loadAverageBefore,
    loadAverage: os.loadavg().map((l) => round(l, 2)),
    options: {
      users: options.users,
      rate: options.rate,
      intervalMs: round(options.intervalMs, 1),
      durationS: options.durationS,
      listeners: options.listenerCount,
      friends: options.friends,
      flipRate: options.flipRate,
      flipUsers: users.flipIds.length,
      steps: options.steps,
      stepS: options.stepS,
      generators: workers.generators.length,
      listenerProcesses: workers.listeners.length,
      sampleS: options.sampleS,
      servers: options.servers,
      workers: options.workers,
      cluster: options.cluster,
      server: {
        HEARTBEAT_MIN_INTERVAL_MS: timing.minIntervalMs,
        PRESENCE_TIMEOUT_MS: timing.presenceTimeoutMs,
        PRESENCE_TTL_S: timing.presenceTtlS,
      },
    },
    seed,
    warmup,
    online,
    memory,
    phases,
    ceiling,
    profile,
  };
  report.targets = evaluateTargets(report);
  return report;
}

/** Writes the report as bench/results/<date>.json (or to `file`) and returns the path. */
export function writeReport(report, file = resultsPath(`${report.date.replace(/[:.]/g, '-')}.json`)) {
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
