import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import * as hdr from 'hdr-histogram-js';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on every Linux that matters). */
const HZ = 100;

/** Wall-clock epoch milliseconds with sub-millisecond resolution, comparable across processes of one machine. */
export const nowMs = () => performance.timeOrigin + performance.now();

/** A latency histogram in microseconds, 1 µs to 1 hour, 3 significant digits. */
export function latencyHistogram() {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/**
 * p50/p95/p99/max of a microsecond histogram, in milliseconds.
 * @param {ReturnType<typeof latencyHistogram>} h
 */
export function percentilesMs(h) {
  const ms = (us) => Math.round(us / 10) / 100;
  if (h.totalCount === 0) return { count: 0, p50: null, p95: null, p99: null, max: null };
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
  };
}

/**
 * Parses Prometheus text into `name{labels}` → value (labels kept verbatim, sorted as the server wrote them).
 * @param {string} text
 * @returns {Map<string, number>}
 */
export function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/**
 * A metric summed over all its label sets.
 * @param {Map<string, number>} metrics
 * @param {string} name
 */
export function sumMetric(metrics, name) {
  let sum = 0;
  for (const [key, value] of metrics) if (key === name || key.startsWith(`${name}{`)) sum += value;
  return sum;
}

/**
 * The UDP packet counters by `result/reason`, e.g. `accepted/none`, `dropped/rate_limited`.
 * @param {Map<string, number>} metrics
 */
export function udpCounters(metrics) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const [key, value] of metrics) {
    if (!key.startsWith('presence_udp_packets_total{')) continue;
    const result = /result="([^"]*)"/.exec(key)?.[1] ?? '?';
    const reason = /reason="([^"]*)"/.exec(key)?.[1] ?? '?';
    out[`${result}/${reason}`] = value;
  }
  return out;
}

/**
 * Differences b − a of two counter records (missing keys count as 0).
 * @param {Record<string, number>} a
 * @param {Record<string, number>} b
 */
export function counterDelta(a, b) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[key] ?? 0) - (a[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

/**
 * CPU seconds (user + system) a process has used so far, or null when it is gone.
 * @param {number} pid
 */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / HZ;
  } catch {
    return null;
  }
}

/**
 * Resident set size of a process in bytes, or null when it is gone.
 * @param {number} pid
 */
export function rssBytes(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Machine-wide CPU jiffies: busy and total, from /proc/stat. */
export function machineCpu() {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = fields.map(Number);
  const idle = n[3] + n[4];
  const total = n.reduce((s, v) => s + v, 0);
  return { busy: total - idle, total };
}

/** The kernel's UDP counters (InDatagrams, RcvbufErrors, …) from /proc/net/snmp. */
export function kernelUdp() {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

/**
 * Polls a total until it stops moving (three equal reads 250 ms apart) or `timeoutMs` pass: a receiver has
 * drained its queues when its counters stand still.
 * @param {() => Promise<number>} read
 * @returns {Promise<boolean>} whether it stood still
 */
export async function drain(read, timeoutMs = 20_000) {
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
}
