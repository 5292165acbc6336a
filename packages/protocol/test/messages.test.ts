import { parseClientMessage, parseServerMessage } from '@presence/protocol';
import { describe, expect, it } from 'vitest';

describe('parseServerMessage', () => {
  it('keeps well-formed frames with their wire fields only', () => {
    expect(
      parseServerMessage(
        '{"type":"presence.status","user_id":1,"status":"away","last_seen":null,"v":3,"x":1}',
      ),
    ).toEqual({
      type: 'presence.status',
      user_id: 1,
      status: 'away',
      last_seen: null,
      v: 3,
      clients: {},
      custom: null,
    });
    expect(
      parseServerMessage(
        '{"type":"presence.status","user_id":1,"status":"online","last_seen":null,"v":3,' +
          '"clients":{"web":"away","mobile":"online","tv":"online","desktop":"busy"}}',
      ),
    ).toMatchObject({ clients: { web: 'away', mobile: 'online' } });
    expect(
      parseServerMessage('{"type":"presence.typing","user_id":1,"conversation_id":2,"is_typing":true}'),
    ).toEqual({ type: 'presence.typing', user_id: 1, conversation_id: 2, is_typing: true });
  });

  it('drops the broken users of a snapshot and keeps the rest', () => {
    const frame = {
      type: 'presence.snapshot',
      users: [
        { user_id: 1, status: 'online', last_seen: '2025-11-27T12:00:00.000Z', v: 9 },
        { user_id: 0, status: 'online', last_seen: null, v: 1 },
        { user_id: 2, status: 'busy', last_seen: null, v: 1 },
        { user_id: 3, status: 'online', last_seen: null },
        { user_id: 4, status: 'online', last_seen: null, v: -1 },
      ],
    };
    expect(parseServerMessage(JSON.stringify(frame))).toEqual({
      type: 'presence.snapshot',
      users: [
        {
          user_id: 1,
          status: 'online',
          last_seen: '2025-11-27T12:00:00.000Z',
          v: 9,
          clients: {},
          custom: null,
        },
      ],
    });
  });

  it('keeps a custom status with its wire fields only, and reads a broken or empty one as none', () => {
    const status = (custom: unknown) =>
      parseServerMessage(
        JSON.stringify({
          type: 'presence.status',
          user_id: 1,
          status: 'online',
          last_seen: null,
          v: 3,
          custom,
        }),
      );
    expect(
      status({ text: 'lunch', emoji: '🍕', expires_at: '2026-12-01T12:00:00.000Z', x: 1 }),
    ).toMatchObject({
      custom: { text: 'lunch', emoji: '🍕', expires_at: '2026-12-01T12:00:00.000Z' },
    });
    expect(status({ emoji: '🌴' })).toMatchObject({ custom: { text: null, emoji: '🌴', expires_at: null } });
    expect(status({ text: '', emoji: null, expires_at: null })).toMatchObject({ custom: null });
    expect(status('lunch')).toMatchObject({ custom: null });
    expect(status(null)).toMatchObject({ custom: null });
  });

  it('passes an error code it does not know through', () => {
    expect(parseServerMessage('{"type":"error","code":"from_the_future","message":"m"}')).toEqual({
      type: 'error',
      code: 'from_the_future',
      message: 'm',
    });
  });

  it('ignores unknown types and broken frames', () => {
    expect(parseServerMessage('{"type":"presence.future"}')).toBeNull();
    expect(parseServerMessage('not json')).toBeNull();
    expect(parseServerMessage('[]')).toBeNull();
    expect(
      parseServerMessage('{"type":"presence.typing","user_id":1,"conversation_id":0,"is_typing":true}'),
    ).toBeNull();
    expect(parseServerMessage('{"type":"error","code":400,"message":"m"}')).toBeNull();
  });
});

describe('parseClientMessage', () => {
  it('accepts the three client frames and says what is wrong with others', () => {
    expect(parseClientMessage('{"type":"presence.typing.start","conversation_id":7}')).toEqual({
      ok: true,
      value: { type: 'presence.typing.start', conversation_id: 7 },
    });
    expect(parseClientMessage('{"type":"presence.status.set","status":"away"}')).toEqual({
      ok: true,
      value: { type: 'presence.status.set', status: 'away' },
    });
    expect(parseClientMessage('{"type":"presence.status.set","status":"offline"}')).toMatchObject({
      ok: false,
    });
    expect(parseClientMessage('{"type":"presence.typing.stop","conversation_id":"7"}')).toMatchObject({
      ok: false,
    });
  });
});
