import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { api, serverSetups } from './support/server.js';

/** Contract section 14: what `PUT /api/presence/custom-status/` takes, and that a refusal changes nothing. */

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const DAY = 24 * 60 * 60 * 1000;

/** Each refused body, with what the message must say. */
const REFUSED: Array<[name: string, body: unknown, message: RegExp]> = [
  ['an unknown key', { text: 'hi', mood: 'good' }, /unknown key "mood"/],
  ['129 code points of text', { text: 'a'.repeat(129) }, /text is 129 code points long; at most 128/],
  ['17 code points of emoji', { emoji: '👍'.repeat(17) }, /emoji is 17 code points long; at most 16/],
  ['a C0 control character', { text: 'bell\u0007' }, /text holds a control character \(U\+0007\)/],
  ['a newline', { text: 'two\nlines' }, /control character \(U\+000A\)/],
  ['DEL', { emoji: '\u007f' }, /emoji holds a control character \(U\+007F\)/],
  ['a C1 control character', { text: 'next\u0085line' }, /control character \(U\+0085\)/],
  ['a lone high surrogate', { text: 'half \ud83d' }, /text holds a lone surrogate \(U\+D83D\)/],
  ['a lone low surrogate', { emoji: '\ude00' }, /emoji holds a lone surrogate \(U\+DE00\)/],
  ['neither text nor emoji', {}, /needs a non-empty text or emoji/],
  ['empty text and null emoji', { text: '', emoji: null }, /needs a non-empty text or emoji/],
  ['a text that is not a string', { text: 5 }, /text must be string/],
  ['an expiry in the past', { text: 'hi', expires_at: inMs(-1_000) }, /expires_at must be in the future/],
  ['an expiry past a year', { text: 'hi', expires_at: inMs(366 * DAY) }, /at most a year/],
  ['an expiry that is no time', { text: 'hi', expires_at: 'tomorrow' }, /ISO 8601/],
  ['an expiry without a time zone', { text: 'hi', expires_at: '2030-01-01T10:00:00' }, /ISO 8601/],
  ['a day the month lacks', { text: 'hi', expires_at: '2030-02-30T10:00:00Z' }, /ISO 8601/],
  ['an expiry as a number', { text: 'hi', expires_at: Date.now() + 60_000 }, /expires_at must be string/],
  ['an array', [{ text: 'hi' }], /body must be object/],
];

for (const setup of await serverSetups())
  describe.skipIf(!setup.available)(`custom status input on ${setup.name}`, () => {
    let server: RunningServer;
    let stop: () => Promise<void>;
    beforeAll(async () => {
      ({ server, stop } = await setup.start());
    });
    afterAll(() => stop());

    const put = (token: string, body: unknown, raw?: string) =>
      api(server, 'PUT', '/api/presence/custom-status/', { token, body, raw });
    const own = async (token: string, userId: number) =>
      (await api(server, 'GET', `/api/presence/status/${userId}`, { token })).body;

    it('refuses each broken rule with 400 and a message naming it, and changes nothing', async () => {
      const token = await server.mintToken(201);
      await api(server, 'POST', '/api/presence/heartbeat/', { token });
      const set = await put(token, { text: 'Before', emoji: '🙂' });
      expect(set.status).toBe(200);
      for (const [name, body, message] of REFUSED) {
        const answer = await put(token, body);
        expect(answer.status, name).toBe(400);
        expect(answer.body.error.code, name).toBe('bad_request');
        expect(answer.body.error.message, name).toMatch(message);
      }
      // A lone surrogate escaped in the JSON itself (what JSON.stringify of a broken string sends).
      const raw = await put(token, undefined, '{"text":"x\\udbff"}');
      expect(raw.status).toBe(400);
      expect(raw.body.error.message).toMatch(/lone surrogate \(U\+DBFF\)/);
      expect(await own(token, 201)).toEqual(set.body);
    });

    it('counts code points, not UTF-16 units: 128 emoji of text and a 16-code-point emoji are taken', async () => {
      const token = await server.mintToken(202);
      const text = '😀'.repeat(128);
      expect(text.length).toBe(256);
      // A family: man ZWJ woman ZWJ girl ZWJ boy, 7 code points; with skin tones and more it stays within 16.
      const emoji = '👨‍👩‍👧‍👦👍🏽🇫🇷🏳️‍🌈✨';
      expect([...emoji].length).toBe(16);
      const answer = await put(token, { text, emoji, expires_at: inMs(364 * DAY) });
      expect(answer.status).toBe(200);
      expect(answer.body.custom).toMatchObject({ text, emoji });
      expect(await own(token, 202)).toEqual(answer.body);
    });

    it('answers the user presence with custom from the heartbeat too, and normalizes an absent field to null', async () => {
      const token = await server.mintToken(203);
      // Thirty days ahead, written in another time zone (+02:00), answered in UTC with milliseconds.
      const at = Math.floor((Date.now() + 30 * DAY) / 1_000) * 1_000;
      const zoned = `${new Date(at + 2 * 3_600_000).toISOString().slice(0, 19)}+02:00`;
      const set = await put(token, { emoji: '🌴', expires_at: zoned });
      expect(set.body.custom).toEqual({ text: null, emoji: '🌴', expires_at: new Date(at).toISOString() });
      const beat = await api(server, 'POST', '/api/presence/heartbeat/', { token });
      expect(beat.body).toMatchObject({ status: 'online', custom: set.body.custom });
      expect(beat.body.v).toBeGreaterThan(set.body.v);
    });

    it('rate limits changes per user like the settings: a burst of 10, then 429 with Retry-After', async () => {
      const token = await server.mintToken(204);
      for (let i = 0; i < 10; i++) {
        const answer =
          i % 2 === 0
            ? await put(token, { text: `n${i}` })
            : await api(server, 'DELETE', '/api/presence/custom-status', { token });
        expect(answer.status).toBe(200);
      }
      const refused = await put(token, { text: 'one more' });
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('rate_limited');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await own(token, 204)).custom).toBeNull();
      // Another user has a bucket of their own; the settings too.
      expect((await put(await server.mintToken(205), { text: 'mine' })).status).toBe(200);
      expect(
        (await api(server, 'PATCH', '/api/presence/settings', { token, body: { last_seen: 'friends' } }))
          .status,
      ).toBe(200);
    });

    it('wants a token', async () => {
      expect((await api(server, 'PUT', '/api/presence/custom-status', { body: { text: 'x' } })).status).toBe(
        401,
      );
      expect((await api(server, 'DELETE', '/api/presence/custom-status')).status).toBe(401);
    });
  });
