import { customStatusBody, PresenceStore, type UserPresence } from '@presence/client';
import { describe, expect, it } from 'vitest';

describe('customStatusBody', () => {
  it('sends the text and emoji given, and the expiry as ISO 8601 or null', () => {
    const at = new Date('2026-12-04T13:00:00.000Z');
    expect(customStatusBody({ text: 'Lunch', emoji: '🍕', expiresAt: at })).toEqual({
      text: 'Lunch',
      emoji: '🍕',
      expires_at: '2026-12-04T13:00:00.000Z',
    });
    expect(customStatusBody({ emoji: '🌴' })).toEqual({ emoji: '🌴', expires_at: null });
    // A string goes as written: the server reads ISO 8601 with any offset.
    expect(customStatusBody({ text: 'x', expiresAt: '2026-12-04T14:00:00+01:00' })).toEqual({
      text: 'x',
      expires_at: '2026-12-04T14:00:00+01:00',
    });
    // Empty fields of a form are "none"; neither at all is the server's 400 to give.
    expect(customStatusBody({ text: '', emoji: null, expiresAt: null })).toEqual({ expires_at: null });
  });

  it('throws a TypeError for arguments of the wrong type, before anything is sent', () => {
    expect(() => customStatusBody(null as never)).toThrow(TypeError);
    expect(() => customStatusBody({ text: 42 as never })).toThrow(TypeError);
    expect(() => customStatusBody({ emoji: ['🍕'] as never })).toThrow(TypeError);
    expect(() => customStatusBody({ text: 'x', expiresAt: new Date('not a date') })).toThrow(TypeError);
    expect(() => customStatusBody({ text: 'x', expiresAt: 1_800_000 as never })).toThrow(TypeError);
  });
});

describe('PresenceStore and custom statuses', () => {
  const presence = (v: number, custom: UserPresence['custom']): UserPresence => ({
    user_id: 5,
    status: 'online',
    last_seen: 'a',
    v,
    clients: { web: 'online' },
    custom,
  });
  const lunch = { text: 'Lunch', emoji: '🍕', expires_at: '2026-12-04T13:00:00.000Z' };

  it('keeps custom, announces a change of it alone, and ignores an older or equal one', () => {
    const store = new PresenceStore();
    store.applySnapshot([presence(1, null)]);
    expect(store.applyStatus(presence(2, lunch))).toMatchObject({
      custom: lunch,
      previous: { custom: null },
    });
    expect(store.get(5)?.custom).toEqual(lunch);
    // The same change again (the HTTP answer, then the frame) is no change.
    expect(store.applyStatus(presence(2, { ...lunch }))).toBeNull();
    // Cleared or expired: the server says so with a newer version.
    expect(store.applyStatus(presence(1, null))).toBeNull();
    expect(store.applyStatus(presence(3, null))).toMatchObject({ custom: null, previous: { custom: lunch } });
    expect(store.get(5)?.custom).toBeNull();
    // Equal versions that differ are two views of one change: like a status, custom is compared too.
    expect(store.applyStatus(presence(3, lunch))).toMatchObject({ custom: lunch });
  });

  it('holds its own copy: a caller changing the object it passed changes nothing in the store', () => {
    const store = new PresenceStore();
    const given = presence(1, { ...lunch });
    store.applyStatus(given);
    if (given.custom) given.custom.text = 'changed';
    expect(store.get(5)?.custom?.text).toBe('Lunch');
  });
});
