import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { api, befriend, sendUdp, startEmbedded, TestClient } from './support/server.js';

const SECRET = 'udp-test-secret-0123456789';
const now = () => Math.floor(Date.now() / 1000);

describe('UDP heartbeats (contract section 7)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startEmbedded({ demo: false, authSecret: SECRET });
  });
  afterAll(() => server.close());

  const packet = async (userId: number, extra: Record<string, unknown> = {}) => ({
    user_id: userId,
    token: await server.mintToken(userId),
    timestamp: now(),
    ...extra,
  });

  it('takes a user online on a valid datagram, and a friend hears it over WebSocket', async () => {
    await befriend(server, 1, 2);
    const friend = await TestClient.connect(server, 2);
    await friend.next('presence.snapshot');
    expect(await sendUdp(server, [await packet(1)])).toEqual([['accepted', 'none']]);
    expect(await friend.next('presence.status', (m) => m.user_id === 1)).toMatchObject({ status: 'online' });
    expect(await sendUdp(server, [await packet(1, { status: 'away' })])).toEqual([['accepted', 'none']]);
    expect(await friend.next('presence.status', (m) => m.user_id === 1)).toMatchObject({ status: 'away' });
    await friend.close();
  });

  it('drops each kind of bad datagram silently, counted by reason, and changes nothing', async () => {
    const key = new TextEncoder().encode(SECRET);
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('5')
      .setExpirationTime(now() - 5)
      .sign(key);
    const cases: Array<[string, string | Buffer | object]> = [
      ['oversize', Buffer.alloc(600, 0x20)],
      ['not_json', 'hello'],
      ['not_json', Buffer.from([0xff, 0xfe, 0x00])],
      ['bad_fields', '[1,2]'],
      ['bad_fields', { user_id: '5', token: 'x', timestamp: now() }],
      ['bad_fields', { user_id: 5, timestamp: now() }],
      ['bad_fields', { user_id: 5, token: 'x' }],
      ['bad_fields', await packet(5, { status: 'busy' })],
      ['bad_fields', await packet(5, { user_id: 0 })],
      ['bad_fields', await packet(5, { device: '' })],
      ['bad_fields', await packet(5, { device: 'a b' })],
      ['bad_fields', await packet(5, { device: 'x'.repeat(65) })],
      ['bad_fields', await packet(5, { device: 7 })],
      ['bad_fields', await packet(5, { client: 'tv' })],
      ['bad_token', { user_id: 5, token: 'not-a-jwt', timestamp: now() }],
      ['bad_token', { user_id: 5, token: expired, timestamp: now() }],
      ['user_mismatch', { ...(await packet(5)), user_id: 6 }],
      ['stale_timestamp', await packet(5, { timestamp: now() - 3_600 })],
      ['stale_timestamp', await packet(5, { timestamp: now() + 3_600 })],
    ];
    for (const [reason, data] of cases) {
      expect(await sendUdp(server, [data]), reason).toEqual([['dropped', reason]]);
    }
    const token = await server.mintToken(5);
    expect((await api(server, 'GET', '/api/presence/status/5', { token })).body.status).toBe('offline');
    const metrics = (await api(server, 'GET', '/metrics')).body as string;
    expect(metrics).toContain('presence_udp_packets_total{result="dropped",reason="oversize"} 1');
    expect(metrics).toContain('presence_udp_packets_total{result="dropped",reason="bad_fields"} 11');
    expect(metrics).toContain('presence_udp_packets_total{result="dropped",reason="stale_timestamp"} 2');
  });

  it('keeps the devices a datagram names apart: an idle phone never makes the user away', async () => {
    await befriend(server, 40, 41);
    const friend = await TestClient.connect(server, 41);
    await friend.next('presence.snapshot');
    const beats = [
      await packet(40, { device: 'laptop-1', client: 'desktop' }),
      await packet(40, { device: 'phone_A', client: 'mobile', status: 'away' }),
    ];
    expect(await sendUdp(server, beats)).toEqual([
      ['accepted', 'none'],
      ['accepted', 'none'],
    ]);
    // The laptop reports away too: only now is every device away.
    expect(
      await sendUdp(server, [await packet(40, { device: 'laptop-1', client: 'desktop', status: 'away' })]),
    ).toEqual([['accepted', 'none']]);
    const away = await friend.next('presence.status', (m) => m.user_id === 40 && m.status === 'away');
    expect(away.clients).toEqual({ desktop: 'away', mobile: 'away' });
    const heard = friend.received.filter((m) => m.type === 'presence.status' && m.user_id === 40);
    // What came before the away (the away itself was taken from the list above): online only.
    expect(heard.map((m) => m.type === 'presence.status' && m.status)).toEqual(['online', 'online']);
    await friend.close();
  });

  it('drops unchanged heartbeats within the interval as rate_limited, but lets a change through', async () => {
    const outcomes = await sendUdp(server, [
      await packet(7),
      await packet(7),
      await packet(7),
      await packet(7, { status: 'away' }),
    ]);
    expect(outcomes.filter(([r]) => r === 'accepted')).toHaveLength(2);
    expect(outcomes.filter(([, reason]) => reason === 'rate_limited')).toHaveLength(2);
    const token = await server.mintToken(7);
    expect((await api(server, 'GET', '/api/presence/status/7', { token })).body.status).toBe('away');
  });

  it('sets offline at once on an offline heartbeat', async () => {
    // Offline is also what a broken UDP path leaves behind, so first reach a state only a handled datagram
    // produces (online, heard by a friend), then require the offline datagram itself to be accepted and heard.
    await befriend(server, 8, 80);
    const friend = await TestClient.connect(server, 80);
    await friend.next('presence.snapshot');
    const token = await server.mintToken(8);
    expect(await sendUdp(server, [await packet(8)])).toEqual([['accepted', 'none']]);
    expect(await friend.next('presence.status', (m) => m.user_id === 8)).toMatchObject({ status: 'online' });
    expect((await api(server, 'GET', '/api/presence/status/8', { token })).body.status).toBe('online');

    expect(await sendUdp(server, [await packet(8, { status: 'offline' })])).toEqual([['accepted', 'none']]);
    expect(await friend.next('presence.status', (m) => m.user_id === 8)).toMatchObject({ status: 'offline' });
    expect((await api(server, 'GET', '/api/presence/status/8', { token })).body.status).toBe('offline');
    await friend.close();
  });

  it('takes a burst of many users in batches, all accepted', async () => {
    const packets = await Promise.all(Array.from({ length: 300 }, (_, i) => packet(1_000 + i)));
    const outcomes = await sendUdp(server, packets);
    expect(outcomes.filter(([r]) => r === 'accepted')).toHaveLength(300);
  });
});
