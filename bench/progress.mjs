/**
 * Phases done and time left, on stderr beside the log on stdout: one redrawn line on a terminal, a plain line
 * per phase elsewhere. The line is the CLI's own (packages/server/src/cli/progress.ts), built before a run.
 */
import { createProgress } from '../packages/server/dist/cli/progress.js';
import { beforeLog, fmt } from './report.mjs';
import { warmupPlan } from './warmup.mjs';

/**
 * Every phase of a run in order, with the seconds it drives load for (0: setup whose length the bench cannot
 * foresee, such as seeding). The time left is the sum of the remaining ones: a floor, since draining and
 * setup come on top.
 */
export function planPhases(options) {
  const warmupS = warmupPlan(options).ms / 1000;
  const phases = [
    { name: 'seed', seconds: 0 },
    { name: 'server and workers', seconds: 0 },
    { name: 'memory', seconds: 0 },
    { name: 'warm-up', seconds: warmupS, rate: warmupPlan(options).rate },
    { name: 'measured', seconds: options.durationS, rate: options.rate },
    ...options.steps.map((m) => ({ name: `step x${m}`, seconds: options.stepS, rate: options.rate * m })),
  ];
  if (!options.skipCeiling)
    phases.push(
      { name: 'ceiling warm-up', seconds: warmupS, rate: warmupPlan(options).rate },
      { name: 'ceiling x1', seconds: Math.min(options.durationS, options.stepS), rate: options.rate },
      ...options.steps.map((m) => ({
        name: `ceiling x${m}`,
        seconds: options.stepS,
        rate: options.rate * m,
      })),
    );
  return phases;
}

/** `done(name)` after each planned phase. Log lines wipe the terminal line first, so the two never mix. */
export function benchProgress(options) {
  const phases = planPhases(options);
  const progress = createProgress({ label: 'bench', total: phases.length, unit: 'phases', showRate: false });
  beforeLog(() => progress.clear());
  let done = 0;
  const remainingS = () => phases.slice(done).reduce((sum, phase) => sum + phase.seconds, 0);
  return {
    done(name) {
      const index = phases.findIndex((phase, i) => i >= done && phase.name === name);
      if (index < 0) return;
      done = index + 1;
      const next = phases[done];
      if (!next) return progress.finish(`${name} done`);
      const rate = next.rate ? ` at ${fmt(next.rate)} heartbeats/s` : '';
      progress.update(done, { note: `${name} done, next ${next.name}${rate}`, secondsLeft: remainingS() });
    },
  };
}
