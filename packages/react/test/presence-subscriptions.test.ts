import { PresenceClient, type WebSocketLike } from '@presence/client';
import type { ServerMessage, UserPresence } from '@presence/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { PresenceSubscriptions } from '../src/presence-subscriptions.js';

const ME = 1;
/** Unsigned, which is fine: the client only reads `sub`, and no server sees it. */
const TOKEN = `x.${Buffer.from(JSON.stringify({ sub: String(ME) })).toString('base64url')}.x`;

/** The client's socket, driven by the test: frames go in as if the server had sent them. */
class FakeSocket implements WebSocketLike {
  static last: FakeSocket | null = null;
  readyState = 1;
  readonly sent: string[] = [];
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;

  constructor() {
    FakeSocket.last = this;
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(): void {
    this.readyState = 3;
  }

  receive(message: ServerMessage): void {
    (this.onmessage as ((event: { data: string }) => void) | null)?.({ data: JSON.stringify(message) });
  }
}

const presence = (user_id: number, status: UserPresence['status'], v: number): UserPresence => ({
  user_id,
  status,
  last_seen: null,
  v,
  clients: status === 'offline' ? {} : { web: status },
  custom: null,
});

const clients: PresenceClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

/** A real client with a snapshot of users 2, 3 and 4 applied, and the socket to feed it more. */
async function connected(): Promise<{ client: PresenceClient; socket: FakeSocket }> {
  const client = new PresenceClient({
    url: 'http://presence.test',
    token: TOKEN,
    WebSocket: FakeSocket,
    heartbeat: false,
    idle: false,
  });
  clients.push(client);
  const ready = client.connect();
  await expect.poll(() => FakeSocket.last?.onmessage).toBeTruthy();
  const socket = FakeSocket.last as FakeSocket;
  socket.receive({
    type: 'presence.snapshot',
    users: [presence(2, 'online', 1), presence(3, 'online', 1), presence(4, 'offline', 1)],
  });
  await ready;
  return { client, socket };
}

/** Counts calls per label. */
function counter() {
  const counts: Record<string, number> = {};
  const count = (label: string) => () => {
    counts[label] = (counts[label] ?? 0) + 1;
  };
  return { counts, count };
}

describe('PresenceSubscriptions', () => {
  it('hands out the custom status: a change of it alone reaches only the watchers of that user', async () => {
    const { client, socket } = await connected();
    const subscriptions = new PresenceSubscriptions(client);
    const { counts, count } = counter();
    subscriptions.subscribeUser(2, count('two'));
    subscriptions.subscribeUser(3, count('three'));
    const three = subscriptions.presence(3);
    const lunch = { text: 'Lunch', emoji: '🍕', expires_at: '2026-12-04T13:00:00.000Z' };

    socket.receive({ type: 'presence.status', ...presence(2, 'online', 2), custom: lunch });
    expect(counts).toEqual({ two: 1 });
    expect(subscriptions.presence(2)?.custom).toEqual(lunch);
    // Two views of one version that differ only in custom: the newer object is handed out.
    socket.receive({
      type: 'presence.status',
      ...presence(2, 'online', 2),
      custom: { ...lunch, text: 'Soup' },
    });
    expect(subscriptions.presence(2)?.custom?.text).toBe('Soup');
    socket.receive({ type: 'presence.status', ...presence(2, 'online', 3) });
    expect(subscriptions.presence(2)?.custom).toBeNull();
    expect(counts).toEqual({ two: 3 });
    expect(subscriptions.presence(3)).toBe(three);
  });

  it('tells only the watchers of the user who changed, and keeps unchanged snapshots identical', async () => {
    const { client, socket } = await connected();
    const subscriptions = new PresenceSubscriptions(client);
    const { counts, count } = counter();
    subscriptions.subscribeUser(2, count('two'));
    subscriptions.subscribeUser(3, count('three'));
    subscriptions.subscribeUsers([2, 3, 3], count('both'));
    const two = subscriptions.presence(2);
    const three = subscriptions.presence(3);

    socket.receive({ type: 'presence.status', ...presence(2, 'away', 2) });

    expect(counts).toEqual({ two: 1, both: 1 });
    expect(subscriptions.presence(2)).toMatchObject({ status: 'away', v: 2 });
    expect(subscriptions.presence(2)).not.toBe(two);
    expect(subscriptions.presence(2)).toBe(subscriptions.presence(2));
    expect(subscriptions.presence(3)).toBe(three);
  });

  it('ignores what the client ignores: an older version changes nothing and tells no one', async () => {
    const { client, socket } = await connected();
    const subscriptions = new PresenceSubscriptions(client);
    const { counts, count } = counter();
    subscriptions.subscribeUser(2, count('two'));
    const before = subscriptions.presence(2);

    socket.receive({ type: 'presence.status', ...presence(2, 'away', 0) });

    expect(counts).toEqual({});
    expect(subscriptions.presence(2)).toBe(before);
  });

  it('tells the watchers of a user whom a re-sync dropped, and only them', async () => {
    const { client, socket } = await connected();
    const subscriptions = new PresenceSubscriptions(client);
    const { counts, count } = counter();
    subscriptions.subscribeUser(3, count('three'));
    subscriptions.subscribeUser(4, count('four'));
    subscriptions.presence(3);
    subscriptions.presence(4);

    socket.receive({
      type: 'presence.snapshot',
      users: [presence(2, 'online', 1), presence(4, 'offline', 1)],
    });

    expect(counts).toEqual({ three: 1 });
    expect(subscriptions.presence(3)).toBeUndefined();
  });

  it('lists other typists in a stable array without this user, and tells only that conversation', async () => {
    const { client, socket } = await connected();
    const subscriptions = new PresenceSubscriptions(client);
    const { counts, count } = counter();
    subscriptions.subscribeTyping(7, count('seven'));
    subscriptions.subscribeTyping(8, count('eight'));
    const nobody = subscriptions.typing(7);
    expect(nobody).toEqual([]);
    expect(subscriptions.typing(7)).toBe(nobody);

    socket.receive({ type: 'presence.typing', user_id: 2, conversation_id: 7, is_typing: true });
    socket.receive({ type: 'presence.typing', user_id: ME, conversation_id: 7, is_typing: true });

    expect(counts).toEqual({ seven: 2 });
    const typists = subscriptions.typing(7);
    expect(typists).toEqual([2]);
    expect(subscriptions.typing(7)).toBe(typists);
  });

  it('listens to the client only while something is subscribed', async () => {
    const { client } = await connected();
    const subscriptions = new PresenceSubscriptions(client);
    expect(subscriptions.listening).toBe(false);

    const offUser = subscriptions.subscribeUser(2, () => {});
    const offTyping = subscriptions.subscribeTyping(7, () => {});
    expect(subscriptions.listening).toBe(true);
    offUser();
    expect(subscriptions.listening).toBe(true);
    offTyping();
    expect(subscriptions.listening).toBe(false);
  });
});
