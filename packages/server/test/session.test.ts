import type { UserPresence } from '@presence/protocol';
import { describe, expect, it } from 'vitest';
import { LocalBus } from '../src/bus/bus.js';
import { userGroup } from '../src/core/ports.js';
import {
  DEFAULT_SESSION_LIMITS,
  Session,
  type SessionOptions,
  type SocketLike,
} from '../src/core/session.js';
import { encodeNotice } from '../src/core/visibility-notices.js';
import { noWatches } from './support/watches.js';

/**
 * The per-connection rules on their own: a socket that records what it is asked to do, a service whose answers
 * the test releases when it wants, the in-process bus, and a manual clock.
 */

const T = 1_764_278_000_000;

class RecordingSocket implements SocketLike {
  readonly sent: unknown[] = [];
  closed: { code: number; reason: string } | null = null;
  bufferedAmount = 0;
  send(payload: string): void {
    this.sent.push(JSON.parse(payload));
  }
  close(code: number, reason: string): void {
    this.closed ??= { code, reason };
  }
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function setup(overrides: Partial<SessionOptions> = {}) {
  const socket = new RecordingSocket();
  const bus = new LocalBus();
  const snapshot = deferred<UserPresence[]>();
  const control = {
    failSnapshot: false,
    statuses: null as ((ids: readonly number[]) => Promise<UserPresence[]>) | null,
  };
  const calls: string[] = [];
  const clock = { now: T };
  const closedBy: string[] = [];
  const service: SessionOptions['service'] = {
    connect: async (userId, device) => {
      calls.push(`connect ${userId} ${device?.id}`);
    },
    disconnect: async (userId, clean, device) => {
      calls.push(`disconnect ${userId} ${clean ? 'clean' : 'cut'} ${device?.id}`);
    },
    activity: (userId) => {
      calls.push(`activity ${userId}`);
    },
    snapshot: () => (control.failSnapshot ? Promise.reject(new Error('database down')) : snapshot.promise),
    self: async (userId) => ({
      user_id: userId,
      status: 'online',
      last_seen: null,
      v: 1,
      clients: { web: 'online' },
      invisible: false,
    }),
    setStatus: async (userId, status, device) => {
      calls.push(`status ${userId} ${status} ${device?.id}`);
    },
    startTyping: async (_userId, conversationId) => conversationId === 7,
    stopTyping: async (_userId, conversationId) => conversationId === 7,
    statuses: (_viewer, ids) =>
      control.statuses
        ? control.statuses(ids)
        : Promise.resolve(
            ids.map((id) => ({ user_id: id, status: 'online' as const, last_seen: null, v: 1, clients: {} })),
          ),
  };
  const session = new Session({
    service,
    watches: noWatches,
    bus,
    socket,
    userId: 1,
    device: { id: 'tab-1', kind: 'web' },
    tokenExpiresAt: T + 60_000,
    clock: () => clock.now,
    limits: { ...DEFAULT_SESSION_LIMITS, maxBufferedBytes: 1_000, maxBadFrames: 2, badFrameWindowMs: 60_000 },
    onClosedByServer: (reason) => closedBy.push(reason),
    ...overrides,
  });
  return { session, socket, bus, snapshot, calls, clock, closedBy, control };
}

const status = (userId: number, s: string) =>
  JSON.stringify({ type: 'presence.status', user_id: userId, status: s, last_seen: null });

/** Lets pending promise callbacks run (the session's work is a few promise steps deep). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('WebSocket session rules', () => {
  it('sends the snapshot first, with events that came before it queued behind it in order', async () => {
    const { socket, bus, snapshot } = setup();
    bus.publish([userGroup(1)], status(2, 'online'));
    bus.publish([userGroup(1)], status(3, 'away'));
    await settle();
    expect(socket.sent).toEqual([]);
    snapshot.resolve([{ user_id: 2, status: 'offline', last_seen: null, v: 0, clients: {} }]);
    await settle();
    expect(socket.sent.map((m) => (m as { type: string; user_id?: number }).type)).toEqual([
      'presence.snapshot',
      'presence.status',
      'presence.status',
    ]);
    expect(socket.sent[2]).toMatchObject({ user_id: 3, status: 'away' });
  });

  it('hands frames to the service and answers a forbidden one with an error frame', async () => {
    const { session, socket, snapshot, calls } = setup();
    snapshot.resolve([]);
    await settle();
    session.receive(JSON.stringify({ type: 'presence.status.set', status: 'away' }));
    session.receive(JSON.stringify({ type: 'presence.typing.start', conversation_id: 8 }));
    await settle();
    expect(calls).toContain('status 1 away tab-1');
    expect(socket.sent.at(-1)).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(socket.closed).toBeNull();
  });

  it('closes with 1008 once bad frames pass the budget within the window, not before', async () => {
    const { session, socket, snapshot, clock, closedBy } = setup();
    snapshot.resolve([]);
    await settle();
    session.receive('not json');
    session.receive(null);
    expect(socket.closed).toBeNull();
    // A new window forgives the old frames.
    clock.now = T + 60_001;
    session.receive('{"type":"nope"}');
    session.receive('{}');
    expect(socket.closed).toBeNull();
    session.receive('[]');
    expect(socket.closed).toEqual({ code: 1008, reason: 'too many bad frames' });
    expect(closedBy).toEqual(['abuse']);
    expect(socket.sent.filter((m) => (m as { type: string }).type === 'error')).toHaveLength(5);
    // Frames still in flight after the close neither count the connection again nor get answers.
    session.receive('[]');
    session.receive('[]');
    expect(closedBy).toEqual(['abuse']);
    expect(socket.sent.filter((m) => (m as { type: string }).type === 'error')).toHaveLength(5);
  });

  it('closes a client that stops reading with 4008 and sends it nothing more', async () => {
    const { socket, bus, snapshot, closedBy } = setup();
    snapshot.resolve([]);
    await settle();
    bus.publish([userGroup(1)], status(2, 'online'));
    socket.bufferedAmount = 1_001;
    bus.publish([userGroup(1)], status(2, 'away'));
    bus.publish([userGroup(1)], status(2, 'online'));
    expect(socket.closed).toEqual({ code: 4008, reason: 'slow consumer' });
    expect(closedBy).toEqual(['slow_consumer']);
    expect(socket.sent).toHaveLength(2);
  });

  it('limits status changes and typing starts per connection, answering rate_limited beyond the limit', async () => {
    const { session, socket, snapshot, calls, clock } = setup({
      limits: {
        ...DEFAULT_SESSION_LIMITS,
        maxBufferedBytes: 1_000,
        maxBadFrames: 100,
        badFrameWindowMs: 60_000,
        statusPerSecond: 1,
        statusBurst: 3,
        typingPerSecond: 2,
        typingBurst: 4,
      },
    });
    snapshot.resolve([]);
    await settle();
    for (let i = 0; i < 5; i++) session.receive('{"type":"presence.status.set","status":"away"}');
    for (let i = 0; i < 6; i++) session.receive('{"type":"presence.typing.start","conversation_id":7}');
    await settle();
    expect(calls.filter((c) => c.startsWith('status'))).toHaveLength(3);
    const limited = socket.sent.filter((m) => (m as { code?: string }).code === 'rate_limited');
    expect(limited).toHaveLength(2 + 2);
    // Stops are never limited: a client must always be able to say it stopped.
    session.receive('{"type":"presence.typing.stop","conversation_id":7}');
    await settle();
    expect(socket.sent.filter((m) => (m as { code?: string }).code === 'rate_limited')).toHaveLength(4);
    // Tokens come back with time.
    clock.now += 1_000;
    session.receive('{"type":"presence.status.set","status":"online"}');
    await settle();
    expect(calls.filter((c) => c.startsWith('status'))).toHaveLength(4);
  });

  it('lives as long as its token, and ends with 4001', () => {
    const { session, socket, clock } = setup();
    expect(session.tokenExpiresIn()).toBe(60_000);
    clock.now = T + 59_000;
    expect(session.tokenExpiresIn()).toBe(1_000);
    clock.now = T + 61_000;
    expect(session.tokenExpiresIn()).toBe(0);
    session.expireToken();
    expect(socket.closed).toEqual({ code: 4001, reason: 'token expired' });
  });

  it('drops a peer that missed a ping, and counts any frame as an answer and as activity', () => {
    const { session, calls } = setup();
    expect(session.checkAlive()).toBe(true);
    expect(session.checkAlive()).toBe(false);
    session.markAlive();
    expect(session.checkAlive()).toBe(true);
    session.receive('{"type":"presence.typing.stop","conversation_id":7}');
    expect(session.checkAlive()).toBe(true);
    expect(calls.filter((c) => c.startsWith('activity'))).toEqual(['activity 1', 'activity 1']);
  });

  it('ends a connection whose re-sync failed instead of queueing its events forever', async () => {
    const failing = setup();
    failing.snapshot.resolve([]);
    await settle();
    failing.control.failSnapshot = true;
    failing.session.resync();
    await settle();
    expect(failing.socket.closed).toEqual({ code: 1011, reason: 'internal error' });
  });

  it('disconnects once on close, after the connect, and stops delivering', async () => {
    const { session, socket, bus, snapshot, calls } = setup();
    session.close(false);
    session.close(true);
    snapshot.resolve([]);
    bus.publish([userGroup(1)], status(2, 'online'));
    await settle();
    expect(calls).toEqual(['connect 1 tab-1', 'disconnect 1 cut tab-1']);
    expect(socket.sent).toEqual([]);
  });
});

describe('the in-process bus', () => {
  it('keeps a newer subscriber when an old unsubscribe runs twice', () => {
    const bus = new LocalBus();
    const first = bus.subscribe('g', () => {});
    first();
    const got: string[] = [];
    bus.subscribe('g', (payload) => got.push(payload));
    first();
    bus.publish(['g'], 'hello');
    expect(got).toEqual(['hello']);
  });
});

describe('visibility notices in the session', () => {
  it('keeps a user hidden by a block when a privacy show about them comes late', async () => {
    const { socket, bus, snapshot } = setup();
    snapshot.resolve([]);
    await settle();
    const offline = {
      type: 'presence.status',
      user_id: 2,
      status: 'offline',
      last_seen: null,
      v: 0,
      clients: {},
    };
    bus.publish([userGroup(1)], encodeNotice({ notice: 'hide', user_id: 2, frame: offline as never }));
    // A privacy change of user 2 (turning invisible off) that was fanned out before the block's versions moved.
    const shown = { user_id: 2, status: 'online', last_seen: null, v: 9, clients: { web: 'online' } };
    bus.publish([userGroup(1)], encodeNotice({ notice: 'show', cause: 'privacy', user_id: 2, frame: null }));
    bus.publish([userGroup(1)], JSON.stringify({ type: 'presence.status', ...shown }));
    await settle();
    expect(socket.sent.map((m) => (m as { type: string; status?: string }).status)).toEqual([
      undefined,
      'offline',
    ]);
  });
});

describe('lazy subscriptions in the session (contract section 15)', () => {
  it('answers a subscribe sent before the snapshot after it, and the changes meanwhile after the answer', async () => {
    const answer = deferred<UserPresence[]>();
    const { session, socket, bus, control } = setup({ subscribe: 'manual' });
    control.statuses = () => answer.promise;
    // Nothing has run yet: the connection is still being set up when the frame and a change arrive.
    session.receive(JSON.stringify({ type: 'presence.subscribe', user_ids: [2] }));
    bus.publish([userGroup(1)], status(2, 'away'));
    await settle();
    expect(socket.sent.map((m) => (m as { type: string }).type)).toEqual(['presence.snapshot']);
    answer.resolve([{ user_id: 2, status: 'online', last_seen: null, v: 5, clients: {} }]);
    await settle();
    expect(socket.sent.map((m) => (m as { type: string }).type)).toEqual([
      'presence.snapshot',
      'presence.subscribed',
      'presence.status',
    ]);
  });

  it('counts a frame of more than 500 ids against the limit, duplicates included', () => {
    const { session, socket } = setup({ subscribe: 'manual' });
    session.receive(JSON.stringify({ type: 'presence.subscribe', user_ids: [...Array(500).fill(7), 8] }));
    expect(socket.sent).toEqual([{ type: 'error', code: 'limit', message: expect.any(String) }]);
  });

  it('holds changes behind a presence.subscribed on its way, and drops those of users not subscribed', async () => {
    const answer = deferred<UserPresence[]>();
    const { session, socket, bus, control } = setup({ subscribe: 'manual' });
    await settle();
    // In manual mode the snapshot holds no users and the visible set is not even read.
    expect(socket.sent).toMatchObject([{ type: 'presence.snapshot', users: [] }]);
    control.statuses = () => answer.promise;
    session.receive(JSON.stringify({ type: 'presence.subscribe', user_ids: [2] }));
    await settle();
    bus.publish([userGroup(1)], status(2, 'away'));
    bus.publish([userGroup(1)], status(3, 'away'));
    bus.publish([userGroup(1)], status(1, 'away'));
    await settle();
    expect(socket.sent).toHaveLength(1);
    answer.resolve([{ user_id: 2, status: 'online', last_seen: null, v: 5, clients: {} }]);
    await settle();
    expect(
      socket.sent.map((m) => [(m as { type: string }).type, (m as { user_id?: number }).user_id]),
    ).toEqual([
      ['presence.snapshot', undefined],
      ['presence.subscribed', undefined],
      ['presence.status', 2],
      ['presence.status', 1],
    ]);
  });
});
