/**
 * The server's CPU profile over the measured phase, taken through its inspector, and summaries of a V8 CPU
 * profile (the inspector's Profiler.stop result, or a .cpuprofile file).
 */
import { writeFileSync } from 'node:fs';
import { inspector } from './inspector.mjs';

/** Sampling interval in µs: twice V8's default rate, for more samples in a phase of seconds. */
const SAMPLING_INTERVAL_US = 500;

/**
 * Starts the server's profiler. `stop(file)` writes the .cpuprofile to `file` and returns where the time went.
 * @param {number} inspectPort
 */
export async function startProfiler(inspectPort) {
  const session = await inspector(inspectPort);
  await session.call('Profiler.enable');
  await session.call('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
  await session.call('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.call('Profiler.stop');
      session.close();
      writeFileSync(file, JSON.stringify(profile));
      return { file, byAppFrame: byAppFrame(profile), bySelf: bySelf(profile) };
    },
  };
}

const short = (url) => url.replace(/^.*\/(node_modules|packages)\//, '$1/');

/**
 * Busy samples (idle left out) by the innermost frame of this repository on the stack, with the library below
 * it when there is one: where the server's own code spends the CPU, e.g. `pipeline server/dist/store/... [ioredis]`.
 * @param {{nodes: any[], samples: number[]}} profile
 * @param {number} [top]
 * @returns {[number, string][]} [share of busy samples %, where]
 */
export function byAppFrame(profile, top = 20) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const hits = new Map();
  for (const sample of profile.samples) hits.set(sample, (hits.get(sample) ?? 0) + 1);
  const totals = new Map();
  let busy = 0;
  for (const node of profile.nodes) {
    const count = hits.get(node.id) ?? 0;
    if (count === 0 || node.callFrame.functionName === '(idle)') continue;
    busy += count;
    let tag = node.callFrame.functionName || '(anonymous)';
    let library = '';
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const { url, functionName, lineNumber } = byId.get(id).callFrame;
      if (!library) library = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? '';
      if (url.includes('/packages/')) {
        tag = `${functionName || '(anonymous)'} ${short(url)}:${lineNumber + 1}`;
        break;
      }
    }
    const key = library ? `${tag} [${library}]` : tag;
    totals.set(key, (totals.get(key) ?? 0) + count);
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, count]) => [Math.round((1000 * count) / busy) / 10, key]);
}

/**
 * Busy samples by function (self time).
 * @param {{nodes: any[], samples: number[]}} profile
 * @param {number} [top]
 * @returns {[number, string][]}
 */
export function bySelf(profile, top = 20) {
  const hits = new Map();
  for (const sample of profile.samples) hits.set(sample, (hits.get(sample) ?? 0) + 1);
  const totals = new Map();
  let busy = 0;
  for (const node of profile.nodes) {
    const count = hits.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (count === 0 || functionName === '(idle)') continue;
    busy += count;
    const key = `${functionName || '(anonymous)'}${url ? ` ${short(url)}:${lineNumber + 1}` : ''}`;
    totals.set(key, (totals.get(key) ?? 0) + count);
  }
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, count]) => [Math.round((1000 * count) / busy) / 10, key]);
}
