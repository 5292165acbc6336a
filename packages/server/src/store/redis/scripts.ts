import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './replies.js';

/** One script per file in lua/, named after the file. */
const SCRIPT_NAMES = [
  'heartbeats',
  'connect',
  'set-status',
  'bump-version',
  'disconnect',
  'touch',
  'activity',
  'register-process',
  'expire',
  'fill',
  'restore',
  'custom-set',
  'custom-expire',
  'typing-start',
  'typing-stop',
  'lease-acquire',
  'lease-release',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

// Read once at import, so a build that forgot to copy lua/ next to the compiled modules (tsc copies only
// JavaScript) fails at start-up rather than on the first heartbeat.
const readLua = (file: string): string => readFileSync(new URL(`./lua/${file}.lua`, import.meta.url), 'utf8');
const PRELUDE = readLua('prelude');
const SOURCES = new Map(SCRIPT_NAMES.map((name) => [name, PRELUDE + readLua(name)]));

const commandName = (name: ScriptName): string => `presence:${name}`;

/**
 * Teaches a client every script (ioredis then sends EVALSHA and loads a script the server lacks). Each call
 * passes its number of keys first, since the heartbeat and touch scripts take as many keys as users.
 */
export function defineScripts(redis: RedisClient): void {
  for (const [name, lua] of SOURCES) {
    const command = commandName(name);
    if (!(command in redis)) redis.defineCommand(command, { lua });
  }
}

type ScriptCall = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => unknown;

function call(
  target: RedisClient | ChainableCommander,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): unknown {
  const script = (target as unknown as Record<string, ScriptCall>)[commandName(name)];
  if (script === undefined) throw new Error(`Redis script ${name} is not defined on this client`);
  return script.call(target, keys.length, ...keys, ...args);
}

/** Runs a script on a client that went through `defineScripts`; every key it touches is in `keys`. */
export function runScript(
  redis: RedisClient,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  return call(redis, name, keys, args) as Promise<unknown>;
}

/** Queues a script on a pipeline of such a client. */
export function queueScript(
  pipe: ChainableCommander,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): void {
  call(pipe, name, keys, args);
}
