/** What the bench prints: progress lines while it runs, and the report at the end. */
import { targetLines } from './targets.mjs';

/** A number with thousands separators, or n/a. */
export const fmt = (n, digits = 0) =>
  n === null || n === undefined ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits });

let wipeProgress = () => {};
/** What to do before each log line: bench/progress.mjs wipes its terminal line. */
export const beforeLog = (wipe) => {
  wipeProgress = wipe;
};

/** A progress line, stamped with the time of day, so a slow step shows in the log. */
export const log = (message) => {
  wipeProgress();
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);
};

/** The first progress line: what this run will do. */
export function announce(runId, { users, rate, intervalMs, listenerCount, durationS, steps }) {
  log(
    `run ${runId}: ${fmt(users)} users, ${fmt(rate)} heartbeats/s (every ${fmt(intervalMs)} ms per user), ` +
      `${fmt(listenerCount)} listeners, ${durationS} s measured, steps ${steps.join(',') || 'none'}`,
  );
}

function printProfile(report, lines) {
  if (!report.profile) return;
  lines.push('', `server CPU profile of the measured phase (${report.profile.file}), share of busy samples:`);
  lines.push('  by innermost frame of this repository [library below it]:');
  for (const [share, where] of report.profile.byAppFrame)
    lines.push(`  ${String(share).padStart(5)}%  ${where}`);
  lines.push('  by function (self time):');
  for (const [share, where] of report.profile.bySelf) lines.push(`  ${String(share).padStart(5)}%  ${where}`);
}

