import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { startEmbedded, TestClient } from './support/server.js';

describe('sockets per user', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startEmbedded({ demo: false, authSecret: 'cap-secret-0123456789', maxSocketsPerUser: 2 });
  });
  afterAll(() => server.close());

  it('closes the oldest connection of a user with 4009 when one more opens', async () => {
    const first = await TestClient.connect(server, 70);
    await first.next('presence.snapshot');
    const second = await TestClient.connect(server, 70);
    await second.next('presence.snapshot');
    const other = await TestClient.connect(server, 71);
    await other.next('presence.snapshot');
    const third = await TestClient.connect(server, 70);
    await third.next('presence.snapshot');
    expect(await first.waitClose()).toBe(4009);
    // The others stay: a frame still gets its answer on each.
    for (const client of [second, third, other]) {
      client.send({ type: 'presence.typing.start', conversation_id: 999 });
      expect((await client.next('error')).code).toBe('forbidden');
    }
    await Promise.all([second.close(), third.close(), other.close()]);
  });
});
