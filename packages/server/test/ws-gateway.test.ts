import { once } from 'node:events';
import { connect as connectTcp } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RunningServer } from '../src/app.js';
import { api, befriend, graph, startEmbedded, TestClient } from './support/server.js';

describe('WebSocket gateway (contract section 8)', () => {
  let server: RunningServer;
  const clients: TestClient[] = [];
  const connect = async (userId: number) => {
    const client = await TestClient.connect(server, userId);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startEmbedded({
      disconnectGraceMs: 300,
      typingTtlMs: 400,
      demo: false,
      authSecret: 'ws-secret-0123456789',
    });
    await befriend(server, 1, 2);
    await befriend(server, 1, 3);
    await graph(server, 'PUT', 'conversations/10', { participant_ids: [1, 2, 4] });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(() => server.close());

  it('refuses an upgrade without a token or with a bad one with HTTP 401', async () => {
    for (const url of [server.wsUrl, `${server.wsUrl}?token=nope`]) {
      const socket = new WebSocket(url);
      socket.on('error', () => {});
      const [, response] = (await once(socket, 'unexpected-response')) as [unknown, { statusCode: number }];
      expect(response.statusCode).toBe(401);
      socket.terminate();
    }
  });

  it('answers a malformed upgrade target with 400 and stays up', async () => {
    const socket = connectTcp(server.port, '127.0.0.1');
    socket.write(
      'GET //[x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    await once(socket, 'close');
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect((await api(server, 'GET', '/healthz')).status).toBe(200);
  });

  it('accepts the token in the Authorization header too', async () => {
    const token = await server.mintToken(50);
    const socket = new WebSocket(server.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    const [data] = (await once(socket, 'message')) as [Buffer];
    expect(JSON.parse(String(data))).toEqual({
      type: 'presence.snapshot',
      users: [],
      self: {
        user_id: 50,
        status: 'online',
        last_seen: expect.any(String),
        v: expect.any(Number),
        clients: { web: 'online' },
        custom: null,
        invisible: false,
      },
    });
    socket.close();
    await once(socket, 'close');
  });

  it('sends the snapshot of visible(me) first, then transitions of friends and of me', async () => {
    await api(server, 'POST', '/api/presence/heartbeat', {
      token: await server.mintToken(3),
      body: { status: 'away' },
    });
    const alice = await connect(1);
    const snapshot = await alice.next('presence.snapshot');
    const byId = Object.fromEntries(snapshot.users.map((u) => [u.user_id, u.status]));
    expect(byId).toEqual({ 2: 'offline', 3: 'away', 4: 'offline' });
    // My own transition reaches my own connections.
    expect(await alice.next('presence.status', (m) => m.user_id === 1)).toMatchObject({ status: 'online' });

    const bob = await connect(2);
    await bob.next('presence.snapshot');
    const seen = await alice.next('presence.status', (m) => m.user_id === 2);
    expect(seen).toEqual({
      type: 'presence.status',
      user_id: 2,
      status: 'online',
      last_seen: expect.any(String),
      v: expect.any(Number),
      clients: { web: 'online' },
      custom: null,
    });
  });

  it('limits the snapshot to the 1000 most recently seen of visible(me)', async () => {
    const others = Array.from({ length: 1_100 }, (_, i) => 10_000 + i);
    await graph(server, 'PUT', 'conversations/77', { participant_ids: [9_000, ...others] });
    const recent = others.slice(-3);
    for (const userId of recent) {
      expect(
        (await api(server, 'POST', '/api/presence/heartbeat/', { token: await server.mintToken(userId) }))
          .status,
      ).toBe(200);
    }
    const client = await connect(9_000);
    const snapshot = await client.next('presence.snapshot');
    expect(snapshot.users).toHaveLength(1_000);
    expect(
      snapshot.users
        .slice(0, 3)
        .map((u) => u.user_id)
        .sort(),
    ).toEqual(recent);
    expect(snapshot.users[0]?.status).toBe('online');
  });

  it('does not tell a stranger anything', async () => {
    await befriend(server, 20, 21);
    const stranger = await connect(99);
    expect((await stranger.next('presence.snapshot')).users).toEqual([]);
    const watcher = await connect(20);
    await watcher.next('presence.snapshot');
    const friend = await connect(21);
    await friend.next('presence.snapshot');
    await watcher.next('presence.status', (m) => m.user_id === 21 && m.status === 'online');
    await friend.close();
    await watcher.next('presence.status', (m) => m.user_id === 21 && m.status === 'offline');
    // The stranger saw its own transition and nothing of 20's or 21's.
    expect(await stranger.next('presence.status', (m) => m.user_id === 99)).toMatchObject({
      status: 'online',
    });
    // Barrier: the stranger's own later transition takes the same path (service, bus, gateway) to the same
    // socket as a leak of 21's offline would, so once it is here such a leak would be here too.
    stranger.send({ type: 'presence.status.set', status: 'away' });
    await stranger.next('presence.status', (m) => m.user_id === 99 && m.status === 'away');
    expect(stranger.received).toEqual([]);
  });

  it('keeps a user online through a quick reconnect: nobody sees a flap', async () => {
    await befriend(server, 30, 31);
    const watcher = await connect(30);
    await watcher.next('presence.snapshot');
    const bob = await connect(31);
    await bob.next('presence.snapshot');
    await watcher.next('presence.status', (m) => m.user_id === 31 && m.status === 'online');
    await bob.close();
    const again = await connect(31);
    await again.next('presence.snapshot');
    // Then a real disconnect: offline after the grace, with last_seen at the close, not at the detection.
    const closedAt = Date.now();
    await again.close();
    const offline = await watcher.next(
      'presence.status',
      (m) => m.user_id === 31 && m.status === 'offline',
      5_000,
    );
    const lastSeen = Date.parse(offline.last_seen as string);
    expect(lastSeen).toBeGreaterThanOrEqual(closedAt - 50);
    expect(lastSeen).toBeLessThan(closedAt + 250);
    // Barrier: the watcher's own later transition comes down the same path to the same socket, after
    // anything about 31 already on its way.
    watcher.send({ type: 'presence.status.set', status: 'away' });
    await watcher.next('presence.status', (m) => m.user_id === 30 && m.status === 'away');
    expect(watcher.received.filter((m) => m.type === 'presence.status' && m.user_id === 31)).toEqual([]);
  });

  it('relays typing to participants, once per run, and clears it on stop and on expiry', async () => {
    const alice = await connect(1);
    const bob = await connect(2);
    const outsider = await connect(3);
    await Promise.all([
      alice.next('presence.snapshot'),
      bob.next('presence.snapshot'),
      outsider.next('presence.snapshot'),
    ]);
    alice.send({ type: 'presence.typing.start', conversation_id: 10 });
    alice.send({ type: 'presence.typing.start', conversation_id: 10 });
    expect(await bob.next('presence.typing')).toEqual({
      type: 'presence.typing',
      user_id: 1,
      conversation_id: 10,
      is_typing: true,
    });
    alice.send({ type: 'presence.typing.stop', conversation_id: 10 });
    expect(await bob.next('presence.typing')).toMatchObject({ user_id: 1, is_typing: false });
    expect(bob.received.filter((m) => m.type === 'presence.typing')).toEqual([]);

    const started = Date.now();
    alice.send({ type: 'presence.typing.start', conversation_id: 10 });
    await bob.next('presence.typing', (m) => m.is_typing);
    const cleared = await bob.next('presence.typing', (m) => !m.is_typing, 3_000);
    expect(cleared.user_id).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(outsider.received.filter((m) => m.type === 'presence.typing')).toEqual([]);
  });

  it('answers status changes past the per-connection limit with rate_limited, and keeps the connection', async () => {
    const client = await connect(40);
    await client.next('presence.snapshot');
    // The limit allows bursts of 10: a burst of 12 leaves at least the last one unapplied.
    for (let i = 0; i < 12; i++)
      client.send({ type: 'presence.status.set', status: i % 2 ? 'away' : 'online' });
    expect((await client.next('error')).code).toBe('rate_limited');
    client.send({ type: 'presence.typing.start', conversation_id: 999 });
    expect((await client.next('error', (m) => m.code === 'forbidden')).code).toBe('forbidden');
  });

  it('sets away over the socket without a heartbeat: closing still means offline after the grace', async () => {
    await befriend(server, 40, 41);
    const watcher = await connect(40);
    await watcher.next('presence.snapshot');
    const user = await connect(41);
    await user.next('presence.snapshot');
    await watcher.next('presence.status', (m) => m.user_id === 41 && m.status === 'online');
    user.send({ type: 'presence.status.set', status: 'away' });
    expect(await watcher.next('presence.status', (m) => m.user_id === 41)).toMatchObject({ status: 'away' });
    user.send({ type: 'presence.status.set', status: 'offline' });
    expect((await user.next('error')).code).toBe('bad_frame');
    await user.close();
    const offline = await watcher.next('presence.status', (m) => m.user_id === 41, 3_000);
    expect(offline.status).toBe('offline');
  });

  it('answers typing by a non-participant with an error frame and keeps the connection', async () => {
    const carol = await connect(3);
    await carol.next('presence.snapshot');
    carol.send({ type: 'presence.typing.start', conversation_id: 10 });
    expect(await carol.next('error')).toEqual({
      type: 'error',
      code: 'forbidden',
      message: expect.any(String),
    });
    carol.send({ type: 'presence.typing.start', conversation_id: 12345 });
    expect((await carol.next('error')).code).toBe('forbidden');
    expect(carol.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('answers malformed frames with error frames, and closes on abuse with 1008', async () => {
    const client = await connect(60);
    await client.next('presence.snapshot');
    for (const frame of [
      'not json',
      '[]',
      '{"type":"presence.typing.start"}',
      '{"type":"nope","conversation_id":1}',
      '{"type":"presence.typing.start","conversation_id":-4}',
    ]) {
      client.send(frame);
      expect((await client.next('error')).code, frame).toBe('bad_frame');
    }
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await client.next('error')).code).toBe('bad_frame');
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    for (let i = 0; i < 30; i++) client.send('garbage');
    expect(await client.waitClose()).toBe(1008);
  });

  it('closes a connection that sends a frame over 4 KiB with 1009', async () => {
    const client = await connect(61);
    await client.next('presence.snapshot');
    client.send(
      JSON.stringify({ type: 'presence.typing.start', conversation_id: 10, pad: 'x'.repeat(5_000) }),
    );
    expect(await client.waitClose()).toBe(1009);
  });

  it('closes a connection with 4001 when its token expires', async () => {
    const token = await server.mintToken(63, 1);
    const socket = new WebSocket(`${server.wsUrl}?token=${token}`);
    const [code] = (await once(socket, 'close')) as [number];
    expect(code).toBe(4001);
  });

  it('counts open connections in /metrics', async () => {
    const before = await api(server, 'GET', '/metrics');
    const open = Number(/presence_ws_connections (\d+)/.exec(before.body)?.[1]);
    const client = await connect(62);
    await client.next('presence.snapshot');
    const after = await api(server, 'GET', '/metrics');
    expect(after.body).toContain(`presence_ws_connections ${open + 1}`);
  });
});
