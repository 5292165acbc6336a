import { PresenceClient, type PresenceClientOptions, PresenceRequestError } from '@presence/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Cleanup, freshPair, nextEvent, startTestServer, statusOf, type TestServer } from './support.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('privacy settings through the SDK, against a real server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const client = async (userId: number, options: Partial<PresenceClientOptions> = {}) => {
    const token = await server.mintToken(userId);
    const created = new PresenceClient({ url: server.httpUrl, token, WebSocket, idle: false, ...options });
    return cleanup.add(created, (c) => c.close());
  };

  it('reads the defaults and answers each change with the whole settings object', async () => {
    const { alice } = await freshPair(server);
    const a = await client(alice);
    expect(await a.getSettings()).toEqual({ invisible: false, last_seen: 'everyone' });
    expect(await a.setLastSeenVisibility('friends')).toEqual({ invisible: false, last_seen: 'friends' });
    expect(await a.setInvisible(true)).toEqual({ invisible: true, last_seen: 'friends' });
    expect(await a.getSettings()).toEqual({ invisible: true, last_seen: 'friends' });
  });

  it('setInvisible: the contact sees offline, then online again; the own client keeps the truth', async () => {
    const { alice, bob } = await freshPair(server);
    const [a, b] = [await client(alice), await client(bob)];
    await Promise.all([a.connect(), b.connect()]);
    await statusOf(b, alice, 'online');
    const before = b.get(alice);

    const hidden = nextEvent(b, 'status', (s) => s.user_id === alice && s.status === 'offline');
    const own = nextEvent(a, 'status', (s) => s.user_id === alice);
    await a.setInvisible(true);
    expect(await hidden).toMatchObject({ last_seen: before?.last_seen, clients: {} });
    expect(await own).toMatchObject({ status: 'online' });
    expect(a.get(alice)?.status).toBe('online');

    const shown = nextEvent(b, 'status', (s) => s.user_id === alice && s.status === 'online');
    await a.setInvisible(false);
    await shown;
    expect(b.get(alice)?.status).toBe('online');
  });

  it('setLastSeenVisibility nobody: contacts get last_seen null, and so does its owner', async () => {
    const { alice, bob } = await freshPair(server);
    const [a, b] = [await client(alice), await client(bob)];
    await a.setLastSeenVisibility('nobody');
    await Promise.all([a.connect(), b.connect()]);
    await statusOf(b, alice, 'online');
    await statusOf(a, bob, 'online');
    expect(b.get(alice)?.last_seen).toBeNull();
    expect(a.get(bob)?.last_seen).toBeNull();
    expect(a.get(alice)?.last_seen).not.toBeNull();
  });

  it('refuses bad values before sending, and reports a refused token as a PresenceRequestError', async () => {
    const { alice } = await freshPair(server);
    const a = await client(alice);
    expect(() => a.setLastSeenVisibility('contacts' as never)).toThrow(TypeError);
    expect(() => a.setInvisible('yes' as never)).toThrow(TypeError);
    expect(await a.getSettings()).toEqual({ invisible: false, last_seen: 'everyone' });

    const bad = new PresenceClient({ url: server.httpUrl, token: 'not-a-token', WebSocket, idle: false });
    const error = await bad.setInvisible(true).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PresenceRequestError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('fetches a fresh token after a 401', async () => {
    const { alice } = await freshPair(server);
    const tokens = ['expired-or-bad', await server.mintToken(alice)];
    let calls = 0;
    const a = await client(alice, { token: async () => tokens[Math.min(calls++, 1)] as string });
    expect(await a.setLastSeenVisibility('nobody')).toEqual({ invisible: false, last_seen: 'nobody' });
    expect(calls).toBe(2);
  });
});
