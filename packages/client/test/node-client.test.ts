import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createNodeClient, udpHeartbeat } from '../src/node.js';
import { Cleanup, freshPair, startTestServer, statusOf, type TestServer } from './support.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('Node client', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('heartbeats over UDP: away reaches a contact', async () => {
    const { alice, bob } = await freshPair(server);
    const connect = async (userId: number) => {
      const token = await server.mintToken(userId);
      const client = createNodeClient({
        url: server.httpUrl,
        token,
        WebSocket,
        udp: { port: server.udpPort },
      });
      cleanup.add(client, (c) => c.close());
      await client.connect();
      return client;
    };
    const a = await connect(alice);
    const b = await connect(bob);
    await statusOf(a, bob, 'online');

    const away = statusOf(a, bob, 'away');
    expect(await b.setStatus('away')).toBe('sent');
    await away;
  });

  it('refuses a datagram over 512 bytes instead of sending what the server would drop', async () => {
    const transport = cleanup.add(udpHeartbeat({ host: '127.0.0.1', port: 9 }), (t) => t.close?.());
    expect(await transport.send('online', 'x'.repeat(600), 1)).toBe('failed');
  });
});
