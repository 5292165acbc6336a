import { PresenceClient, type PresenceClientOptions } from '@presence/client';
import { ErrorCodes } from '@presence/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  Cleanup,
  freshPair,
  graphCall,
  nextEvent,
  startTestServer,
  statusOf,
  type TestServer,
} from './support.js';

const GRACE_MS = 300;
const cleanup = new Cleanup();
afterEach(() => cleanup.run());

interface Setup {
  server: TestServer;
  alice: number;
  bob: number;
  conversation: number;
  client(userId: number, options?: Partial<PresenceClientOptions>): Promise<PresenceClient>;
}

async function setup(server: TestServer): Promise<Setup> {
  const pair = await freshPair(server);
  return {
    server,
    ...pair,
    async client(userId, options = {}) {
      const token = await server.mintToken(userId);
      const client = new PresenceClient({ url: server.httpUrl, token, WebSocket, idle: false, ...options });
      return cleanup.add(client, (c) => c.close());
    },
  };
}

/** A `ws` WebSocket that records the frames it sends and the sockets it opened. */
function recordingWebSocket() {
  const sent: unknown[] = [];
  const sockets: WebSocket[] = [];
  class Recording extends WebSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
    override send(data: unknown, ...rest: never[]): void {
      if (typeof data === 'string') sent.push(JSON.parse(data));
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  }
  return { WebSocket: Recording, sent, sockets };
}

