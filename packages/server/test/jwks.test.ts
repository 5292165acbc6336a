import { generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RunningServer } from '../src/app.js';
import { JwksKeys, parseJwks } from '../src/auth/jwks.js';
import { createTokenCheck } from '../src/auth/token-check.js';
import { TokenVerifier } from '../src/auth/token-verifier.js';
import { api, befriend, sendUdp, startEmbedded, TestClient } from './support/server.js';

const SECRET = 'jwks-test-secret-0123456789';
const seconds = () => Math.floor(Date.now() / 1000);

interface SigningKey {
  kid: string;
  jwk: JsonWebKey;
  sign(userId: number, claims?: Record<string, unknown>): Promise<string>;
}

function signingKey(kid: string, kind: 'rsa' | 'ec'): SigningKey {
  const alg = kind === 'rsa' ? 'RS256' : 'ES256';
  const { publicKey, privateKey } =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    kid,
    jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
    sign: (userId, claims = {}) => signWith(privateKey, { alg, kid }, userId, claims),
  };
}

function signWith(
  key: KeyObject | Uint8Array,
  header: { alg: string; kid?: string },
  userId: number,
  claims: Record<string, unknown> = {},
) {
  return new SignJWT(claims)
    .setProtectedHeader(header)
    .setSubject(String(userId))
    .setExpirationTime(seconds() + 3_600)
    .sign(key);
}

/** An identity provider's JWKS endpoint on a free port: the keys it serves can change, and it counts requests. */
async function jwksServer(keys: SigningKey[]) {
  const state = { keys, requests: 0, status: 200 };
  const server = createServer((_request, response) => {
    state.requests += 1;
    if (state.status !== 200) return response.writeHead(state.status).end();
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: state.keys.map((k) => k.jwk) }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    close() {
      server.closeAllConnections();
      server.close();
    },
  });
}

