import {
  backoffDelay,
  DEVICE_STORAGE_KEY,
  defaultDeviceId,
  formatLastSeen,
  PresenceStore,
  userIdFromToken,
} from '@presence/client';
import { describe, expect, it } from 'vitest';

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    const top = () => 1;
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, { initialDelayMs: 100 }, top))).toEqual([
      100, 200, 400, 800,
    ]);
    expect(backoffDelay(50, { initialDelayMs: 100, maxDelayMs: 5000 }, top)).toBe(5000);
    expect(backoffDelay(3, { initialDelayMs: 100 }, () => 0)).toBe(0);
    expect(backoffDelay(3, { initialDelayMs: 100 }, () => 0.5)).toBe(400);
  });
});

describe('formatLastSeen', () => {
  const now = Date.parse('2025-11-27T12:00:00.000Z');
  const ago = (ms: number) => ({ status: 'offline' as const, last_seen: new Date(now - ms).toISOString() });

  it('names live statuses and relative times', () => {
    expect(formatLastSeen({ status: 'online', last_seen: null }, { now })).toBe('online');
    expect(formatLastSeen({ status: 'away', last_seen: null }, { now })).toBe('away');
    expect(formatLastSeen({ status: 'offline', last_seen: null }, { now })).toBe('offline');
    expect(formatLastSeen(ago(0), { now, locale: 'en' })).toBe('last seen now');
    expect(formatLastSeen(ago(12_000), { now, locale: 'en' })).toBe('last seen 12 seconds ago');
    expect(formatLastSeen(ago(5 * 60_000 + 10_000), { now, locale: 'en' })).toBe('last seen 5 minutes ago');
    expect(formatLastSeen(ago(26 * 3600_000), { now, locale: 'en' })).toBe('last seen yesterday');
    expect(formatLastSeen(ago(-5_000), { now, locale: 'en' })).toBe('last seen now');
  });
});

describe('PresenceStore', () => {
  it('reports only changes, and a snapshot re-syncs and drops users no longer visible', () => {
    const store = new PresenceStore();
    expect(
      store.applySnapshot([
        { user_id: 1, status: 'online', last_seen: 'a', v: 1, clients: { web: 'online' }, custom: null },
      ]),
    ).toHaveLength(1);
    expect(
      store.applyStatus({
        user_id: 1,
        status: 'online',
        last_seen: 'a',
        v: 1,
        clients: { web: 'online' },
        custom: null,
      }),
    ).toBeNull();
    const changes = store.applySnapshot([
      { user_id: 2, status: 'away', last_seen: 'b', v: 5, clients: { web: 'away' }, custom: null },
    ]);
    expect(changes).toEqual([
      {
        user_id: 2,
        status: 'away',
        last_seen: 'b',
        v: 5,
        clients: { web: 'away' },
        custom: null,
        previous: null,
      },
    ]);
    expect(store.get(1)).toBeUndefined();
  });

  it('keeps the presence with the larger version, whatever order the frames arrive in', () => {
    const store = new PresenceStore();
    expect(
      store.applyStatus({
        user_id: 3,
        status: 'online',
        last_seen: 'b',
        v: 20,
        clients: { web: 'online' },
        custom: null,
      }),
    ).not.toBeNull();
    // The offline of an earlier change, delivered late by another process: it must not win.
    expect(
      store.applyStatus({ user_id: 3, status: 'offline', last_seen: 'a', v: 19, clients: {}, custom: null }),
    ).toBeNull();
    expect(store.get(3)).toEqual({
      user_id: 3,
      status: 'online',
      last_seen: 'b',
      v: 20,
      clients: { web: 'online' },
      custom: null,
    });
    expect(
      store.applyStatus({
        user_id: 3,
        status: 'away',
        last_seen: 'c',
        v: 21,
        clients: { web: 'away' },
        custom: null,
      }),
    ).toMatchObject({
      status: 'away',
      previous: { status: 'online', v: 20 },
    });
  });

  it("forgets one user's typing everywhere, and only theirs", () => {
    const store = new PresenceStore();
    store.applyTyping({ user_id: 2, conversation_id: 9, is_typing: true });
    store.applyTyping({ user_id: 2, conversation_id: 10, is_typing: true });
    store.applyTyping({ user_id: 3, conversation_id: 9, is_typing: true });
    expect(store.clearTypingOf(2)).toEqual([
      { user_id: 2, conversation_id: 9, is_typing: false },
      { user_id: 2, conversation_id: 10, is_typing: false },
    ]);
    expect([store.typingIn(9), store.typingIn(10), store.clearTypingOf(2)]).toEqual([[3], [], []]);
  });

  it('tracks typing per conversation and clears it on a drop', () => {
    const store = new PresenceStore();
    expect(store.applyTyping({ user_id: 1, conversation_id: 9, is_typing: true })).not.toBeNull();
    expect(store.applyTyping({ user_id: 1, conversation_id: 9, is_typing: true })).toBeNull();
    expect(store.typingIn(9)).toEqual([1]);
    expect(store.clearTyping()).toEqual([{ user_id: 1, conversation_id: 9, is_typing: false }]);
    expect(store.typingIn(9)).toEqual([]);
  });
});

describe('userIdFromToken', () => {
  it('reads sub without verifying', () => {
    const payload = btoa(JSON.stringify({ sub: '42', exp: 1 })).replace(/=+$/, '');
    expect(userIdFromToken(`e30.${payload}.sig`)).toBe(42);
    expect(userIdFromToken('garbage')).toBeNull();
  });
});

describe('default device id', () => {
  const storage = new Map<string, string>();
  const fake = {
    getItem: (key: string) => storage.get(key) ?? null,
    setItem: (key: string, value: string) => void storage.set(key, value),
  };
  const global = globalThis as { sessionStorage?: unknown };

  it('keeps one id per tab in sessionStorage, replaces a broken one, and copes with refused storage', () => {
    global.sessionStorage = fake;
    try {
      const first = defaultDeviceId();
      expect(first).toMatch(/^[A-Za-z0-9_-]{16}$/);
      expect(defaultDeviceId()).toBe(first);
      expect(storage.get(DEVICE_STORAGE_KEY)).toBe(first);
      storage.set(DEVICE_STORAGE_KEY, 'not valid!');
      const replaced = defaultDeviceId();
      expect(replaced).not.toBe('not valid!');
      expect(storage.get(DEVICE_STORAGE_KEY)).toBe(replaced);
      global.sessionStorage = {
        getItem: () => {
          throw new Error('SecurityError');
        },
      };
      expect(defaultDeviceId()).toMatch(/^[A-Za-z0-9_-]{16}$/);
    } finally {
      delete global.sessionStorage;
    }
    expect(defaultDeviceId()).not.toBe(defaultDeviceId());
  });
});