describe('PresenceClient against a real server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ disconnectGraceMs: GRACE_MS });
  });
  afterAll(() => server?.close());

  it('gets the snapshot, sees a contact come online, and offline after the grace', async () => {
    const { alice, bob, client } = await setup(server);
    const a = await client(alice);
    await a.connect();
    expect(a.get(bob)).toMatchObject({ user_id: bob, status: 'offline' });

    const b = await client(bob);
    const online = statusOf(a, bob, 'online');
    await b.connect();
    await online;

    const offline = nextEvent(a, 'status', (change) => change.user_id === bob && change.status === 'offline');
    b.close();
    const change = await offline;
    expect(change.previous?.status).toBe('online');
    expect(Date.parse(change.last_seen ?? '')).not.toBeNaN();
  });

  it('sends one typing start per TTL, a stop on stop(), and the other side sees both', async () => {
    const { alice, bob, conversation, client } = await setup(server);
    const a = await client(alice);
    const recorder = recordingWebSocket();
    const b = await client(bob, { WebSocket: recorder.WebSocket, typing: { ttlMs: 3000 } });
    await Promise.all([a.connect(), b.connect()]);

    const started = nextEvent(a, 'typing', (t) => t.user_id === bob && t.is_typing);
    const typing = b.typing(conversation);
    for (let i = 0; i < 5; i++) typing.keystroke();
    expect(await started).toEqual({ user_id: bob, conversation_id: conversation, is_typing: true });
    expect(a.typingIn(conversation)).toEqual([bob]);

    const stopped = nextEvent(a, 'typing', (t) => t.user_id === bob && !t.is_typing);
    typing.stop();
    await stopped;
    expect(a.typingIn(conversation)).toEqual([]);
    expect(recorder.sent).toEqual([
      { type: 'presence.typing.start', conversation_id: conversation },
      { type: 'presence.typing.stop', conversation_id: conversation },
    ]);
  });

  it('a block shows the other offline at once and ends their typing', async () => {
    const { alice, bob, conversation, client } = await setup(server);
    const a = await client(alice);
    const b = await client(bob, { typing: { ttlMs: 60_000, silenceMs: 60_000 } });
    await Promise.all([a.connect(), b.connect()]);
    const started = nextEvent(a, 'typing', (t) => t.user_id === bob && t.is_typing);
    b.typing(conversation).keystroke();
    await started;

    const hidden = nextEvent(a, 'status', (s) => s.user_id === bob && s.status === 'offline');
    const stopped = nextEvent(a, 'typing', (t) => t.user_id === bob && !t.is_typing);
    await graphCall(server, 'PUT', `blocks/${bob}/${alice}`);
    expect(await hidden).toMatchObject({ last_seen: null, clients: {}, previous: { status: 'online' } });
    expect(await stopped).toEqual({ user_id: bob, conversation_id: conversation, is_typing: false });
    expect(a.typingIn(conversation)).toEqual([]);
    expect(a.get(bob)).toMatchObject({ status: 'offline', last_seen: null });

    // Lifted: the SDK takes the fresh presence (same version, another status).
    const shown = nextEvent(a, 'status', (s) => s.user_id === bob && s.status === 'online');
    await graphCall(server, 'DELETE', `blocks/${bob}/${alice}`);
    await shown;
  });

  it('stops typing after silence', async () => {
    const { alice, bob, conversation, client } = await setup(server);
    const a = await client(alice);
    const b = await client(bob, { typing: { silenceMs: 200 } });
    await Promise.all([a.connect(), b.connect()]);

    const started = nextEvent(a, 'typing', (t) => t.user_id === bob && t.is_typing);
    const stopped = nextEvent(a, 'typing', (t) => t.user_id === bob && !t.is_typing);
    b.typing(conversation).keystroke();
    await started;
    await stopped;
    expect(b.typing(conversation).typing).toBe(false);
  });

  it('reconnects after a drop and re-syncs from the new snapshot', async () => {
    const { alice, bob, client } = await setup(server);
    // The token provider doubles as a gate: the reconnect waits in it until the test lets it through.
    let calls = 0;
    let release = () => {};
    let reconnecting = () => {};
    const waiting = new Promise<void>((resolve) => {
      reconnecting = resolve;
    });
    const token = async () => {
      calls++;
      if (calls > 1) {
        reconnecting();
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      }
      return server.mintToken(alice);
    };
    const recorder = recordingWebSocket();
    const a = await client(alice, {
      token,
      WebSocket: recorder.WebSocket,
      reconnect: { initialDelayMs: 50 },
    });
    await a.connect();
    expect(a.get(bob)?.status).toBe('offline');

    const closed = nextEvent(a, 'connection', (state) => state === 'closed');
    // With the socket gone, a heartbeat keeps Alice present through the outage instead of the short grace.
    const heartbeat = nextEvent(a, 'heartbeat');
    recorder.sockets[0]?.terminate();
    await closed;
    expect(await heartbeat).toEqual({ status: 'online', result: 'sent' });

    // Bob comes online while Alice is away: she misses the broadcast and must learn it from the snapshot.
    const b = await client(bob);
    await b.connect();
    await waiting;
    expect(a.get(bob)?.status).toBe('offline');

    const resynced = nextEvent(a, 'status', (change) => change.user_id === bob && change.status === 'online');
    release();
    await resynced;
    expect(a.connectionState).toBe('open');
    expect(calls).toBe(2);
    expect(recorder.sockets).toHaveLength(2);
  });

  it('reports away when idle and online again on input', async () => {
    const { alice, bob, client } = await setup(server);
    const a = await client(alice);
    await a.connect();
    const target = new EventTarget();
    const b = await client(bob, { idle: { idleMs: 200, target } });
    const own: string[] = [];
    b.on('ownStatus', (status) => own.push(status));
    await b.connect();
    await statusOf(a, bob, 'away');
    expect(b.status).toBe('away');

    // Two sockets: a may hear of it before b's own frame arrives, so wait for both.
    const back = statusOf(a, bob, 'online');
    const ownBack = new Promise<void>((resolve) =>
      b.on('ownStatus', (status) => status === 'online' && resolve()),
    );
    target.dispatchEvent(new Event('keydown'));
    await Promise.all([back, ownBack]);
    expect(b.status).toBe('online');
    expect(own).toEqual(['away', 'online']);
  });

  it('sends the first heartbeat and treats the rate-limited second as fine', async () => {
    const { bob, client } = await setup(server);
    const b = await client(bob);
    const errors: unknown[] = [];
    b.on('error', (error) => errors.push(error));
    await b.connect();
    // Bob is new, opening a socket is not a heartbeat, and the client beats only while its socket is down:
    // the server has no earlier heartbeat to hold this one against, so it accepts it. The second repeats
    // the status within the minimum interval, which the server answers with 429.
    const first = await b.heartbeat();
    const second = await b.heartbeat();
    expect(first).toBe('sent');
    expect(second).toBe('rate_limited');
    expect(errors).toEqual([]);
  });

  it('names its device and kind on the WebSocket URL, and refuses a bad device id', async () => {
    const { bob, client } = await setup(server);
    const recorder = recordingWebSocket();
    const b = await client(bob, { WebSocket: recorder.WebSocket, device: 'phone-1', client: 'mobile' });
    await b.connect();
    const url = new URL(recorder.sockets[0]?.url ?? '');
    expect(url.searchParams.get('device')).toBe('phone-1');
    expect(url.searchParams.get('client')).toBe('mobile');
    expect(b.device).toEqual({ id: 'phone-1', kind: 'mobile' });
    expect(b.get(bob)).toMatchObject({ status: 'online', clients: { mobile: 'online' } });
    await expect(client(bob, { device: 'no spaces' })).rejects.toThrow(TypeError);
    await expect(client(bob, { client: 'tv' as 'web' })).rejects.toThrow(TypeError);
  });

  it('two tabs and a phone: an idle tab never makes the user away while another device is active', async () => {
    const { alice, bob, client } = await setup(server);
    const a = await client(alice);
    await a.connect();
    const heard: Array<{ status: string; clients: object }> = [];
    a.on('status', (change) => {
      if (change.user_id === bob) heard.push({ status: change.status, clients: change.clients });
    });
    const active = await client(bob);
    await active.connect();
    const idle = await client(bob, { idle: { idleMs: 100, target: new EventTarget() } });
    await idle.connect();
    const phone = await client(bob, { client: 'mobile', heartbeat: false });
    await phone.connect();
    expect(active.device.id).not.toBe(idle.device.id);

    // The active tab leaves; after its grace the web devices left are the idle tab alone.
    const webAway = nextEvent(a, 'status', (c) => c.user_id === bob && c.clients.web === 'away');
    active.close();
    expect(await webAway).toMatchObject({ status: 'online', clients: { web: 'away', mobile: 'online' } });
    expect(heard.every((h) => h.status === 'online')).toBe(true);

    // The phone leaves too: now every live device is idle, and so is the user.
    const away = statusOf(a, bob, 'away');
    phone.close();
    await away;
    expect(a.get(bob)?.clients).toEqual({ web: 'away' });
  });

  it('heartbeats speak for the same device as the socket: no second device appears', async () => {
    const { alice, bob, client } = await setup(server);
    const a = await client(alice);
    await a.connect();
    const b = await client(bob, { client: 'mobile' });
    await b.connect();
    await statusOf(a, bob, 'online');
    expect(await b.heartbeat()).toBe('sent');
    // Had the heartbeat made a device of its own (web, online), the user would stay online here.
    const away = statusOf(a, bob, 'away');
    await b.setStatus('away');
    await away;
    expect(a.get(bob)?.clients).toEqual({ mobile: 'away' });
  });

  it('reports an error frame for typing where one is not a participant', async () => {
    const { conversation, bob, client } = await setup(server);
    const b = await client(bob);
    await b.connect();
    const strangers = conversation + 100_000;
    const error = nextEvent(b, 'error');
    b.typing(strangers).keystroke();
    // The id is well-formed, so the frame parses; the service then finds Bob is no participant.
    expect(await error).toEqual({ code: ErrorCodes.FORBIDDEN.code, message: expect.any(String) });
    b.typing(strangers).reset();
  });
});

