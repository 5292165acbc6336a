import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RunningServer } from '../src/app.js';
import { BoundedCache, ENTRY_OVERHEAD_BYTES } from '../src/auth/bounded-cache.js';
import { createTokenCheck, type TokenCheck } from '../src/auth/token-check.js';
import { BAD_VERDICTS, MAX_TOKEN_LENGTH, TokenVerifier } from '../src/auth/token-verifier.js';
import { createUserTokenVerifier, tokenKey } from '../src/auth/tokens.js';
import { api, sendUdp, startEmbedded } from './support/server.js';

const NEW = 'rotation-new-secret-0123456789';
const OLD = 'rotation-old-secret-0123456789';
const OTHER = 'rotation-other-secret-0123456789';
const seconds = () => Math.floor(Date.now() / 1000);

function sign(secret: string, userId: number, claims: Record<string, unknown> = {}, ttl = 3_600) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(String(userId))
    .setExpirationTime(seconds() + ttl)
    .sign(new TextEncoder().encode(secret));
}

/** 101 when the upgrade is accepted, else the HTTP status it was refused with. */
async function upgrade(server: RunningServer, token: string): Promise<number> {
  const socket = new WebSocket(`${server.wsUrl}?token=${token}`);
  socket.on('error', () => {});
  const status = await Promise.race([
    once(socket, 'open').then(() => 101),
    once(socket, 'unexpected-response').then(
      ([, response]) => (response as { statusCode: number }).statusCode,
    ),
  ]);
  socket.terminate();
  return status;
}

const status = async (server: RunningServer, token: string) =>
  (await api(server, 'GET', '/api/presence/online-friends', { token })).status;

const heartbeat = (userId: number, token: string) => ({ user_id: userId, token, timestamp: seconds() });

describe('shared secrets', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startEmbedded({ demo: false, authSecret: `${NEW}, ${OLD}` });
  });
  afterAll(() => server.close());

  it('accepts tokens signed with any listed secret over HTTP, WebSocket and UDP, and refuses a third', async () => {
    const cases: Array<[string, number, number, string]> = [
      [NEW, 21, 200, 'accepted'],
      [OLD, 22, 200, 'accepted'],
      [OTHER, 23, 401, 'dropped'],
    ];
    for (const [secret, userId, http, udp] of cases) {
      const token = await sign(secret, userId);
      expect(await status(server, token), secret).toBe(http);
      expect(await upgrade(server, token), secret).toBe(http === 200 ? 101 : 401);
      const [outcome] = await sendUdp(server, [heartbeat(userId, token)]);
      expect(outcome, secret).toEqual(udp === 'accepted' ? ['accepted', 'none'] : ['dropped', 'bad_token']);
    }
  });

  it('mints with the first secret', async () => {
    const token = await server.mintToken(5);
    expect(createUserTokenVerifier(tokenKey(NEW))(token)?.userId).toBe(5);
    expect(createUserTokenVerifier(tokenKey(OLD))(token)).toBeNull();
  });

  it('ignores iss and aud when neither is configured', async () => {
    expect(await status(server, await sign(NEW, 24, { iss: 'anyone', aud: 'anything' }))).toBe(200);
  });
});

describe('issuer and audience', () => {
  const iss = 'https://id.example/';
  const aud = 'presence';
  let server: RunningServer;
  beforeAll(async () => {
    server = await startEmbedded({ demo: false, authSecret: NEW, authIssuer: iss, authAudience: aud });
  });
  afterAll(() => server.close());

  it.each([
    ['both right', { iss, aud }, 200],
    ['the audience among several', { iss, aud: ['other', aud] }, 200],
    ['no issuer', { aud }, 401],
    ['another issuer', { iss: 'https://evil.example/', aud }, 401],
    ['no audience', { iss }, 401],
    ['another audience', { iss, aud: 'other' }, 401],
  ])('answers a token with %s (%j) with %i', async (_case, claims, expected) => {
    expect(await status(server, await sign(NEW, 31, claims))).toBe(expected);
  });

  it('drops a heartbeat whose issuer is wrong as bad_token, and mints tokens that carry both', async () => {
    const wrong = await sign(NEW, 32, { iss: 'https://evil.example/', aud });
    expect(await sendUdp(server, [heartbeat(32, wrong)])).toEqual([['dropped', 'bad_token']]);
    const minted = await server.mintToken(32);
    expect(await sendUdp(server, [heartbeat(32, minted)])).toEqual([['accepted', 'none']]);
    expect(await upgrade(server, minted)).toBe(101);
  });
});

