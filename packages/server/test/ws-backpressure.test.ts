import { once } from 'node:events';
import type { Socket } from 'node:net';
import { CloseCodes } from '@presence/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RunningServer } from '../src/app.js';
import { api, graph, startEmbedded, TestClient } from './support/server.js';

const SLOW = 1;
const TYPIST = 2;
/** Both take part: each typing start and stop of the typist is a frame for the slow reader. */
const FLOODED = 700;
/** The typist alone: its own `is_typing: false` there tells it the server has worked through a round. */
const MARKER = 701;
/** Start/stop pairs per round: about 300 KiB of frames for the slow reader. */
const PAIRS_PER_ROUND = 2_000;
/** Far more than the kernel's socket buffers plus the gateway's 1 MiB limit hold on any sane machine. */
const MAX_FLOOD_BYTES = 16 * 1024 * 1024;

/** The client's TCP socket: `ws` keeps it private, and pausing it is what "stops reading" means. */
const tcpOf = (socket: WebSocket): Socket => (socket as unknown as { _socket: Socket })._socket;

async function slowConsumerDrops(server: RunningServer): Promise<number> {
  const metrics = (await api(server, 'GET', '/metrics')).body as string;
  return Number(/presence_ws_closed_total\{reason="slow_consumer"\} (\d+)/.exec(metrics)?.[1] ?? 0);
}

const typingFrame = (action: 'start' | 'stop', conversationId: number) =>
  JSON.stringify({ type: `presence.typing.${action}`, conversation_id: conversationId });

describe('WebSocket back-pressure (docs/protocol.md close codes)', () => {
  let server: RunningServer;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    // The flood is the point here: typing starts are not rate limited for this server.
    server = await startEmbedded({
      demo: false,
      authSecret: 'backpressure-secret-0123456789',
      sessionLimits: { typingPerSecond: 1_000_000, typingBurst: 1_000_000 },
    });
    await graph(server, 'PUT', `conversations/${FLOODED}`, { participant_ids: [SLOW, TYPIST] });
    await graph(server, 'PUT', `conversations/${MARKER}`, { participant_ids: [TYPIST] });
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.terminate();
  });
  afterAll(() => server.close());

  it('closes a client that stops reading with 4008 (slow consumer), which it sees once it reads again', async () => {
    const slow = await TestClient.connect(server, SLOW);
    sockets.push(slow.socket);
    await slow.next('presence.snapshot');
    tcpOf(slow.socket).pause();

    // The typist keeps reading (it takes part too) and paces the flood by rounds.
    const typist = new WebSocket(`${server.wsUrl}?token=${await server.mintToken(TYPIST)}`);
    sockets.push(typist);
    await once(typist, 'open');
    let roundDone = () => {};
    typist.on('message', (data) => {
      const message = JSON.parse(String(data)) as { conversation_id?: number; is_typing?: boolean };
      if (message.conversation_id === MARKER && message.is_typing === false) roundDone();
    });
    const frameBytes = JSON.stringify({
      type: 'presence.typing',
      user_id: TYPIST,
      conversation_id: FLOODED,
      is_typing: false,
    }).length;

    let flooded = 0;
    while ((await slowConsumerDrops(server)) === 0) {
      if (flooded > MAX_FLOOD_BYTES)
        throw new Error(`the server kept queuing for a client that does not read: ${flooded} bytes sent`);
      const worked = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the server did not work through a round')), 10_000);
        roundDone = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      for (let i = 0; i < PAIRS_PER_ROUND; i++) {
        typist.send(typingFrame('start', FLOODED));
        typist.send(typingFrame('stop', FLOODED));
      }
      typist.send(typingFrame('start', MARKER));
      typist.send(typingFrame('stop', MARKER));
      await worked;
      flooded += 2 * PAIRS_PER_ROUND * frameBytes;
    }

    // The server has given up on the slow reader; now that it reads again it must learn why.
    tcpOf(slow.socket).resume();
    expect(await slow.waitClose()).toBe(CloseCodes.SLOW_CONSUMER);
    // The typist, who kept reading, is still connected.
    expect(typist.readyState).toBe(WebSocket.OPEN);
  });
});
