import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { api, startEmbedded, TestClient } from './support/server.js';

describe('the snapshot tells a page the truth about itself', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startEmbedded({ demo: false, authSecret: 'self-secret-0123456789' });
  });
  afterAll(() => server.close());

  it('carries `self`: the presence others see, which a heartbeat of the same device set before the page opened', async () => {
    const token = await server.mintToken(7);
    const beat = await api(server, 'POST', '/api/presence/heartbeat/', {
      token,
      body: { status: 'away', device: 'laptop' },
    });
    const client = await TestClient.connect(server, 7, { device: 'laptop' });
    const snapshot = await client.next('presence.snapshot');
    expect(snapshot.self).toEqual({
      user_id: 7,
      status: 'away',
      last_seen: expect.any(String),
      v: beat.body.v,
      clients: { web: 'away' },
      custom: null,
      invisible: false,
    });
    expect(snapshot.users.some((u) => u.user_id === 7)).toBe(false);
    await client.close();
  });

  it('shows a page opened beside an away device as online: its own device is active', async () => {
    const token = await server.mintToken(8);
    const beat = await api(server, 'POST', '/api/presence/heartbeat/', {
      token,
      body: { status: 'away', device: 'phone', client: 'mobile' },
    });
    const client = await TestClient.connect(server, 8);
    const snapshot = await client.next('presence.snapshot');
    expect(snapshot.self).toMatchObject({ status: 'online', clients: { web: 'online', mobile: 'away' } });
    expect(snapshot.self?.v).toBeGreaterThan(beat.body.v);
    await client.close();
  });
});