/** A valid token of exactly `length` characters, padded with a claim. */
async function tokenOfLength(length: number): Promise<string> {
  // Base64url turns 3 bytes of claims into 4 characters; start a little short of the length and grow.
  for (let pad = Math.floor(((length - 150) * 3) / 4); pad < length; pad++) {
    const token = await sign(NEW, 41, { pad: 'x'.repeat(pad) });
    if (token.length === length) return token;
    if (token.length > length) break;
  }
  throw new Error(`no token of ${length} characters`);
}

describe('token length', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startEmbedded({ demo: false, authSecret: NEW });
  });
  afterAll(() => server.close());

  it(`accepts a valid token of ${MAX_TOKEN_LENGTH} characters and refuses a valid one a character longer`, async () => {
    const longest = await tokenOfLength(MAX_TOKEN_LENGTH);
    const over = await tokenOfLength(MAX_TOKEN_LENGTH + 1);
    expect(await status(server, longest)).toBe(200);
    expect(await upgrade(server, longest)).toBe(101);
    expect(await status(server, over)).toBe(401);
    expect(await upgrade(server, over)).toBe(401);
  });

  it('refuses a longer token without verifying it', async () => {
    let checks = 0;
    const real = createTokenCheck({ secrets: [NEW], rules: {} });
    const verifier = new TokenVerifier((token) => {
      checks += 1;
      return real(token);
    });
    expect(verifier.verify(await tokenOfLength(MAX_TOKEN_LENGTH + 1))).toBeNull();
    expect(checks).toBe(0);
    expect(verifier.verify(await tokenOfLength(MAX_TOKEN_LENGTH))?.userId).toBe(41);
    expect(checks).toBe(1);
  });
});

