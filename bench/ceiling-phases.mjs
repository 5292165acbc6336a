import { Worker } from './children.mjs';
import { round } from './figures.mjs';
import { fmt, log } from './report.mjs';
import { cpuSeconds, drain, kernelUdp, machineCpu } from './stats.mjs';
import { warmupPlan } from './warmup.mjs';

/**
 * The bare ceiling: bench/ceiling.mjs driven by the same generators, the server's warm-up (each token
 * verified once), then the target rate and each step. Returns its phases and the ratios to the server's
 * `phases`. It runs after the server has stopped, so the two never share the machine.
 */
export async function measureCeiling({ options, run, timing, workers, redis, phases, cleanup, progress }) {
  const { rate, steps, durationS, stepS } = options;
  const { drive, generators } = workers;
  const redisPid = redis.pid;
  const worker = new Worker(new URL('./ceiling.mjs', import.meta.url).pathname, 'ceiling');
  cleanup.push(() => worker.stop());
  const { port: ceilingPort } = await worker.ask(
    {
      type: 'init',
      port: 0,
      secret: run.secret,
      redisUrl: options.redisUrl,
      prefix: `${run.prefix}ceiling:`,
      windowMs: timing.presenceTimeoutMs,
    },
    'ready',
    10_000,
  );
  const stats = () => worker.ask({ type: 'stats' }, 'stats', 10_000);
  const ceilingProcessed = async () => {
    const s = await stats();
    return s.accepted + Object.values(s.dropped).reduce((a, b) => a + b, 0);
  };
  log(`ceiling pid ${worker.pid} on udp :${ceilingPort}; warm-up (every token verified once)`);
  const warmup = warmupPlan(options);
  await drive([ceilingPort], warmup.rate, warmup.ms, false);
  await drain(ceilingProcessed);
  progress?.done('ceiling warm-up');
  const ceilingPhases = [];
  for (const multiplier of [1, ...steps]) {
    const before = await stats();
    const kernel0 = kernelUdp();
    const cpu0 = {
      machine: machineCpu(),
      ceiling: cpuSeconds(worker.pid),
      redis: redisPid ? cpuSeconds(redisPid) : 0,
    };
    const gen0 = generators.reduce((s, g) => s + (cpuSeconds(g.worker.pid) ?? 0), 0);
    const seconds = multiplier === 1 ? Math.min(durationS, stepS) : stepS;
    const sent = await drive([ceilingPort], rate * multiplier, seconds * 1000, false);
    const cpu1 = {
      machine: machineCpu(),
      ceiling: cpuSeconds(worker.pid),
      redis: redisPid ? cpuSeconds(redisPid) : 0,
    };
    const gen1 = generators.reduce((s, g) => s + (cpuSeconds(g.worker.pid) ?? 0), 0);
    await drain(ceilingProcessed);
    const after = await stats();
    const wallS = sent.elapsedMs / 1000;
    const accepted = after.accepted - before.accepted;
    const phase = {
      name: `ceiling x${multiplier}`,
      multiplier,
      targetRate: rate * multiplier,
      seconds: round(wallS, 2),
      offered: sent.sent,
      offeredPerS: Math.round(sent.sent / wallS),
      accepted,
      acceptedPerS: Math.round(accepted / wallS),
      loss: sent.sent - accepted,
      lossPct: sent.sent > 0 ? round((100 * (sent.sent - accepted)) / sent.sent, 3) : 0,
      kernelRcvbufErrors: kernelUdp().RcvbufErrors - kernel0.RcvbufErrors,
      cpu: {
        ceiling: round((cpu1.ceiling - cpu0.ceiling) / wallS, 2),
        redis: round((cpu1.redis - cpu0.redis) / wallS, 2),
        generators: round((gen1 - gen0) / wallS, 2),
        machineBusy: round(
          (cpu1.machine.busy - cpu0.machine.busy) / (cpu1.machine.total - cpu0.machine.total),
          2,
        ),
      },
    };
    log(
      `${phase.name}: offered ${fmt(phase.offeredPerS)}/s, accepted ${fmt(phase.acceptedPerS)}/s, loss ${fmt(phase.loss)} ` +
        `(${phase.lossPct}%), ceiling CPU ${phase.cpu.ceiling}`,
    );
    ceilingPhases.push(phase);
    progress?.done(phase.name);
  }
  await worker.stop();
  const serverBest = Math.max(...phases.map((p) => p.acceptedPerS));
  const ceilingBest = Math.max(...ceilingPhases.map((p) => p.acceptedPerS));
  return {
    phases: ceilingPhases,
    bestAcceptedPerS: ceilingBest,
    ratioAtTargetRate: round(phases[0].acceptedPerS / ceilingPhases[0].acceptedPerS, 3),
    serverBestAcceptedPerS: serverBest,
    ratioBest: round(serverBest / ceilingBest, 3),
  };
}
