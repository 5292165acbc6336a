import { PresenceClient, type PresenceClientOptions, PresenceRequestError } from '@presence/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Cleanup, freshPair, nextEvent, startTestServer, statusOf, type TestServer } from './support.js';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe('custom status through the SDK, against a real server', () => {
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

  it('set: the contact gets it as a status event, and the own store holds it when the call resolves', async () => {
    const { alice, bob } = await freshPair(server);
    const [a, b] = [await client(alice), await client(bob)];
    await Promise.all([a.connect(), b.connect()]);
    await statusOf(b, alice, 'online');
    const before = b.get(alice);
    expect(before?.custom).toBeNull();

    const seen = nextEvent(b, 'status', (s) => s.user_id === alice && s.custom !== null);
    const expiresAt = new Date(Date.now() + 3_600_000);
    const answer = await a.setCustomStatus({ emoji: '🍕', text: 'Lunch', expiresAt });
    const custom = { text: 'Lunch', emoji: '🍕', expires_at: expiresAt.toISOString() };
    expect(answer).toMatchObject({ user_id: alice, status: 'online', custom });
    expect(a.get(alice)?.custom).toEqual(custom);
    const change = await seen;
    expect(change).toMatchObject({ status: 'online', custom, previous: { custom: null } });
    expect(change.v).toBeGreaterThan(before?.v ?? 0);
    expect(b.get(alice)?.custom).toEqual(custom);

    // A new connection has it in its snapshot; a read over HTTP too.
    const late = await client(bob);
    await late.connect();
    expect(late.get(alice)?.custom).toEqual(custom);
    expect((await b.getStatuses([alice]))[0]?.custom).toEqual(custom);

    const cleared = nextEvent(b, 'status', (s) => s.user_id === alice && s.custom === null);
    expect(await a.clearCustomStatus()).toMatchObject({ user_id: alice, custom: null });
    expect(a.get(alice)?.custom).toBeNull();
    expect((await cleared).previous?.custom).toEqual(custom);
  });

  it('puts the answer in the store, also before any connection', async () => {
    const { alice } = await freshPair(server);
    const a = await client(alice);
    await a.setCustomStatus({ emoji: '🌴' });
    expect(a.get(alice)?.custom).toEqual({ text: null, emoji: '🌴', expires_at: null });
  });

  it('the answer and the frame of one change make one status event, whichever comes first', async () => {
    const { alice, bob } = await freshPair(server);
    const [a, b] = [await client(alice), await client(bob)];
    await Promise.all([a.connect(), b.connect()]);
    await statusOf(a, bob, 'online');
    const own: unknown[] = [];
    a.on('status', (s) => {
      if (s.user_id === alice) own.push(s.custom);
    });
    await a.setCustomStatus({ text: 'Focus' });
    // The barrier: Bob's change reaches this socket after the frame about Alice's.
    await b.setStatus('away');
    await statusOf(a, bob, 'away');
    expect(own).toEqual([{ text: 'Focus', emoji: null, expires_at: null }]);
  });

  it('expiry: the server clears it and says so; the SDK runs no timer of its own', async () => {
    const { alice, bob } = await freshPair(server);
    const [a, b] = [await client(alice), await client(bob)];
    await Promise.all([a.connect(), b.connect()]);
    await statusOf(b, alice, 'online');
    const expiresAt = new Date(Date.now() + 1500);
    const set = nextEvent(b, 'status', (s) => s.user_id === alice && s.custom !== null);
    await a.setCustomStatus({ text: 'in a meeting', expiresAt });
    await set;
    const [gone, ownGone] = await Promise.all([
      nextEvent(b, 'status', (s) => s.user_id === alice && s.custom === null),
      nextEvent(a, 'status', (s) => s.user_id === alice && s.custom === null),
    ]);
    // Not before the expiry: the clear came from the server, at the time it was asked for.
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt.getTime());
    expect(gone.previous?.custom?.text).toBe('in a meeting');
    expect(ownGone.status).toBe('online');
    expect([a.get(alice)?.custom, b.get(alice)?.custom]).toEqual([null, null]);
  });

  it('an offline user keeps it: the contact sees it beside offline, and after a reconnect', async () => {
    const { alice, bob } = await freshPair(server);
    const [a, b] = [await client(alice), await client(bob)];
    await Promise.all([a.connect(), b.connect()]);
    await statusOf(b, alice, 'online');
    await a.setCustomStatus({ emoji: '✈️', text: 'Flying' });
    const offline = nextEvent(b, 'status', (s) => s.user_id === alice && s.status === 'offline');
    await a.goOffline();
    expect((await offline).custom).toEqual({ text: 'Flying', emoji: '✈️', expires_at: null });
    const later = await client(bob);
    await later.connect();
    expect(later.get(alice)).toMatchObject({ status: 'offline', custom: { text: 'Flying' } });
  });

  it('rejects what the server refuses with its 400, and arguments of the wrong type at once', async () => {
    const { alice, bob } = await freshPair(server);
    const [a, b] = [await client(alice), await client(bob)];
    await Promise.all([a.connect(), b.connect()]);
    await statusOf(b, alice, 'online');
    const seen: unknown[] = [];
    b.on('status', (s) => {
      if (s.user_id === alice) seen.push(s.custom);
    });
    const refused = async (input: Parameters<PresenceClient['setCustomStatus']>[0]) => {
      const error = await a.setCustomStatus(input).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, JSON.stringify(input)).toBeInstanceOf(PresenceRequestError);
      expect(error).toMatchObject({ status: 400, code: 'bad_request' });
    };
    await refused({});
    await refused({ text: 'x'.repeat(129) });
    await refused({ emoji: '😀'.repeat(17) });
    await refused({ text: 'line\nbreak' });
    await refused({ text: 'x', expiresAt: 'tomorrow' });
    expect(() => a.setCustomStatus({ text: 7 as never })).toThrow(TypeError);
    expect(() => a.setCustomStatus({ text: 'x', expiresAt: new Date(Number.NaN) })).toThrow(TypeError);

    // Counted in code points, not UTF-16 units: 128 emoji are 256 units and fine. Its event is the barrier:
    // the refused calls before it changed nothing the contact could see.
    const text = '😀'.repeat(128);
    const accepted = nextEvent(b, 'status', (s) => s.user_id === alice && s.custom !== null);
    expect((await a.setCustomStatus({ text })).custom?.text).toBe(text);
    await accepted;
    expect(seen).toEqual([{ text, emoji: null, expires_at: null }]);
  });
});
