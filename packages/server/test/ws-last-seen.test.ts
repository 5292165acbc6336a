import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RunningServer } from '../src/app.js';
import { befriend, startEmbedded, TestClient } from './support/server.js';

/**
 * last_seen is the user's last activity, over real sockets: a socket that stops answering pings keeps the
 * time of its last answer, never the time the server gave up on it.
 */
describe('true last seen over WebSocket', () => {
  let server: RunningServer;
  beforeAll(async () => {
    // The ping period is half the timeout (at least 1 s): a silent socket is cut after two pings.
    server = await startEmbedded({
      presenceTimeoutMs: 2_000,
      heartbeatMinIntervalMs: 500,
      disconnectGraceMs: 200,
    });
    await befriend(server, 1, 2);
  });
  afterAll(() => server.close());

  it('announces a cut socket offline with last_seen at its last sign of life', async () => {
    const watcher = await TestClient.connect(server, 2);
    await watcher.next('presence.snapshot');
    // A phone that loses signal: the socket stays open but never answers a ping.
    const token = await server.mintToken(1);
    const silent = new WebSocket(`${server.wsUrl}?token=${token}`, { autoPong: false });
    const opened = Date.now();
    await once(silent, 'open');
    const online = await watcher.next('presence.status', (m) => m.user_id === 1 && m.status === 'online');
    const lastSign = Date.parse(online.last_seen ?? '');
    expect(lastSign).toBeGreaterThanOrEqual(opened - 5);

    const [code] = (await once(silent, 'close')) as [number];
    const cutAt = Date.now();
    expect(code).toBe(1006);
    const offline = await watcher.next('presence.status', (m) => m.user_id === 1 && m.status === 'offline');
    // The server took one to two ping periods (1 s each) to give up; none of that shows as activity.
    expect(cutAt - lastSign).toBeGreaterThanOrEqual(1_000);
    expect(offline.last_seen).toBe(online.last_seen);
    expect(offline.v).toBeGreaterThan(online.v);
    await watcher.close();
  });

  it('takes a pong as activity: a socket that answers pings moves last_seen', async () => {
    const watcher = await TestClient.connect(server, 2);
    await watcher.next('presence.snapshot');
    const client = await TestClient.connect(server, 1);
    const online = await watcher.next('presence.status', (m) => m.user_id === 1 && m.status === 'online');
    // Wait for the server's next ping and this client's automatic pong, then drop without a close frame: the
    // close is no activity, so only the pong can have moved last_seen.
    await once(client.socket, 'ping');
    client.socket.terminate();
    const offline = await watcher.next('presence.status', (m) => m.user_id === 1 && m.status === 'offline');
    expect(Date.parse(offline.last_seen ?? '')).toBeGreaterThan(Date.parse(online.last_seen ?? ''));
    await watcher.close();
  });
});
