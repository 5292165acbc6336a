import { readFileSync } from 'node:fs';
import os from 'node:os';

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
