import { readFileSync } from 'node:fs';
import os from 'node:os';
import { sleep } from './children.mjs';
import { round } from './figures.mjs';
import { log } from './report.mjs';
import { machineCpu } from './stats.mjs';

/** Above this share of the machine already busy, another job would skew every figure of the run. */
const BUSY_WARNING = 0.15;

/** What the figures were measured on: CPU model and count, memory, Node, kernel, Redis and PostgreSQL versions. */
export function describeMachine({ redisVersion = null, postgresVersion = null } = {}) {
  const cpus = os.cpus();
  let distro = null;
  try {
    distro = /PRETTY_NAME="([^"]*)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? null;
  } catch {
    // not Linux, or no os-release
  }
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    distro,
    redis: redisVersion,
    postgres: postgresVersion,
  };
}

/**
 * How busy the machine is over one second before the bench starts anything (0..1), with a warning when it is
 * busy enough to skew the figures. The report prints it, so a figure can be judged by it later.
 */
export async function checkIdle() {
  const before = machineCpu();
  await sleep(1_000);
  const after = machineCpu();
  const busy = round((after.busy - before.busy) / (after.total - before.total), 2);
  if (busy > BUSY_WARNING)
    log(
      `warning: the machine is already ${Math.round(busy * 100)}% busy before the bench starts; figures will be skewed`,
    );
  return busy;
}

/** The 1, 5 and 15 minute load averages (what `uptime` prints), to judge later how busy the machine was. */
export function loadAverage() {
  return os.loadavg().map((l) => round(l, 2));
}

/** `node bench/machine.mjs`: the machine and the versions of the local Redis and PostgreSQL, as JSON. */
async function printMachine() {
  const { redisInfo } = await import('./setup.mjs');
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  const postgresVersion = (await client.query('show server_version')).rows[0].server_version;
  await client.end();
  const { version: redisVersion } = await redisInfo('redis://127.0.0.1:6379');
  console.log(JSON.stringify(describeMachine({ redisVersion, postgresVersion }), null, 2));
}

if (process.argv[1] === new URL(import.meta.url).pathname) await printMachine();
