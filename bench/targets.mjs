/**
 * The targets of issue 10 item 5, each checked against the figures of this run when the run is one that
 * measures it (its options decide): target, figure, met or not met. A target the run does not measure is
 * left out, so each run's table says only what that run shows.
 */

/** A number with thousands separators, or n/a (report.mjs's, which imports this module). */
const fmt = (n, digits = 0) =>
  n === null || n === undefined ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits });

const MIB = 1024 ** 2;
const atLeastMillion = (r) => r.options.users >= 1_000_000;
const manyListeners = (r) => r.options.listeners >= 10_000;
const measured = (r) => r.phases[0];

/** @type {{target: string, applies: (r: any) => boolean, figure: (r: any) => [string, boolean | null]}[]} */
export const TARGETS = [
  {
    target: 'cold start at 10,000 new users/s: zero loss',
    applies: (r) => atLeastMillion(r) && r.warmup.rate >= 10_000,
    figure: (r) => [
      `${fmt(r.warmup.lost)} lost of ${fmt(r.warmup.sent)} (${fmt(r.warmup.acceptedPerS)}/s accepted)`,
      r.warmup.lost === 0,
    ],
  },
  {
    target: 'cold start: all online within 110 s',
    applies: (r) => atLeastMillion(r) && r.warmup.rate >= 10_000,
    figure: (r) => [
      r.warmup.allOnlineAfterS === null
        ? `${fmt(r.warmup.online)} of ${fmt(r.warmup.onlineTarget)} online when the bench stopped waiting ` +
          `(at most ${fmt(r.warmup.onlinePeak)} after the warm-up)`
        : `all ${fmt(r.warmup.onlineTarget)} online after ${r.warmup.allOnlineAfterS} s`,
      r.warmup.allOnlineAfterS !== null && r.warmup.allOnlineAfterS <= 110,
    ],
  },
  {
    target: '25,000 heartbeats/s: zero loss',
    applies: (r) => atLeastMillion(r) && r.options.rate >= 25_000,
    figure: (r) => [
      `${fmt(measured(r).acceptedPerS)}/s accepted of ${fmt(measured(r).offeredPerS)}/s, ${fmt(measured(r).loss)} lost`,
      measured(r).loss === 0,
    ],
  },
  {
    target: 'at least 0.9 of the bare ceiling (same run)',
    applies: (r) => atLeastMillion(r) && r.ceiling !== null,
    figure: (r) => [
      `${r.ceiling.ratioAtTargetRate} (${fmt(measured(r).acceptedPerS)} / ${fmt(r.ceiling.phases[0].acceptedPerS)} accepted/s` +
        `${r.ceiling.phases[0].loss > 0 ? `; the ceiling itself lost ${r.ceiling.phases[0].lossPct}%` : ''})`,
      r.ceiling.ratioAtTargetRate >= 0.9,
    ],
  },
  {
    target: 'delivery p99 under 3 ms (10,000 listeners)',
    applies: manyListeners,
    figure: (r) => [
      `${measured(r).latency.p99} ms`,
      measured(r).latency.p99 !== null && measured(r).latency.p99 < 3,
    ],
  },
  {
    target: 'delivery max under 20 ms (10,000 listeners)',
    applies: manyListeners,
    figure: (r) => [
      `${measured(r).latency.max} ms`,
      measured(r).latency.max !== null && measured(r).latency.max < 20,
    ],
  },
  {
    target: 'zero lost (heartbeats and status changes)',
    applies: manyListeners,
    figure: (r) => [
      `${fmt(measured(r).loss)} heartbeats lost, ${fmt(measured(r).latency.flipsNeverDelivered)} of ` +
        `${fmt(measured(r).latency.flipsSent)} changes never delivered`,
      measured(r).loss === 0 && measured(r).latency.flipsNeverDelivered === 0,
    ],
  },
  {
    target: 'CPU per delivery (server + Redis + PostgreSQL) under 45 µs',
    applies: manyListeners,
    figure: (r) => {
      const d = measured(r).delivery;
      return [
        `${d.cpuPerDeliveryUs} µs (${fmt(d.framesPerS)} status frames/s; server ${d.serverUs}, Redis ${d.redisUs}, ` +
          `PostgreSQL ${d.postgresUs} µs)`,
        d.cpuPerDeliveryUs !== null && d.cpuPerDeliveryUs < 45,
      ];
    },
  },
  {
    target: 'no event-loop turn over 20 ms (10,000 sockets; lag max per timeline sample)',
    applies: manyListeners,
    figure: (r) => {
      const worst = Math.max(0, ...measured(r).timeline.map((row) => row[3]));
      return [`worst sample ${worst} ms (a sample every ${r.options.sampleS ?? 1} s)`, worst <= 20];
    },
  },
  {
    target: 'server RSS with 1,000,000 online users and no sockets under 1 GiB',
    applies: (r) => atLeastMillion(r) && r.options.listeners === 0 && r.online !== null,
    figure: (r) =>
      r.online.users < 0.99 * r.options.users
        ? [
            `not measured: ${fmt(r.online.users)} online after the warm-up (RSS ${fmt(r.online.rssMiB)} MiB settled)`,
            null,
          ]
        : [
            `${fmt(r.online.rssMiB)} MiB settled after the warm-up (${fmt(r.online.users)} online; peak during the ` +
              `measured phase ${fmt(measured(r).serverRssMaxMiB)} MiB)`,
            r.online.rssMiB * MIB < 1024 * MIB,
          ],
  },
  {
    target: 'Redis memory per online user under 300 bytes',
    applies: (r) => r.online?.redisBytesPerUser != null && r.online.users >= 100_000,
    figure: (r) => [
      `${fmt(r.online.redisBytesPerUser)} bytes (used_memory ${fmt(r.online.redisDeltaMiB, 1)} MiB more for ` +
        `${fmt(r.online.users)} online users)`,
      r.online.redisBytesPerUser < 300,
    ],
  },
];

/** [target, figure, 'met' | 'not met' | 'n/a'] for every target this run measures. */
export function evaluateTargets(report) {
  const rows = [];
  for (const t of TARGETS) {
    if (!t.applies(report)) continue;
    let figure;
    let met;
    try {
      [figure, met] = t.figure(report);
    } catch (error) {
      [figure, met] = [`n/a (${error.message})`, false];
    }
    rows.push([t.target, figure, met === null ? 'n/a' : met ? 'met' : 'not met']);
  }
  return rows;
}

/** The targets table as lines (none when the run measures no target). */
export function targetLines(rows) {
  if (rows.length === 0) return [];
  const width = Math.max(...rows.map((r) => r[0].length));
  return [
    '',
    'targets (issue 10 item 5)',
    `${'target'.padEnd(width)}  ${'met?'.padEnd(7)}  figure`,
    ...rows.map(([target, figure, met]) => `${target.padEnd(width)}  ${met.padEnd(7)}  ${figure}`),
  ];
}
