import { once } from 'node:events';
import type { StatusMessage, TypingMessage } from '@presence/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalBus } from '../src/bus/bus.js';
import { type PresenceDurable, userGroup } from '../src/core/ports.js';
import { PresenceService } from '../src/core/presence-service.js';
import type { RuleConfig } from '../src/core/rules.js';
import { type Database, openDatabase } from '../src/db/database.js';
import { PresenceRepository } from '../src/db/presence-repository.js';
import { MemoryStore } from '../src/store/memory-store.js';

/**
 * The service's rules on a manual clock: the store is the embedded memory backend, the durable record a real
 * (embedded) PostgreSQL, the bus the in-process one. Time moves only when a test moves it; the service's own
 * events and bus deliveries are awaited, never slept for.
 */

const rules: RuleConfig = {
  presenceTimeoutMs: 60_000,
  disconnectGraceMs: 5_000,
  heartbeatMinIntervalMs: 10_000,
};
const TYPING_TTL_MS = 3_000;
const T = 1_764_278_000_000;

let database: Database;
let repo: PresenceRepository;
beforeAll(async () => {
  database = await openDatabase({ dataDir: 'memory://' });
  await database.migrate();
  repo = new PresenceRepository(database.db);
});
afterAll(() => database.close());

/** Counts the durable store's visibility loads, passing every call through to the real repository. */
function counting(durable: PresenceRepository) {
  const calls = { subscribersMany: 0, failing: false };
  const wrapped: PresenceDurable = Object.create(durable);
  wrapped.subscribersMany = (ids) => {
    calls.subscribersMany += 1;
    if (calls.failing) return Promise.reject(new Error('graph unreadable'));
    return durable.subscribersMany(ids);
  };
  return { durable: wrapped, calls };
}

interface World {
  service: PresenceService;
  store: MemoryStore;
  bus: LocalBus;
  calls: { subscribersMany: number; failing: boolean };
  now: number;
  /** Frames delivered to a user's group, in order. */
  inbox(userId: number): Array<StatusMessage | TypingMessage>;
  /**
   * Opens the user's inbox and makes it a connection of this process: its own group, and the changes of the
   * users it watches through the watch index, as a WebSocket session gets them.
   */
  listen(userId: number): Promise<void>;
  /** The next frame delivered to a user's group. */
  nextFrame(userId: number): Promise<StatusMessage | TypingMessage>;
  /** Another process on the same hot state and clock; on the same bus unless given one of its own. */
  otherProcess(bus?: LocalBus): PresenceService;
}

let nextId = 1;
/** Fresh user ids per test: the database is shared by the file, the store and the clock are not. */
const ids = (n: number) => Array.from({ length: n }, () => nextId++);

function world(): World {
  const bus = new LocalBus();
  const { durable, calls } = counting(repo);
  const state = { now: T };
  const clock = () => state.now;
  const store = new MemoryStore(rules, 300_000, clock);
  const service = new PresenceService({
    store,
    durable,
    bus,
    typingTtlMs: TYPING_TTL_MS,
    clock,
    resolutionMs: 25,
    cacheTtlMs: 300_000,
  });
  const inboxes = new Map<number, Array<StatusMessage | TypingMessage>>();
  const waiters = new Map<number, Array<(m: StatusMessage | TypingMessage) => void>>();
  const receive = (userId: number, payload: string) => {
    const message = JSON.parse(payload) as StatusMessage | TypingMessage;
    const waiting = waiters.get(userId)?.shift();
    if (waiting) waiting(message);
    else inboxes.get(userId)?.push(message);
  };
  const inbox = (userId: number) => {
    let box = inboxes.get(userId);
    if (!box) {
      box = [];
      inboxes.set(userId, box);
      bus.subscribe(userGroup(userId), (payload) => receive(userId, payload));
    }
    return box;
  };
  const listen = async (userId: number) => {
    inbox(userId);
    const deliver = (payload: string) => receive(userId, payload);
    await service.watches.watch({ viewer: userId, deliver, resync: () => {} }, false);
  };
  return {
    service,
    store,
    bus,
    calls,
    get now() {
      return state.now;
    },
    set now(value: number) {
      state.now = value;
    },
    inbox,
    listen,
    otherProcess(otherBus = bus) {
      return new PresenceService({
        store,
        durable: repo,
        bus: otherBus,
        typingTtlMs: TYPING_TTL_MS,
        clock,
        resolutionMs: 25,
        cacheTtlMs: 300_000,
      });
    },
    nextFrame(userId) {
      const box = inbox(userId);
      const queued = box.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve) => {
        const list = waiters.get(userId) ?? [];
        list.push(resolve);
        waiters.set(userId, list);
      });
    },
  };
}

