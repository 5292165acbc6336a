import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Lifecycle } from '../src/lifecycle.js';
import { startEmbedded } from './support/server.js';

/** A TCP port the system just handed out and took back: free now, and nobody else's. */
async function freeTcpPort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('start-up and shutdown', () => {
  it('closes in reverse order, and goes on past a component that fails to close', async () => {
    const lifecycle = new Lifecycle();
    const closed: string[] = [];
    lifecycle.defer('database', () => closed.push('database'));
    lifecycle.defer('bus', () => {
      throw new Error('bus would not close');
    });
    lifecycle.defer('http', async () => closed.push('http'));
    const failures: string[] = [];
    await lifecycle.closeAll((_, name) => failures.push(name));
    expect(closed).toEqual(['http', 'database']);
    expect(failures).toEqual(['bus']);
  });

  it('closes the HTTP listener it opened when the UDP port cannot be bound', async () => {
    const taken = createSocket('udp4');
    taken.bind(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = await freeTcpPort();
    try {
      await expect(startEmbedded({ port, udpPort: taken.address().port })).rejects.toThrow(/EADDRINUSE/);
      // The HTTP port is free again: binding it succeeds.
      const again = createServer();
      again.listen(port, '127.0.0.1');
      await once(again, 'listening');
      await new Promise((resolve) => again.close(resolve));
    } finally {
      taken.close();
    }
  });
});