describe('verdict cache', () => {
  const counting = (check: TokenCheck) => {
    const counter = {
      checks: 0,
      check: (token: string) => {
        counter.checks += 1;
        return check(token);
      },
    };
    return counter;
  };
  const hs256 = createTokenCheck({ secrets: [NEW], rules: {} });
  /** A well-formed signature part that no secret produced. */
  const forged = (i: number, length = 43) =>
    createHash('sha512')
      .update(String(i))
      .digest('base64url')
      .repeat(Math.ceil(length / 86))
      .slice(0, length);
  /**
   * Bad tokens refused by their header, cheaply: the cache treats them as it treats forged signatures, and
   * a hundred thousand HMACs would only slow the test down.
   */
  const unsupported = `${Buffer.from('{"alg":"HS512"}').toString('base64url')}.e30`;

  it('stays within its bounds under 100,000 distinct bad tokens, and a good token still verifies from cache', async () => {
    const counter = counting(hs256);
    const verifier = new TokenVerifier(counter.check);
    const good = await sign(NEW, 7);
    expect(verifier.verify(good)?.userId).toBe(7);
    let refused = 0;
    for (let i = 0; i < 100_000; i++) if (verifier.verify(`${unsupported}.${forged(i)}`) === null) refused++;
    expect(refused).toBe(100_000);
    expect(counter.checks).toBe(100_001);
    const size = verifier.cacheSize;
    expect(size.bad).toBeLessThanOrEqual(BAD_VERDICTS.maxEntries);
    expect(size.badBytes).toBeLessThanOrEqual(BAD_VERDICTS.maxBytes);
    expect(size.good).toBe(1);
    const checks = counter.checks;
    expect(verifier.verify(good)?.userId).toBe(7);
    expect(counter.checks).toBe(checks);
  });

  it('bounds bad verdicts by bytes when their signatures are long', () => {
    const verifier = new TokenVerifier(hs256);
    for (let i = 0; i < 5_000; i++) verifier.verify(`${unsupported}.${forged(i, 3_000)}`);
    const size = verifier.cacheSize;
    expect(size.badBytes).toBeLessThanOrEqual(BAD_VERDICTS.maxBytes);
    expect(size.bad).toBeLessThan(BAD_VERDICTS.maxEntries);
    expect(size.bad).toBeGreaterThan(0);
  });

  it('bounds good verdicts by entries and by bytes', async () => {
    const tokens = await Promise.all(Array.from({ length: 300 }, (_, i) => sign(NEW, i + 1)));
    const byEntries = new TokenVerifier(hs256, { good: { maxEntries: 100, maxBytes: 1 << 30 } });
    const byBytes = new TokenVerifier(hs256, {
      good: { maxEntries: 1_000, maxBytes: 50 * (43 + ENTRY_OVERHEAD_BYTES) },
    });
    for (const token of tokens) {
      expect(byEntries.verify(token)).not.toBeNull();
      expect(byBytes.verify(token)).not.toBeNull();
    }
    expect(byEntries.cacheSize.good).toBe(100);
    expect(byBytes.cacheSize.good).toBe(50);
    expect(byBytes.cacheSize.goodBytes).toBe(50 * (43 + ENTRY_OVERHEAD_BYTES));
  });

  it('keys a verdict by the signature, not the whole token', async () => {
    const verifier = new TokenVerifier(hs256);
    const long = await tokenOfLength(3_000);
    expect(verifier.verify(long)?.userId).toBe(41);
    expect(verifier.cacheSize.goodBytes).toBe(43 + ENTRY_OVERHEAD_BYTES);
  });

  it('drops a verdict once its token has expired', async () => {
    let now = Date.now();
    const counter = counting(hs256);
    const verifier = new TokenVerifier(counter.check, { clock: () => now });
    const token = await sign(NEW, 8, {}, 60);
    expect(verifier.verify(token)?.userId).toBe(8);
    expect(verifier.verify(token)?.userId).toBe(8);
    expect(counter.checks).toBe(1);
    now += 61_000;
    expect(verifier.verify(token)).toBeNull();
    expect(verifier.cacheSize.good).toBe(0);
  });

  it('drops expired entries as new ones arrive, without a lookup', () => {
    let now = 1_000;
    const cache = new BoundedCache<number>({ maxEntries: 10_000, maxBytes: 1 << 30 });
    for (let i = 0; i < 1_000; i++) cache.set(`old-${i}`, i, now + 10, now);
    now += 11;
    for (let i = 0; i < 1_000; i++) cache.set(`new-${i}`, i, now + 10_000, now);
    expect(cache.size).toBe(1_000);
    expect(cache.get('old-0', now)).toBeUndefined();
  });

  it('keeps entries in use through a stream of new ones (second chance)', () => {
    const cache = new BoundedCache<number>({ maxEntries: 100, maxBytes: 1 << 30 });
    cache.set('hot', 0, 1e12, 0);
    for (let i = 0; i < 1_000; i++) {
      expect(cache.get('hot', 0)).toBe(0);
      cache.set(`cold-${i}`, i, 1e12, 0);
    }
    expect(cache.size).toBe(100);
    expect(cache.get('cold-0', 0)).toBeUndefined();
  });

  it('refuses a malformed signature part without checking or caching it', () => {
    const counter = counting(hs256);
    const verifier = new TokenVerifier(counter.check);
    for (const token of ['no-dots', 'a.b.', 'a.b.c+d', 'a.b.c d', `a.b.${'é'.repeat(40)}`]) {
      expect(verifier.verify(token)).toBeNull();
    }
    expect(counter.checks).toBe(0);
    expect(verifier.cacheSize.bad).toBe(0);
  });
});
