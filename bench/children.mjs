import { fork } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/**
 * A forked worker with request/reply over IPC: `ask(message, replyType)` resolves with the next message of that
 * type, or rejects after `timeoutMs` or when the worker dies.
 */
export class Worker {
  /**
   * @param {string} script path of the .mjs worker
   * @param {string} name for error messages
   * @param {string[]} [execArgv]
   */
  constructor(script, name, execArgv = []) {
    this.name = name;
    this.child = fork(script, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.pid = this.child.pid;
    /** @type {{type: string, resolve: (m: any) => void, reject: (e: Error) => void, timer: NodeJS.Timeout}[]} */
    this.waiting = [];
    this.exited = false;
    this.child.on('message', (message) => {
      const index = this.waiting.findIndex((w) => w.type === message.type);
      if (index < 0) return;
      const [waiter] = this.waiting.splice(index, 1);
      clearTimeout(waiter.timer);
      waiter.resolve(message);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      for (const waiter of this.waiting.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`${name} exited (${signal ?? code}) while waiting for ${waiter.type}`));
      }
    });
  }

  /**
   * @param {object} message
   * @param {string} replyType
   * @param {number} timeoutMs
   * @returns {Promise<any>}
   */
  ask(message, replyType, timeoutMs) {
    return new Promise((resolve, reject) => {
      if (this.exited) return reject(new Error(`${this.name} is not running`));
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w.timer !== timer);
        reject(new Error(`${this.name}: no ${replyType} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.push({ type: replyType, resolve, reject, timer });
      this.child.send(message);
    });
  }

  /** Ends the worker: SIGTERM, then SIGKILL after a second. */
  async stop() {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 1_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A TCP port free right now on 127.0.0.1. */
export function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A UDP port free right now on 127.0.0.1. */
export function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