/** A logger that keeps its lines, so a test can wait for one (the JWKS reports each fetch it makes). */
function recordingLogger() {
  const lines: Array<{ msg: string; [field: string]: unknown }> = [];
  const waiters: Array<{ msg: string; resolve: (line: (typeof lines)[number]) => void }> = [];
  const logger = pino(
    { level: 'info' },
    {
      write(text: string) {
        const line = JSON.parse(text);
        lines.push(line);
        for (const waiter of waiters.filter((w) => w.msg === line.msg)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      },
    },
  );
  /** The next line with this message, logged after the call. */
  const next = (msg: string) =>
    new Promise<(typeof lines)[number]>((resolve) => waiters.push({ msg, resolve }));
  return { logger, lines, next };
}

const rsa = signingKey('rsa-1', 'rsa');
const ec = signingKey('ec-1', 'ec');
const rsaNext = signingKey('rsa-2', 'rsa');
const ecNext = signingKey('ec-2', 'ec');

describe('JWKS keys under the verifier', () => {
  let now = Date.now();
  const clock = () => now;
  const opened: Array<{ close(): void }> = [];
  afterEach(() => {
    for (const thing of opened.splice(0)) thing.close();
  });

  async function setup(keys: SigningKey[], options: { retryMinMs?: number; status?: number } = {}) {
    const server = await jwksServer(keys);
    server.status = options.status ?? 200;
    const logs = recordingLogger();
    const jwks = new JwksKeys({ url: server.url, rules: {}, clock, logger: logs.logger, ...options });
    opened.push(server, jwks);
    await jwks.start();
    const verifier = new TokenVerifier(createTokenCheck({ secrets: [SECRET], jwks, rules: {} }), { clock });
    return { server, jwks, verifier, logs };
  }

  it('fetches the set at start and accepts RS256 and ES256 tokens whose kid it holds', async () => {
    const { server, verifier } = await setup([rsa, ec]);
    expect(server.requests).toBe(1);
    expect(verifier.verify(await rsa.sign(1))?.userId).toBe(1);
    expect(verifier.verify(await ec.sign(2))?.userId).toBe(2);
    expect(
      verifier.verify(await signWith(new TextEncoder().encode(SECRET), { alg: 'HS256' }, 3))?.userId,
    ).toBe(3);
  });

  it('refuses a token whose alg is not its key’s, an HS256 one keyed with the public key, and alg none', async () => {
    const { verifier } = await setup([rsa, ec]);
    const ecPrivate = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const publicPem = parseJwks({ keys: [rsa.jwk] }, {}).keys.get(rsa.kid)?.pem as string;
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', kid: rsa.kid })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: '4', exp: seconds() + 60 }),
    ).toString('base64url')}.`;
    expect(verifier.verify(await signWith(ecPrivate, { alg: 'ES256', kid: rsa.kid }, 4))).toBeNull();
    expect(
      verifier.verify(await signWith(Buffer.from(publicPem), { alg: 'HS256', kid: rsa.kid }, 4)),
    ).toBeNull();
    expect(verifier.verify(unsigned)).toBeNull();
  });

  it('refuses an unknown kid, refetches in the background, and accepts it once the set holds it', async () => {
    const { server, jwks, verifier } = await setup([rsa]);
    server.keys = [rsa, ec];
    const token = await ec.sign(5);
    expect(verifier.verify(token)).toBeNull();
    await jwks.settled();
    expect(server.requests).toBe(2);
    expect(verifier.verify(token)?.userId).toBe(5);
  });

  it('refetches for unknown kids at most once a minute', async () => {
    const { server, jwks, verifier } = await setup([rsa]);
    expect(verifier.verify(await ec.sign(6))).toBeNull();
    await jwks.settled();
    expect(server.requests).toBe(2);

    server.keys = [rsa, ec];
    now += 59_000;
    const token = await ec.sign(6);
    expect(verifier.verify(token)).toBeNull();
    expect(verifier.verify(await ecNext.sign(6))).toBeNull();
    await jwks.settled();
    expect(server.requests).toBe(2);
    expect(verifier.verify(token)).toBeNull();

    now += 1_000;
    expect(verifier.verify(token)).toBeNull();
    await jwks.settled();
    expect(server.requests).toBe(3);
    expect(verifier.verify(token)?.userId).toBe(6);
  });

  it('stops honouring the verdicts of a key the set no longer holds', async () => {
    const { server, jwks, verifier } = await setup([rsa, ec]);
    const old = await rsa.sign(7);
    expect(verifier.verify(old)?.userId).toBe(7);
    server.keys = [rsaNext, ec];
    const fresh = await rsaNext.sign(7);
    expect(verifier.verify(fresh)).toBeNull();
    await jwks.settled();
    expect(verifier.verify(fresh)?.userId).toBe(7);
    expect(verifier.verify(old)).toBeNull();
    expect(verifier.verify(await ec.sign(8))?.userId).toBe(8);
  });

  it('keeps the keys it holds when a refetch fails', async () => {
    const { server, jwks, verifier, logs } = await setup([rsa]);
    server.status = 503;
    now += 60_000;
    const failed = logs.next('jwks fetch failed; keeping the keys already loaded');
    expect(verifier.verify(await ec.sign(9))).toBeNull();
    await jwks.settled();
    await failed;
    expect(verifier.verify(await rsa.sign(9))?.userId).toBe(9);
  });

  it('starts without the set when it cannot be fetched, says so, and retries until it loads', async () => {
    const { server, jwks, verifier, logs } = await setup([rsa], { status: 503, retryMinMs: 20 });
    expect(logs.lines.map((l) => l.msg)).toEqual([
      'jwks fetch failed; RS256 and ES256 tokens are refused until it loads',
    ]);
    const token = await rsa.sign(10);
    expect(verifier.verify(token)).toBeNull();
    const loaded = logs.next('jwks loaded');
    server.status = 200;
    await loaded;
    expect(jwks.size).toBe(1);
    expect(verifier.verify(token)?.userId).toBe(10);
  });

  it('starts when nothing listens at the URL', async () => {
    const gone = await jwksServer([rsa]);
    gone.close();
    const logs = recordingLogger();
    const jwks = new JwksKeys({ url: gone.url, rules: {}, clock, logger: logs.logger });
    opened.push(jwks);
    await jwks.start();
    expect(jwks.size).toBe(0);
    expect(logs.lines[0]).toMatchObject({ retryInMs: 1_000 });
  });

  it('keeps only usable signing keys', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    const { keys, skipped } = parseJwks(
      {
        keys: [
          rsa.jwk,
          ec.jwk,
          { ...weak, kid: 'weak' },
          { ...p384, kid: 'p384' },
          { ...rsaNext.jwk, kid: 'enc', use: 'enc' },
          { ...rsaNext.jwk, kid: 'pss', alg: 'PS256' },
          { ...rsaNext.jwk, kid: undefined },
          { ...ecNext.jwk, kid: rsa.kid },
          { kty: 'RSA', kid: 'broken', n: 'AQAB', e: '' },
          'junk',
        ],
      },
      {},
    );
    expect([...keys.keys()]).toEqual([rsa.kid, ec.kid]);
    expect(skipped).toBe(8);
    expect(() => parseJwks({ kid: 'x' }, {})).toThrow('not a JWKS');
  });
});

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

const friends = async (server: RunningServer, token: string) =>
  (await api(server, 'GET', '/api/presence/online-friends', { token })).status;
const heartbeat = (userId: number, token: string) => ({ user_id: userId, token, timestamp: seconds() });

describe('JWKS tokens over the transports', () => {
  let jwks: Awaited<ReturnType<typeof jwksServer>>;
  let server: RunningServer;
  const logs = recordingLogger();
  beforeAll(async () => {
    jwks = await jwksServer([rsa, ec]);
    server = await startEmbedded({
      demo: false,
      authSecret: SECRET,
      authJwksUrl: jwks.url,
      logger: logs.logger,
    });
  });
  afterAll(async () => {
    await server.close();
    jwks.close();
  });

  it('accepts RS256 and ES256 tokens over HTTP, WebSocket and UDP, next to HS256 ones', async () => {
    expect(jwks.requests).toBe(1);
    for (const [token, userId] of [
      [await rsa.sign(11), 11],
      [await ec.sign(12), 12],
      [await server.mintToken(13), 13],
    ] as const) {
      expect(await friends(server, token)).toBe(200);
      expect(await upgrade(server, token)).toBe(101);
      expect(await sendUdp(server, [heartbeat(userId, token)])).toEqual([['accepted', 'none']]);
    }
  });

  it('drops a heartbeat with an unknown kid as bad_token, fetches the set behind it, then accepts it', async () => {
    jwks.keys = [rsa, ec, rsaNext];
    const token = await rsaNext.sign(14);
    const loaded = logs.next('jwks loaded');
    expect(await sendUdp(server, [heartbeat(14, token)])).toEqual([['dropped', 'bad_token']]);
    expect(await loaded).toMatchObject({ reason: 'unknown_kid', keys: 3 });
    expect(jwks.requests).toBe(2);
    expect(await sendUdp(server, [heartbeat(14, token)])).toEqual([['accepted', 'none']]);
    expect(await friends(server, token)).toBe(200);
  });
});

describe('identity-provider key rotation', () => {
  let jwks: Awaited<ReturnType<typeof jwksServer>>;
  let server: RunningServer;
  const logs = recordingLogger();
  beforeAll(async () => {
    jwks = await jwksServer([rsa]);
    server = await startEmbedded({
      demo: false,
      authSecret: SECRET,
      authJwksUrl: jwks.url,
      logger: logs.logger,
    });
  });
  afterAll(async () => {
    await server.close();
    jwks.close();
  });

  it('keeps a connected client while the set rotates, and accepts new connections signed with the new key', async () => {
    await befriend(server, 21, 22);
    const oldToken = await rsa.sign(21);
    const socket = new WebSocket(`${server.wsUrl}?token=${oldToken}`);
    const messages: Array<{ type: string; user_id?: number; status?: string }> = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await once(socket, 'open');

    jwks.keys = [ecNext];
    const newToken = await ecNext.sign(22);
    const loaded = logs.next('jwks loaded');
    expect(await upgrade(server, newToken)).toBe(401);
    expect(await loaded).toMatchObject({ reason: 'unknown_kid', keys: 1 });
    const friend = await TestClient.connect({ wsUrl: server.wsUrl, mintToken: async () => newToken }, 22);
    await friend.next('presence.snapshot');

    // The old client hears its friend arrive: it is still connected and served.
    while (!messages.some((m) => m.type === 'presence.status' && m.user_id === 22))
      await once(socket, 'message');
    expect(socket.readyState).toBe(WebSocket.OPEN);
    expect(await upgrade(server, oldToken)).toBe(401);
    expect(await upgrade(server, await rsa.sign(23))).toBe(401);
    expect(jwks.requests).toBe(2);
    await friend.close();
    socket.close();
  });
});

describe('a JWKS that is down at start', () => {
  let jwks: Awaited<ReturnType<typeof jwksServer>>;
  let server: RunningServer;
  const logs = recordingLogger();
  beforeAll(async () => {
    jwks = await jwksServer([rsa]);
    jwks.status = 503;
    server = await startEmbedded({
      demo: false,
      authSecret: SECRET,
      authJwksUrl: jwks.url,
      logger: logs.logger,
    });
  });
  afterAll(async () => {
    await server.close();
    jwks.close();
  });

  it('starts anyway, logs it, serves HS256 tokens, and accepts RS256 ones once the set loads', async () => {
    expect(logs.lines.find((l) => l.msg.startsWith('jwks fetch failed'))).toMatchObject({
      level: 50,
      jwks: new URL(jwks.url).host,
      reason: 'start',
    });
    expect(await friends(server, await server.mintToken(31))).toBe(200);
    const token = await rsa.sign(32);
    expect(await friends(server, token)).toBe(401);
    const loaded = logs.next('jwks loaded');
    jwks.status = 200;
    // The back-off retry loads it, or sooner this token's kid, unknown while nothing is loaded, asks for it.
    await friends(server, token);
    await loaded;
    expect(await friends(server, token)).toBe(200);
  });
});