export function printReport(report) {
  const m = report.machine;
  const o = report.options;
  const lines = [
    '',
    '================ presence load benchmark ================',
    `date        ${report.date}`,
    `machine     ${m.cpuModel} × ${m.cpuCount}, ${m.totalMemoryGiB} GiB, ${m.os}${m.distro ? ` (${m.distro})` : ''}`,
    `software    Node ${m.node}, Redis ${m.redis}, PostgreSQL ${m.postgres}`,
    `idle check  machine ${Math.round(report.busyBeforeStart * 100)}% busy before the start (other jobs); ` +
      `load average ${report.loadAverageBefore?.join(' ')} before, ${report.loadAverage.join(' ')} after`,
    `servers     ${o.servers} process(es)${o.workers > 1 ? ` of ${o.workers} workers` : ''} on ` +
      `${o.cluster ? 'a local 3-master Redis Cluster' : 'one Redis'}`,
    `load        ${fmt(o.users)} users every ${fmt(o.intervalMs)} ms = ${fmt(o.rate)} heartbeats/s target; ` +
      `${fmt(o.listeners)} WebSocket listeners in ${o.listenerProcesses} process(es); ` +
      `${fmt(o.flipUsers)} flip users (~${fmt(o.flipRate)} flips/s at x1)`,
    `graph       ${report.seed}`,
    `warm-up     ${report.warmup.seconds} s at ${fmt(report.warmup.rate)}/s, ${fmt(report.warmup.sent)} sent; ` +
      `${fmt(report.warmup.online)} of ${fmt(report.warmup.onlineTarget)} users online; ` +
      `settled ${report.warmup.settledAfterS} s after the last packet${report.warmup.quiet ? '' : ' (NOT quiet)'}; ` +
      `${fmt(report.warmup.acceptedPerS)}/s accepted, ${fmt(report.warmup.lost)} lost; all online ` +
      `${report.warmup.allOnlineAfterS === null ? 'not within the wait' : `${report.warmup.allOnlineAfterS} s after the first packet`}`,
    ...(report.online
      ? [
          `online      after the warm-up, ${fmt(report.online.users)} online: server RSS ${report.online.rssMiB} MiB ` +
            `(settled, ${fmt(report.memory.connections)} sockets); Redis used_memory +${fmt(report.online.redisDeltaMiB, 1)} MiB ` +
            `= ${fmt(report.online.redisBytesPerUser)} bytes per online user`,
        ]
      : []),
    `memory      server RSS ${report.memory.rssBeforeMiB} MiB → ${report.memory.rssAfterMiB} MiB with ` +
      `${fmt(report.memory.connections)} idle WebSockets: ${report.memory.perConnectionKiB} KiB per connection ` +
      `(V8 heap ${report.memory.heapBeforeMiB} → ${report.memory.heapAfterMiB} MiB: ${report.memory.heapPerConnectionKiB} KiB)`,
    '',
    'phase          offered/s  accepted/s      loss   loss%  kernel-rcvbuf  srv-cpu  redis  gen  lsn   pg other  busy  rss-MiB  p50ms  p95ms  p99ms  max-ms  flips-missed',
  ];
  for (const p of report.phases) {
    lines.push(
      [
        p.name.padEnd(13),
        fmt(p.offeredPerS).padStart(10),
        fmt(p.acceptedPerS).padStart(11),
        fmt(p.loss).padStart(9),
        String(p.lossPct).padStart(7),
        fmt(p.kernelRcvbufErrors).padStart(14),
        String(p.cpu.server).padStart(8),
        String(p.cpu.redis).padStart(6),
        String(p.cpu.generators).padStart(4),
        String(p.cpu.listeners).padStart(4),
        String(p.cpu.postgres).padStart(4),
        String(p.cpu.other).padStart(5),
        String(p.cpu.machineBusy).padStart(5),
        String(p.serverRssMaxMiB).padStart(8),
        String(p.latency.p50).padStart(6),
        String(p.latency.p95).padStart(6),
        String(p.latency.p99).padStart(6),
        String(p.latency.max).padStart(7),
        fmt(p.latency.flipsNeverDelivered).padStart(13),
      ].join(' '),
    );
  }
  for (const p of report.phases) {
    const drops = Object.entries(p.droppedByReason)
      .map(([k, v]) => `${k.slice(8)} ${fmt(v)}`)
      .join(', ');
    const l = p.latency;
    lines.push(
      `  ${p.name}: latency split: send→server p50/p99 ${l.sendToServerMs.p50}/${l.sendToServerMs.p99} ms, ` +
        `server→client p50/p99 ${l.serverToClientMs.p50}/${l.serverToClientMs.p99} ms; ` +
        `worst per second of sending: ${l.worstBySecondMs.join(' ')}`,
      `  ${p.name}: every ${o.sampleS} s accepted/kernel-drops/server-cores/loop-lag-max-ms/batch-ms/scrape-ms: ${p.timeline.map((t) => t.join('/')).join(' ')}`,
    );
    if (p.delivery)
      lines.push(
        `  ${p.name}: ${fmt(p.delivery.framesPerS)} status frames/s written; CPU per frame ${p.delivery.cpuPerDeliveryUs} µs ` +
          `(server ${p.delivery.serverUs}, Redis ${p.delivery.redisUs}, PostgreSQL ${p.delivery.postgresUs})`,
      );
    for (const [i, s] of (p.perServer ?? []).entries())
      lines.push(
        `  ${p.name}: server ${i}: accepted ${fmt(s.acceptedPerS)}/s, ${s.cores} cores, bus received ` +
          `${fmt(s.busMessagesPerS)} msg/s (${fmt(s.busBytesPerS / 1024, 1)} KiB/s), ` +
          `transitions ${fmt(s.transitionsPerS)}/s, status frames ${fmt(s.statusFramesPerS)}/s`,
      );
    lines.push(
      `  ${p.name}: ${fmt(p.offered)} offered, ${fmt(p.accepted)} accepted, never counted ${fmt(p.neverCounted)}` +
        `${drops ? `, dropped: ${drops}` : ''}; ${fmt(p.latency.deliveries)} deliveries of ${fmt(p.latency.flipsSent)} flips; ` +
        `event-loop lag p99 ${p.serverMetrics.eventLoopLagP99Ms} ms`,
    );
  }
  if (report.ceiling) {
    lines.push(
      '',
      'ceiling        offered/s  accepted/s      loss   loss%  kernel-rcvbuf  rcv-cpu  redis  gen  busy',
    );
    for (const p of report.ceiling.phases) {
      lines.push(
        [
          p.name.padEnd(13),
          fmt(p.offeredPerS).padStart(10),
          fmt(p.acceptedPerS).padStart(11),
          fmt(p.loss).padStart(9),
          String(p.lossPct).padStart(7),
          fmt(p.kernelRcvbufErrors).padStart(14),
          String(p.cpu.ceiling).padStart(8),
          String(p.cpu.redis).padStart(6),
          String(p.cpu.generators).padStart(4),
          String(p.cpu.machineBusy).padStart(5),
        ].join(' '),
      );
    }
    lines.push(
      '',
      `ratio server/ceiling at the target rate: ${report.ceiling.ratioAtTargetRate}` +
        ` (${fmt(report.phases[0].acceptedPerS)} / ${fmt(report.ceiling.phases[0].acceptedPerS)} accepted/s)`,
      `ratio of best accepted/s over all steps: ${report.ceiling.ratioBest}` +
        ` (${fmt(report.ceiling.serverBestAcceptedPerS)} / ${fmt(report.ceiling.bestAcceptedPerS)})`,
    );
  }
  printProfile(report, lines);
  lines.push(...targetLines(report.targets ?? []));
  lines.push(
    '',
    'cpu columns are cores (cpu-seconds per wall second); busy is the whole machine (1.0 = all cores)',
  );
  console.log(lines.join('\n'));
}
