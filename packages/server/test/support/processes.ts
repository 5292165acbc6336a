import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { signUserToken, tokenKey } from '../../src/auth/tokens.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export interface ChildServer {
  wsUrl: string;
  httpUrl: string;
  udpPort: number;
  child: ChildProcess;
  mintToken(userId: number): Promise<string>;
  /** Ends the process as a crash would: no shutdown code runs. */
  crash(): Promise<void>;
  /** Resolves once a line of the process's output (stdout or stderr, past or future) contains `text`. */
  waitForLine(text: string, timeoutMs?: number): Promise<string>;
}

/** Runs the CLI's `serve` from source (through tsx), with free ports unless `env` says otherwise. */
export function spawnCli(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/cli/main.ts', 'serve'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', UDP_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * `presence serve` in a process of its own (from source, through tsx), so a test can kill it for real. It has
 * started once it logs `presence listening` (with WORKERS above 1: once every worker listens).
 */
export async function spawnServer(
  env: Record<string, string>,
  { startTimeoutMs = 30_000 }: { startTimeoutMs?: number } = {},
): Promise<ChildServer> {
  const child = spawnCli(env);
  let output = '';
  const lineWaiters = new Set<(output: string) => void>();
  const started = new Promise<{ http: string; ws: string; udpPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), startTimeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk;
      for (const waiter of lineWaiters) waiter(output);
      for (const line of output.split('\n')) {
        if (!line.includes('presence listening')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk;
      for (const waiter of lineWaiters) waiter(output);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${output}`));
    });
  });
  const info = await started;
  const key = tokenKey(env.AUTH_SECRET as string);
  return {
    httpUrl: info.http,
    wsUrl: info.ws,
    udpPort: info.udpPort,
    child,
    mintToken: (userId) => signUserToken(key, userId, 3_600),
    async crash() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    waitForLine(text, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (all: string) => {
          const line = all.split('\n').find((l) => l.includes(text));
          if (line === undefined) return false;
          clearTimeout(timer);
          lineWaiters.delete(check);
          resolve(line);
          return true;
        };
        const timer = setTimeout(() => {
          lineWaiters.delete(check);
          reject(new Error(`no line with ${JSON.stringify(text)} within ${timeoutMs} ms: ${output}`));
        }, timeoutMs);
        if (!check(output)) lineWaiters.add(check);
      });
    },
  };
}

/** Resolves once a spawned redis-server says it accepts connections; rejects if it exits or takes too long. */
export function redisReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${output}`));
    });
  });
}

/** A redis-server of the test's own on a free port, which the test may stop and start again. */
export class OwnRedis {
  private process: ChildProcess | null = null;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.process = child;
    await redisReady(child, 10_000);
  }

  /** Freezes the server (SIGSTOP): connections stay open and nothing answers, like a hung host. */
  freeze(): void {
    this.process?.kill('SIGSTOP');
  }

  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void {
    this.process?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    this.process = null;
    const exited = once(child, 'exit');
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }
}