describe('goOffline', () => {
  let server: TestServer;
  // A grace far beyond the test timeout: only the offline heartbeat can make Bob offline in time. The server
  // refuses a grace that is not below the presence timeout, so that moves up with it.
  beforeAll(async () => {
    server = await startTestServer({ disconnectGraceMs: 120_000, presenceTimeoutMs: 240_000 });
  });
  afterAll(() => server?.close());

  it('goOffline() shows offline at once, without waiting for the grace', async () => {
    const { alice, bob, client } = await setup(server);
    const a = await client(alice);
    const b = await client(bob);
    await Promise.all([a.connect(), b.connect()]);
    await statusOf(a, bob, 'online');

    const offline = statusOf(a, bob, 'offline');
    await b.goOffline();
    await offline;
    expect(b.connectionState).toBe('closed');
  });
});

describe('lazy subscriptions (subscribe: manual)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ disconnectGraceMs: GRACE_MS });
  });
  afterAll(() => server?.close());

  it('watches only the users subscribed, across a reconnect, and reads statuses without watching', async () => {
    const { alice, bob, client } = await setup(server);
    const recorder = recordingWebSocket();
    const a = await client(alice, { subscribe: 'manual', WebSocket: recorder.WebSocket });
    const b = await client(bob);
    await b.connect();
    await a.connect();
    // Only oneself until asked.
    expect(a.users().map((u) => u.user_id)).toEqual([alice]);
    const stranger = bob + 100_000;
    a.subscribe([bob, stranger]);
    await statusOf(a, bob, 'online');
    expect(a.get(stranger)).toBeUndefined();

    // A drop and a reconnect: the client asks again, and Bob's changes keep coming.
    recorder.sockets[0]?.terminate();
    await nextEvent(a, 'connection', (state) => state === 'open');
    const away = statusOf(a, bob, 'away');
    await b.setStatus('away');
    await away;

    a.unsubscribe([bob]);
    expect(a.get(bob)).toBeUndefined();
    expect(recorder.sent).toContainEqual({ type: 'presence.unsubscribe', user_ids: [bob] });
    expect(await a.getStatuses([stranger, bob])).toMatchObject([{ user_id: bob, status: 'away' }]);
    expect(() => a.subscribe(Array.from({ length: 5001 }, (_, i) => i + 1))).toThrow(RangeError);
    const all = await client(alice);
    expect(() => all.subscribe([bob])).toThrow(TypeError);
  });

  it('drops a watched user who is no longer visible when the server leaves them out of its answer', async () => {
    const { alice, bob, conversation, client } = await setup(server);
    const recorder = recordingWebSocket();
    const a = await client(alice, { subscribe: 'manual', WebSocket: recorder.WebSocket });
    await a.connect();
    a.subscribe([bob]);
    await nextEvent(a, 'status', (change) => change.user_id === bob);
    // Bob unfollows and their conversation ends (nothing is sent for that); after a reconnect, the answer
    // leaves him out.
    await graphCall(server, 'DELETE', `follows/${bob}/${alice}`);
    await graphCall(server, 'DELETE', `conversations/${conversation}`);
    recorder.sockets[0]?.terminate();
    await nextEvent(a, 'connection', (state) => state === 'open');
    // A later answer is the barrier: answers come in the order asked.
    const { bob: carol } = await freshPair(server);
    await graphCall(server, 'PUT', `follows/${alice}/${carol}`);
    await graphCall(server, 'PUT', `follows/${carol}/${alice}`);
    a.subscribe([carol]);
    await nextEvent(a, 'status', (change) => change.user_id === carol);
    expect(a.get(bob)).toBeUndefined();
  });
});
