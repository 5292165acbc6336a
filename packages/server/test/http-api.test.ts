import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { api, befriend, graph, SERVICE_KEY, startEmbedded } from './support/server.js';

describe('HTTP API (contract section 6) on embedded defaults', () => {
  let server: RunningServer;
  let alice: string;
  let bob: string;
  let carol: string;

  beforeAll(async () => {
    server = await startEmbedded({ demo: false, authSecret: 'http-test-secret-0123456789' });
    [alice, bob, carol] = await Promise.all([
      server.mintToken(101),
      server.mintToken(102),
      server.mintToken(103),
    ]);
    await befriend(server, 101, 102);
    await graph(server, 'PUT', 'follows/103/101'); // one way: shows nothing
  });
  afterAll(() => server.close());

  it('answers a heartbeat with the user, status and last_seen, with or without the trailing slash', async () => {
    const before = Date.now();
    const first = await api(server, 'POST', '/api/presence/heartbeat/', { token: alice });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      user_id: 101,
      status: 'online',
      last_seen: expect.any(String),
      v: expect.any(Number),
      clients: { web: 'online' },
      custom: null,
    });
    expect(first.body.last_seen).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(first.body.last_seen)).toBeGreaterThanOrEqual(before);
    const away = await api(server, 'POST', '/api/presence/heartbeat', {
      token: alice,
      body: { status: 'away' },
    });
    expect(away.status).toBe(200);
    expect(away.body.status).toBe('away');
    // The change got a larger version, and reads carry the same one.
    expect(away.body.v).toBeGreaterThan(first.body.v);
    const read = await api(server, 'GET', '/api/presence/status/101', { token: alice });
    expect(read.body).toEqual(away.body);
  });

  it('refuses an unchanged heartbeat sooner than the interval with 429 and Retry-After', async () => {
    expect((await api(server, 'POST', '/api/presence/heartbeat/', { token: bob })).status).toBe(200);
    const again = await api(server, 'POST', '/api/presence/heartbeat/', {
      token: bob,
      body: { status: 'online' },
    });
    expect(again.status).toBe(429);
    expect(again.body.error.code).toBe('rate_limited');
    const retryAfter = Number(again.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
    // A change is never rate limited.
    expect(
      (await api(server, 'POST', '/api/presence/heartbeat/', { token: bob, body: { status: 'away' } }))
        .status,
    ).toBe(200);
  });

  it.each([
    ['no token', undefined],
    ['a malformed token', 'not-a-jwt'],
  ])('answers 401 for %s', async (_case, token) => {
    const result = await api(server, 'POST', '/api/presence/heartbeat/', token ? { token } : {});
    expect(result.status).toBe(401);
    expect(result.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  });

  it('answers 401 for an expired token, one signed with another secret, and one without exp', async () => {
    const key = new TextEncoder().encode('http-test-secret-0123456789');
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('101')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(key);
    const foreign = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('101')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-0123456789'));
    const noExp = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('101').sign(key);
    const badSub = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('abc')
      .setExpirationTime('1h')
      .sign(key);
    for (const token of [expired, foreign, noExp, badSub]) {
      expect((await api(server, 'GET', '/api/presence/online-friends/', { token })).status).toBe(401);
    }
  });

  it('creates a user on first sight from a valid token alone', async () => {
    const stranger = await server.mintToken(9_999);
    const result = await api(server, 'GET', '/api/presence/status/9999/', { token: stranger });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      user_id: 9_999,
      status: 'offline',
      last_seen: null,
      v: 0,
      clients: {},
      custom: null,
    });
  });

  it('shows status to oneself and to a mutual follower, and a stranger gets the same 404 as for nobody', async () => {
    expect((await api(server, 'GET', '/api/presence/status/101', { token: alice })).body.status).toBe('away');
    const byFriend = await api(server, 'GET', '/api/presence/status/101/', { token: bob });
    expect(byFriend.status).toBe(200);
    expect(byFriend.body).toMatchObject({ user_id: 101, status: 'away' });
    const byStranger = await api(server, 'GET', '/api/presence/status/101/', { token: carol });
    const missing = await api(server, 'GET', '/api/presence/status/424242/', { token: carol });
    expect(byStranger.status).toBe(404);
    expect(byStranger.body).toEqual(missing.body);
    expect(missing.status).toBe(404);
  });

  it('refuses a username with a NUL or other control character with 400, and keeps the user as it was', async () => {
    expect(
      (await api(server, 'PUT', '/api/graph/users/150', { token: SERVICE_KEY, body: { username: 'ok' } }))
        .status,
    ).toBe(204);
    for (const username of ['a\u0000b', 'tab\there', 'line\nbreak']) {
      const result = await api(server, 'PUT', '/api/graph/users/150', {
        token: SERVICE_KEY,
        body: { username },
      });
      expect(result.status, JSON.stringify(username)).toBe(400);
      expect(result.body.error.code).toBe('bad_request');
    }
  });

  it('refuses a malformed user id with 400', async () => {
    // 2^53 + 1 has 16 digits like a valid id, but is no exact JSON number.
    for (const bad of ['abc', '0', '-1', '1e3', '99999999999999999999', '9007199254740993']) {
      const result = await api(server, 'GET', `/api/presence/status/${bad}/`, { token: alice });
      expect(result.status, bad).toBe(400);
      expect(result.body.error.code).toBe('bad_request');
      const write = await api(server, 'PUT', `/api/graph/users/${bad}`, { token: SERVICE_KEY, body: {} });
      expect(write.status, bad).toBe(400);
      const conversation = await api(server, 'GET', `/api/presence/conversations/${bad}/online/`, {
        token: alice,
      });
      expect(conversation.status, bad).toBe(400);
    }
  });

  it('lists online friends (not offline ones, not one-way followers)', async () => {
    await befriend(server, 101, 104);
    const result = await api(server, 'GET', '/api/presence/online-friends/', { token: alice });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      users: [
        {
          user_id: 102,
          status: 'away',
          last_seen: expect.any(String),
          v: expect.any(Number),
          clients: { web: 'away' },
          custom: null,
        },
      ],
    });
  });

  it('lists online participants of a conversation, and 404 for a non-participant', async () => {
    await graph(server, 'PUT', 'conversations/500', { participant_ids: [101, 103] });
    const mine = await api(server, 'GET', '/api/presence/conversations/500/online/', { token: carol });
    expect(mine.status).toBe(200);
    expect(mine.body.users.map((u: { user_id: number }) => u.user_id)).toEqual([101]);
    const notMine = await api(server, 'GET', '/api/presence/conversations/500/online', { token: bob });
    expect(notMine.status).toBe(404);
    const none = await api(server, 'GET', '/api/presence/conversations/501/online', { token: bob });
    expect(none.body).toEqual(notMine.body);
    // Sharing a conversation makes them visible to each other at once; deleting it ends that.
    expect((await api(server, 'GET', '/api/presence/status/101/', { token: carol })).status).toBe(200);
    await graph(server, 'DELETE', 'conversations/500');
    expect((await api(server, 'GET', '/api/presence/status/101/', { token: carol })).status).toBe(404);
  });

  it('takes visibility away at once on unfollow', async () => {
    await befriend(server, 110, 111);
    const t110 = await server.mintToken(110);
    expect((await api(server, 'GET', '/api/presence/status/111', { token: t110 })).status).toBe(200);
    await graph(server, 'DELETE', 'follows/111/110');
    expect((await api(server, 'GET', '/api/presence/status/111', { token: t110 })).status).toBe(404);
  });

  it('answers bad bodies with 400 and oversize ones with 413, changing nothing', async () => {
    const bad = [
      { raw: '{"status":' },
      { body: { status: 'busy' } },
      { body: { status: 'online', extra: 1 } },
      { body: [1, 2] },
      { raw: 'status=online', headers: { 'content-type': 'text/plain' } },
      { body: { status: 'online', device: '' } },
      { body: { status: 'online', device: 'a/b' } },
      { body: { status: 'online', device: 'x'.repeat(65) } },
      { body: { status: 'online', client: 'tv' } },
    ];
    for (const request of bad) {
      const result = await api(server, 'POST', '/api/presence/heartbeat/', { token: carol, ...request });
      expect(result.status, JSON.stringify(request)).toBe(400);
      expect(result.body.error.code).toBe('bad_request');
    }
    const huge = await api(server, 'POST', '/api/presence/heartbeat/', {
      token: carol,
      raw: JSON.stringify({ status: 'online', pad: 'x'.repeat(200_000) }),
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
    expect((await api(server, 'GET', '/api/presence/status/103', { token: carol })).body.status).toBe(
      'offline',
    );
  });

  it('guards the graph endpoints with the service key', async () => {
    const noKey = await api(server, 'PUT', '/api/graph/follows/1/2');
    expect(noKey.status).toBe(401);
    const userToken = await api(server, 'PUT', '/api/graph/follows/1/2', { token: alice });
    expect(userToken.status).toBe(401);
    const badBody = await api(server, 'PUT', '/api/graph/conversations/9', {
      body: { participant_ids: [1, 'two'] },
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    });
    expect(badBody.status).toBe(400);
    const named = await api(server, 'PUT', '/api/graph/users/77/', {
      body: { username: 'gus' },
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    });
    expect(named.status).toBe(204);
  });

  it('answers 404 for unknown paths and the demo token endpoint outside demo mode', async () => {
    expect((await api(server, 'GET', '/api/nothing')).status).toBe(404);
    expect((await api(server, 'POST', '/api/dev/token', { body: { user_id: 1 } })).status).toBe(404);
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    expect((await api(server, 'GET', '/healthz')).status).toBe(200);
    const ready = await api(server, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ redis: 'not_configured', database: 'up', degraded: false });
    const metrics = await api(server, 'GET', '/metrics');
    expect(metrics.body).toContain('presence_online_users 2');
    expect(metrics.body).toContain('presence_ws_connections 0');
    expect(metrics.body).toContain('presence_http_heartbeats_total{result="rate_limited"} 1');
  });

  it('answers bulk statuses for oneself and visible users, in request order, leaving the others out', async () => {
    await befriend(server, 160, 161);
    await befriend(server, 160, 162);
    const me = await server.mintToken(160);
    await api(server, 'POST', '/api/presence/heartbeat/', {
      token: await server.mintToken(162),
      body: { status: 'away' },
    });
    const result = await api(server, 'POST', '/api/presence/statuses/', {
      token: me,
      body: { user_ids: [162, 99_999, 160, 161, 163] },
    });
    expect(result.status).toBe(200);
    expect(result.body.users.map((u: { user_id: number }) => u.user_id)).toEqual([162, 160, 161]);
    expect(result.body.users[0]).toMatchObject({ user_id: 162, status: 'away', v: expect.any(Number) });
    for (const body of [
      { user_ids: [] },
      { user_ids: Array.from({ length: 1001 }, (_, i) => i + 1) },
      { user_ids: [0] },
      {},
    ]) {
      const bad = await api(server, 'POST', '/api/presence/statuses', { token: me, body });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('bad_request');
    }
  });
});

describe('graph endpoints without SERVICE_KEY', () => {
  it('do not exist (404)', async () => {
    const server = await startEmbedded({ serviceKey: undefined, demo: false, authSecret: 'x'.repeat(20) });
    try {
      const result = await api(server, 'PUT', '/api/graph/follows/1/2', {
        headers: { authorization: 'Bearer anything' },
      });
      expect(result.status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('demo mode', () => {
  it('mints tokens and lists its users', async () => {
    const server = await startEmbedded({ demo: true });
    try {
      const minted = await api(server, 'POST', '/api/dev/token', { body: { user_id: 2 } });
      expect(minted.status).toBe(200);
      const me = await api(server, 'GET', '/api/presence/status/1', { token: minted.body.token });
      expect(me.status).toBe(200);
      const demo = await api(server, 'GET', '/api/dev/demo');
      expect(demo.body.users.length).toBeGreaterThanOrEqual(2);
      expect((await api(server, 'POST', '/api/dev/token', { body: { user_id: 'x' } })).status).toBe(400);
    } finally {
      await server.close();
    }
  });
});