async function friends(a: number, b: number): Promise<void> {
  await repo.ensureUsers([a, b]);
  await repo.follow(a, b);
  await repo.follow(b, a);
}

describe('presence service on a manual clock', () => {
  let w: World;
  beforeEach(() => {
    w = world();
  });

  it('takes a heartbeating user offline at the timeout, with last_seen at the last heartbeat', async () => {
    const [me, friend] = ids(2) as [number, number];
    await friends(me, friend);
    await w.listen(friend);
    await w.service.heartbeat(me, 'away');
    expect(await w.nextFrame(friend)).toMatchObject({ user_id: me, status: 'away' });

    w.now = T + rules.presenceTimeoutMs - 25;
    await w.service.tick();
    expect((await w.service.getStatus(friend, me))?.status).toBe('away');

    w.now = T + rules.presenceTimeoutMs;
    await w.service.tick();
    expect(await w.nextFrame(friend)).toEqual({
      type: 'presence.status',
      user_id: me,
      status: 'offline',
      last_seen: new Date(T).toISOString(),
      v: T + rules.presenceTimeoutMs,
      clients: {},
    });
  });

  it('waits out the grace after the last socket closes, and a reconnect within it shows no flap', async () => {
    const [me, friend] = ids(2) as [number, number];
    await friends(me, friend);
    await w.listen(friend);
    await w.service.connect(me);
    expect(await w.nextFrame(friend)).toMatchObject({ user_id: me, status: 'online' });

    w.now = T + 1_000;
    await w.service.disconnect(me);
    w.now = T + 1_000 + rules.disconnectGraceMs - 25;
    await w.service.tick();
    await w.service.connect(me);
    w.now = T + 1_000 + rules.disconnectGraceMs + 1_000;
    await w.service.tick();
    w.now = T + 10_000;
    await w.service.disconnect(me);
    w.now = T + 10_000 + rules.disconnectGraceMs;
    await w.service.tick();
    // The only frame after `online` is the final offline: the reconnect inside the grace showed nothing.
    expect(await w.nextFrame(friend)).toMatchObject({
      user_id: me,
      status: 'offline',
      last_seen: new Date(T + 10_000).toISOString(),
    });
    expect(w.inbox(friend)).toEqual([]);
  });

  it('expires typing after the TTL with no new start, and a start inside it extends it', async () => {
    const [me, partner] = ids(2) as [number, number];
    const conversation = 9_000 + me;
    await repo.ensureUsers([me, partner]);
    await repo.setConversation(conversation, [me, partner]);
    await w.listen(partner);
    expect(await w.service.startTyping(me, conversation)).toBe(true);
    expect(await w.nextFrame(partner)).toMatchObject({
      type: 'presence.typing',
      user_id: me,
      is_typing: true,
    });

    w.now = T + 2_000;
    await w.service.startTyping(me, conversation);
    w.now = T + TYPING_TTL_MS + 500;
    await w.service.tick();
    w.now = T + 2_000 + TYPING_TTL_MS;
    await w.service.tick();
    expect(await w.nextFrame(partner)).toEqual({
      type: 'presence.typing',
      user_id: me,
      conversation_id: conversation,
      is_typing: false,
    });
    expect(w.inbox(partner)).toEqual([]);
  });

  it('refuses typing in a conversation the user does not take part in', async () => {
    const [me, other] = ids(2) as [number, number];
    await repo.ensureUsers([me, other]);
    await repo.setConversation(9_500 + me, [other]);
    expect(await w.service.startTyping(me, 9_500 + me)).toBe(false);
  });

  it('shows a user offline with frozen times from the moment invisible is stored, even if what follows fails', async () => {
    const [me, friend] = ids(2) as [number, number];
    await friends(me, friend);
    const written = once(w.service.events, 'written');
    await w.service.heartbeat(me, 'online');
    await written;
    const bump = w.store.bumpVersion.bind(w.store);
    w.store.bumpVersion = async () => {
      throw new Error('store unreachable');
    };
    await expect(w.service.updateSettings(me, { invisible: true })).rejects.toThrow('store unreachable');
    w.store.bumpVersion = bump;
    // Activity while invisible: the live presence moves, what others see must not.
    w.now = T + 30_000;
    await w.service.heartbeat(me, 'away');
    expect(await w.service.getStatus(friend, me)).toMatchObject({
      status: 'offline',
      last_seen: new Date(T).toISOString(),
      v: T,
      clients: {},
    });
  });

  it('writes a burst of transitions through as one statement', async () => {
    const users = ids(300);
    await repo.ensureUsers(users);
    const written = once(w.service.events, 'written');
    await w.service.heartbeats(users.map((userId) => ({ userId, status: 'online' as const })));
    expect(await written).toEqual([300]);
    const stored = await repo.getPresences(users);
    expect([...stored.values()].every((r) => r.status === 'online' && r.lastSeen === T)).toBe(true);
  });

  it('fans out with no visibility query per transition, and reloads a watcher after a graph change', async () => {
    const users = ids(50);
    const [watcher] = ids(1) as [number];
    for (const userId of users) await friends(userId, watcher);
    await w.listen(watcher);
    // The watcher's own list, loaded when it connected: the only query the 50 changes below need.
    expect(w.calls.subscribersMany).toBe(1);
    await w.service.heartbeats(users.map((userId) => ({ userId, status: 'online' as const })));
    for (const _ of users) await w.nextFrame(watcher);
    expect(w.calls.subscribersMany).toBe(1);
    // A user nobody watches costs no query either: its change is written through and published, nothing more.
    const [loner] = ids(1) as [number];
    const written = once(w.service.events, 'written');
    await w.service.heartbeats([{ userId: loner, status: 'online' }]);
    await written;
    expect(w.calls.subscribersMany).toBe(1);

    const [first, second] = users as [number, number];
    await repo.unfollow(watcher, first);
    const invalidated = once(w.service.events, 'graphInvalidated');
    await w.service.unfollow(watcher, first);
    expect(await invalidated).toEqual([[watcher, first], []]);

    w.now = T + 1_000;
    // The unfollowed user's change must not reach the watcher. The barrier is a friend's change published
    // after it: it waits, like the first, for the watcher's list to load again.
    await w.service.heartbeats([{ userId: first, status: 'away' }]);
    await w.service.heartbeats([{ userId: second, status: 'away' }]);
    expect(await w.nextFrame(watcher)).toMatchObject({ user_id: second, status: 'away' });
    expect(w.inbox(watcher)).toEqual([]);
    expect(w.calls.subscribersMany).toBe(2);
  });

  it('lets go of a connection that closes while its list reloads', async () => {
    const [watcher, a, b] = ids(3) as [number, number, number];
    await friends(watcher, a);
    await friends(watcher, b);
    const handle = await w.service.watches.watch(
      { viewer: watcher, deliver: () => {}, resync: () => {} },
      false,
    );
    expect(w.service.watches.subjects).toBe(2);
    // The graph change starts a reload of the watcher's list; the connection closes before it ends.
    await w.service.unfollow(watcher, a);
    handle.close();
    expect(w.service.watches.subjects).toBe(0);
    await expect.poll(() => w.calls.subscribersMany).toBe(2);
    // Barrier: another connection's load, queued behind the first reload, has finished.
    await w.service.watches.watch({ viewer: a, deliver: () => {}, resync: () => {} }, false);
    expect(w.service.watches.subjects).toBe(0);
  });

  it('holds changes while a reload after a graph change fails, and decides them once it succeeds', async () => {
    const [watcher, ex, friend] = ids(3) as [number, number, number];
    await friends(watcher, ex);
    await friends(watcher, friend);
    await w.listen(watcher);
    w.calls.failing = true;
    const failed = once(w.service.events, 'failed');
    await w.service.unfollow(watcher, ex);
    await failed;
    // The list cannot be loaded and the graph moved: nothing passes, not even the friend's change.
    w.now = T + 1_000;
    await w.service.heartbeats([{ userId: ex, status: 'away' }]);
    await w.service.heartbeats([{ userId: friend, status: 'away' }]);
    w.calls.failing = false;
    // The retry loads the list: the friend's change passes, the ex-friend's never does.
    expect(await w.nextFrame(watcher)).toMatchObject({ user_id: friend, status: 'away' });
    expect(w.inbox(watcher)).toEqual([]);
  });

  it('stops fan-out to an ex-follower at once even when the invalidation never reaches this process', async () => {
    const [watcher, friend] = ids(2) as [number, number];
    await friends(watcher, friend);
    await w.listen(watcher);
    await w.service.heartbeat(friend, 'online');
    expect(await w.nextFrame(watcher)).toMatchObject({ user_id: friend, status: 'online' });
    // Another process, whose bus messages this one never receives (a pub/sub reconnect, degraded mode).
    const other = w.otherProcess(new LocalBus());
    await other.unfollow(watcher, friend);
    w.now = T + 1_000;
    await w.service.heartbeat(friend, 'away');
    // Barrier: the watcher's own change, published after the friend's on this process.
    await w.service.heartbeat(watcher, 'away');
    expect(await w.nextFrame(watcher)).toMatchObject({ user_id: watcher, status: 'away' });
    expect(w.inbox(watcher)).toEqual([]);
    await other.shutdown();
  });

  it('stops typing to a removed participant at once even when the invalidation is lost', async () => {
    const [typist, removed, stays] = ids(3) as [number, number, number];
    const conversation = 9_700 + typist;
    await repo.ensureUsers([typist, removed, stays]);
    await repo.setConversation(conversation, [typist, removed, stays]);
    await w.listen(removed);
    await w.listen(stays);
    await w.service.startTyping(typist, conversation);
    expect(await w.nextFrame(removed)).toMatchObject({ is_typing: true });
    expect(await w.nextFrame(stays)).toMatchObject({ is_typing: true });
    const other = w.otherProcess(new LocalBus());
    await other.setConversation(conversation, [typist, stays]);
    // The typing expires here: no frame of the typist's refreshes the list on the way.
    w.now = T + TYPING_TTL_MS;
    await w.service.tick();
    expect(await w.nextFrame(stays)).toMatchObject({ is_typing: false });
    // Barrier for the removed one: its own status, published after the stop.
    await w.service.heartbeat(removed, 'online');
    expect(await w.nextFrame(removed)).toMatchObject({ user_id: removed, status: 'online' });
    expect(w.inbox(removed)).toEqual([]);
    await other.shutdown();
  });

  it('ends the typing of a process that died from another process, once, after the TTL', async () => {
    const [typist, partner] = ids(2) as [number, number];
    const conversation = 9_800 + typist;
    await repo.ensureUsers([typist, partner]);
    await repo.setConversation(conversation, [typist, partner]);
    await w.listen(partner);
    await w.service.startTyping(typist, conversation);
    expect(await w.nextFrame(partner)).toMatchObject({ is_typing: true });
    // The process that saw the start never ticks again; another one sweeps.
    const other = w.otherProcess();
    w.now = T + TYPING_TTL_MS - 1;
    await other.sweepTyping();
    w.now = T + TYPING_TTL_MS;
    await other.sweepTyping();
    await other.sweepTyping();
    expect(await w.nextFrame(partner)).toMatchObject({ user_id: typist, is_typing: false });
    await w.service.heartbeat(partner, 'online');
    expect(await w.nextFrame(partner)).toMatchObject({ user_id: partner, status: 'online' });
    expect(w.inbox(partner)).toEqual([]);
    await other.shutdown();
  });

  it('holds no phantom socket when the store refused the connect', async () => {
    const [me, friend] = ids(2) as [number, number];
    await friends(me, friend);
    await w.listen(friend);
    const connect = w.store.connect.bind(w.store);
    w.store.connect = async () => {
      throw new Error('store unreachable');
    };
    await expect(w.service.connect(me)).rejects.toThrow('store unreachable');
    w.store.connect = connect;
    // After an outage the process connects its held sockets again: a socket that never was must not count.
    await w.service.reconnectHeld();
    await w.service.heartbeat(friend, 'online');
    expect(await w.nextFrame(friend)).toMatchObject({ user_id: friend, status: 'online' });
    expect(w.inbox(friend)).toEqual([]);
    expect((await w.store.getMany([me])).get(me)?.status ?? 'offline').toBe('offline');
  });

  it('tells the store of a close it missed at the next refresh, so the device is not held forever', async () => {
    const [me, friend] = ids(2) as [number, number];
    await friends(me, friend);
    await w.listen(friend);
    await w.service.connect(me);
    expect(await w.nextFrame(friend)).toMatchObject({ user_id: me, status: 'online' });
    const disconnect = w.store.disconnect.bind(w.store);
    w.store.disconnect = async () => {
      throw new Error('store unreachable');
    };
    w.now = T + 1_000;
    await expect(w.service.disconnect(me)).rejects.toThrow('store unreachable');
    w.store.disconnect = disconnect;
    // The refresh states the sockets still held (none of this user's) and retries the close it missed.
    w.now = T + 2_000;
    await w.service.refresh();
    w.now = T + 1_000 + rules.disconnectGraceMs;
    await w.service.tick();
    // Offline after the grace, with the time of the close (a clean one) as last seen.
    expect(await w.nextFrame(friend)).toMatchObject({
      user_id: me,
      status: 'offline',
      last_seen: new Date(T + 1_000).toISOString(),
    });
  });

  it('records everyone offline in the durable store when a process holding all state shuts down', async () => {
    const [me] = ids(1) as [number];
    await repo.ensureUsers([me]);
    const written = once(w.service.events, 'written');
    await w.service.heartbeat(me, 'online');
    await written;
    expect(await repo.getPresence(me)).toMatchObject({ status: 'online', v: T });
    w.now = T + 1_000;
    await w.service.shutdown();
    expect(await repo.getPresence(me)).toMatchObject({ status: 'offline', lastSeen: T });
  });

  it('sweeps users whose liveness went stale on any process sharing the store, announced once', async () => {
    const [me, friend] = ids(2) as [number, number];
    await friends(me, friend);
    await w.listen(friend);
    await w.service.heartbeat(me, 'online');
    await w.nextFrame(friend);
    // A second process on the same hot state, which never saw the heartbeat: only its sweep can find the user.
    const other = w.otherProcess();
    w.now = T + rules.presenceTimeoutMs - 1;
    expect(await other.sweep()).toBe(0);
    w.now = T + rules.presenceTimeoutMs;
    expect(await other.sweep()).toBe(1);
    expect(await w.nextFrame(friend)).toMatchObject({ user_id: me, status: 'offline' });
    // The first process's own deadline finds nothing left to do: the transition was announced once.
    await w.service.tick();
    await w.service.heartbeat(friend, 'away');
    expect(await w.nextFrame(friend)).toMatchObject({ user_id: friend, status: 'away' });
    expect(w.inbox(friend)).toEqual([]);
    await other.shutdown();
  });
});
