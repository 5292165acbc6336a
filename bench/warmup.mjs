/**
 * The warm-up: every user seen at least once before anything is measured. First sight costs a token
 * verification, a user insert and an online transition with its fan-out; the measured phase is about the
 * steady state, not that cold start.
 */
import { sleep } from './children.mjs';
import { round } from './figures.mjs';
import { fmt, log } from './report.mjs';
import { counterDelta, drain, sumMetric, udpCounters } from './stats.mjs';

/**
 * At most this many heartbeats/s, on the server and on the ceiling: every packet of a warm-up is a first
 * sight, so a faster warm-up would measure a mass login instead of filling the caches.
 */
const WARMUP_RATE = 10_000;
/** Even a handful of users warms up for this long. */
const MIN_WARMUP_MS = 5_000;

/** The warm-up's rate and length: one pass over the users. */
export function warmupPlan({ users, rate }) {
  const warmupRate = Math.min(rate, WARMUP_RATE);
  return { rate: warmupRate, ms: Math.max((users * 1000) / warmupRate, MIN_WARMUP_MS) };
}

/**
 * Warms the server up, then waits until every heartbeating user is online (a stuck server also has still
 * counters) and the server is quiet: no more packets handled and no more transitions broadcast (the fan-out
 * of the mass online).
 */
export async function warmUp(options, server, workers) {
  const plan = warmupPlan(options);
  log(`warm-up: ${fmt(plan.ms / 1000, 1)} s at ${fmt(plan.rate)}/s so every user has been seen`);
  const udp0 = udpCounters(await server.scrape());
  const started = Date.now();
  const warmup = await workers.drive(server.udpPorts, plan.rate, plan.ms, false);
  const warmupEnded = Date.now();
  const onlineTarget = Math.min(options.users, warmup.sent);
  const onlineDeadline = Date.now() + Math.max(60_000, options.users / 5);
  let online = 0;
  /** Seconds from the first packet of the cold start until every user was online (null: not within the wait). */
  let allOnlineAfterS = null;
  let onlinePeak = 0;
  while (Date.now() < onlineDeadline) {
    online = (await server.scrape()).get('presence_online_users') ?? 0;
    onlinePeak = Math.max(onlinePeak, online);
    if (online >= onlineTarget) {
      allOnlineAfterS = round((Date.now() - started) / 1000, 1);
      break;
    }
    await sleep(500);
  }
  const quiet = await drain(async () => {
    const metrics = await server.scrape();
    const udp = Object.values(udpCounters(metrics)).reduce((s, v) => s + v, 0);
    return (
      udp + sumMetric(metrics, 'presence_broadcasts_total') + sumMetric(metrics, 'presence_transitions_total')
    );
  }, 120_000);
  const settledAfterS = round((Date.now() - warmupEnded) / 1000, 1);
  const udp = counterDelta(udp0, udpCounters(await server.scrape()));
  const accepted = udp['accepted/none'] ?? 0;
  if (online < onlineTarget || !quiet)
    log(`warning: after the warm-up ${fmt(online)} of ${fmt(onlineTarget)} users online, quiet: ${quiet}`);
  await sleep(2_000);
  log(
    `warm-up sent ${fmt(warmup.sent)}; settled ${settledAfterS} s after the last packet; online users ${fmt(online)}`,
  );
  return {
    rate: plan.rate,
    seconds: round(plan.ms / 1000, 1),
    sent: warmup.sent,
    online,
    onlinePeak,
    onlineTarget,
    allOnlineAfterS,
    accepted,
    acceptedPerS: Math.round(accepted / (warmup.elapsedMs / 1000)),
    lost: warmup.sent - accepted - (udp['dropped/rate_limited'] ?? 0),
    droppedByReason: Object.fromEntries(Object.entries(udp).filter(([k]) => k.startsWith('dropped/'))),
    quiet,
    settledAfterS,
  };
}
