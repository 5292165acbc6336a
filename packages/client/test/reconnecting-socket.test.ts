import { CloseCodes } from '@presence/protocol';
import { describe, expect, it } from 'vitest';
import { ReconnectingSocket, type Timers } from '../src/reconnecting-socket.js';
import { type WebSocketLike, WS_OPEN } from '../src/types.js';

/** A WebSocket the test drives by hand: it opens, receives and drops when told to. */
class FakeSocket implements WebSocketLike {
  static created: FakeSocket[] = [];
  static #waiting: Array<(socket: FakeSocket) => void> = [];
  readyState = 0;
  readonly sent: string[] = [];
  closedWith: number | undefined;
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.created.push(this);
    for (const resolve of FakeSocket.#waiting.splice(0)) resolve(this);
  }

  /** Resolves with the next socket constructed. */
  static next(): Promise<FakeSocket> {
    return new Promise((resolve) => FakeSocket.#waiting.push(resolve));
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }

  open(): void {
    this.readyState = WS_OPEN;
  }

  receive(data: unknown): void {
    (this.onmessage as ((event: { data: unknown }) => void) | null)?.({ data });
  }

  drop(code: number): void {
    this.readyState = 3;
    (this.onclose as ((event: { code: number }) => void) | null)?.({ code });
  }
}

/** Timers that fire only when the test says so, and remember the delays they were asked for. */
function manualTimers() {
  const pending: Array<{ callback: () => void; ms: number }> = [];
  const timers: Timers = {
    setTimeout(callback, ms) {
      const timer = { callback, ms };
      pending.push(timer);
      return timer;
    },
    clearTimeout(handle) {
      const index = pending.indexOf(handle as (typeof pending)[number]);
      if (index >= 0) pending.splice(index, 1);
    },
  };
  return {
    timers,
    pending,
    /** Fires the one pending timer and returns the delay it had. */
    fire(): number {
      expect(pending).toHaveLength(1);
      const timer = pending.shift() as (typeof pending)[number];
      timer.callback();
      return timer.ms;
    },
  };
}

function setup(
  url: () => string | Promise<string> = () => 'ws://test/ws',
  WebSocket: typeof FakeSocket = FakeSocket,
) {
  FakeSocket.created = [];
  const clock = manualTimers();
  const log: string[] = [];
  const socket = new ReconnectingSocket({
    WebSocket,
    url,
    backoff: { initialDelayMs: 100, maxDelayMs: 1000 },
    // The top of every jitter range, so that each delay shows which attempt it was.
    random: () => 1,
    timers: clock.timers,
    onConnecting: () => log.push('connecting'),
    onMessage: (text) => log.push(`message ${text}`),
    onClose: (code) => log.push(`close ${code}`),
    onFailure: (stage, error) => log.push(`failure ${stage} ${String(error)}`),
  });
  return { socket, clock, log };
}

describe('ReconnectingSocket', () => {
  it('connects to the URL of the moment, passes text frames on and sends once open', async () => {
    const { socket, log } = setup(async () => 'ws://test/ws?token=t1');
    const created = FakeSocket.next();
    socket.start();
    const ws = await created;
    expect(ws.url).toBe('ws://test/ws?token=t1');
    expect(socket.send('early')).toBe(false);
    ws.open();
    expect(socket.send('hello')).toBe(true);
    ws.receive('{"type":"x"}');
    ws.receive(new Uint8Array([1]));
    expect(ws.sent).toEqual(['hello']);
    expect(log).toEqual(['connecting', 'message {"type":"x"}']);
  });

  it('backs off exponentially after drops, and from the start again after resetBackoff()', async () => {
    const { socket, clock, log } = setup();
    let created = FakeSocket.next();
    socket.start();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const ws = await created;
      created = FakeSocket.next();
      ws.drop(1006);
      delays.push(clock.fire());
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000]);

    socket.resetBackoff();
    (await created).drop(1006);
    expect(clock.fire()).toBe(100);
    expect(log.filter((line) => line.startsWith('close'))).toHaveLength(6);
  });

  it('comes back after the shortest delay when the server goes away or the token expired', async () => {
    const { socket, clock } = setup();
    let created = FakeSocket.next();
    socket.start();
    const dropAndWait = async (code: number): Promise<number> => {
      const ws = await created;
      created = FakeSocket.next();
      ws.drop(code);
      return clock.fire();
    };
    expect(await dropAndWait(1006)).toBe(100);
    expect(await dropAndWait(1006)).toBe(200);
    expect(await dropAndWait(CloseCodes.GOING_AWAY)).toBe(100);
    expect(await dropAndWait(CloseCodes.TOKEN_EXPIRED)).toBe(100);
    // Neither counted as a failed attempt: the next drop goes on where the failures left off.
    expect(await dropAndWait(1006)).toBe(400);
  });

  it('does not come back after 4009: the user opened a newer connection, which must not be pushed out', async () => {
    const { socket, clock, log } = setup();
    const created = FakeSocket.next();
    socket.start();
    (await created).drop(CloseCodes.TOO_MANY_SOCKETS);
    expect(log).toContain('close 4009');
    expect(clock.pending).toHaveLength(0);
  });

  it('reports a URL that cannot be had, and tries again', async () => {
    let calls = 0;
    const { socket, clock, log } = setup(() => {
      calls++;
      if (calls === 1) throw new Error('no token');
      return 'ws://test/ws?token=t2';
    });
    socket.start();
    expect(log).toEqual(['connecting', 'failure url Error: no token']);
    const created = FakeSocket.next();
    expect(clock.fire()).toBe(100);
    expect((await created).url).toBe('ws://test/ws?token=t2');
  });

  it('reports a WebSocket constructor that throws, and tries again', async () => {
    class Refusing extends FakeSocket {
      constructor(url: string) {
        super(url);
        throw new SyntaxError(`bad url ${url}`);
      }
    }
    const { socket, clock, log } = setup(() => 'not a url', Refusing);
    let created = FakeSocket.next();
    socket.start();
    await created;
    expect(log).toEqual(['connecting', 'failure connect SyntaxError: bad url not a url']);
    created = FakeSocket.next();
    expect(clock.fire()).toBe(100);
    await created;
    expect(clock.fire()).toBe(200);
  });

  it('close() closes with 1000, reports it at once and stops reconnecting', async () => {
    const { socket, clock, log } = setup();
    const created = FakeSocket.next();
    socket.start();
    const ws = await created;
    ws.open();
    socket.close();
    expect(ws.closedWith).toBe(CloseCodes.NORMAL);
    expect(log).toEqual(['connecting', `close ${CloseCodes.NORMAL}`]);
    // The socket's own close event arrives later and must not count twice or bring a reconnect.
    ws.drop(CloseCodes.NORMAL);
    expect(log).toHaveLength(2);
    expect(clock.pending).toEqual([]);
    expect(socket.send('late')).toBe(false);
  });

  it('stop() abandons an attempt still waiting for its URL, and start() begins anew', async () => {
    let release = (_url: string) => {};
    const url = new Promise<string>((resolve) => {
      release = resolve;
    });
    const { socket, clock, log } = setup(() => url);
    socket.start();
    socket.stop();
    release('ws://test/ws');
    // The attempt awaited this promise first, so its continuation has run once this await returns.
    await url;
    expect(FakeSocket.created).toEqual([]);
    expect(clock.pending).toEqual([]);

    const created = FakeSocket.next();
    socket.start();
    expect((await created).url).toBe('ws://test/ws');
    expect(log).toEqual(['connecting', 'connecting']);
  });
});
