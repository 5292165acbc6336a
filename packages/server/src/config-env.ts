import { availableParallelism } from 'node:os';

/** The readers of environment variables: each answers the value or a ConfigError naming the variable. */

export interface RedisNode {
  host: string;
  port: number;
}

/**
 * How many shards the keys that span users (online set, processes, typing index and typing sets) are split
 * into on a Redis Cluster, each shard one hash tag `{N}` and so one slot. Fixed, not a setting: a user's shard
 * is its id modulo this number, so changing it moves every user's keys, and every process must agree on it.
 * 64 spreads evenly over a few masters (21/22/21 on the default slot split of three) and leaves room to grow
 * to 64 masters; a larger number only adds calls to each process's periodic walks over every shard (refresh,
 * sweep, typing sweep: 64 small calls each).
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly expected: string,
    readonly value?: string,
  ) {
    super(`Invalid ${variable}${value === undefined ? '' : ` (${JSON.stringify(value)})`}: ${expected}`);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

export function text(env: Env, name: string, fallback: string): string {
  const raw = env[name];
  return raw === undefined || raw === '' ? fallback : raw;
}

export function optional(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

export function integer(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[0-9]+$/.test(raw.trim()))
    throw new ConfigError(name, `expected a whole number from ${min} to ${max}`, raw);
  const value = Number(raw.trim());
  if (value < min || value > max)
    throw new ConfigError(name, `expected a whole number from ${min} to ${max}`, raw);
  return value;
}

/**
 * WORKERS: a whole number, or `auto` for one per core; `auto` without shared state (REDIS_URL and DATABASE_URL)
 * is 1, since the embedded default belongs to one process.
 */
export function workers(env: Env, shared: boolean): number {
  const raw = env.WORKERS?.trim();
  if (raw === 'auto') return shared ? availableParallelism() : 1;
  return integer(env, 'WORKERS', 1, 1, 1_024);
}

export function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new ConfigError(name, 'expected 1 or 0', raw);
}

export function url(env: Env, name: string, schemes: string[]): string | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `expected a URL starting with ${schemes.join(' or ')}`);
  }
  // The URL may hold a password: never echo it back.
  if (!schemes.includes(parsed.protocol))
    throw new ConfigError(name, `expected a URL starting with ${schemes.join(' or ')}`);
  return raw;
}

export function redisNodes(env: Env, name: string): RedisNode[] | undefined {
  const raw = optional(env, name);
  return raw === undefined ? undefined : parseRedisNodes(raw, name);
}

/** `host:port,host:port,…`: the seed nodes of a Redis Cluster; a ConfigError naming `name` for a bad one. */
export function parseRedisNodes(raw: string, name = 'REDIS_CLUSTER_NODES'): RedisNode[] {
  return raw.split(',').map((entry) => {
    const node = entry.trim();
    const match = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):([0-9]{1,5})$/.exec(node);
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65535) {
      throw new ConfigError(
        name,
        'expected comma-separated host:port seed nodes of a Redis Cluster, like 10.0.0.1:7000,10.0.0.2:7000',
        node,
      );
    }
    return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
  });
}

/** A comma-separated list of origins (scheme, host, optional port: what a browser sends as `Origin`). */
export function origins(env: Env, name: string): string[] | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  const expected =
    'expected comma-separated origins like https://chat.example.com (no path, no trailing slash)';
  return raw.split(',').map((entry) => {
    const origin = entry.trim();
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigError(name, expected, origin);
    }
    if (!['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError(name, expected, origin);
    }
    return origin;
  });
}
