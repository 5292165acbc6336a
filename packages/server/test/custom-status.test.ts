import type { UserPresence } from '@presence/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer, ServerOptions } from '../src/app.js';
import {
  AUTH_SECRET,
  api,
  befriend,
  Cluster,
  graph,
  startEmbedded,
  TestClient,
  type Trio,
  trio,
} from './support/server.js';
import { hasPostgres, hasRedis } from './support/services.js';
import { WEBHOOK_SECRET, WebhookReceiver } from './support/webhook-receiver.js';

/** Contract section 14: the custom status over real sockets and HTTP, on both stores. */

const sharedUp = (await hasRedis()) && (await hasPostgres());

const setups = [
  {
    name: 'the memory store and PGlite',
    available: true,
    async start(options: ServerOptions) {
      const server = await startEmbedded({ demo: false, authSecret: AUTH_SECRET, ...options });
      return { server, stop: () => server.close() };
    },
  },
  {
    name: 'Redis and PostgreSQL',
    available: sharedUp,
    async start(options: ServerOptions) {
      const cluster = new Cluster();
      const server = await cluster.start(options);
      return { server, stop: () => cluster.stop() };
    },
  },
];

const LUNCH = { text: 'Lunch', emoji: '🍕', expires_at: null };
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

const put = (server: RunningServer, token: string, body: unknown) =>
  api(server, 'PUT', '/api/presence/custom-status/', { token, body });
const clear = (server: RunningServer, token: string) =>
  api(server, 'DELETE', '/api/presence/custom-status', { token });

async function read(server: RunningServer, token: string, userId: number): Promise<UserPresence> {
  const answer = await api(server, 'GET', `/api/presence/status/${userId}`, { token });
  expect(answer.status).toBe(200);
  return answer.body as UserPresence;
}

/** Barrier: c changes status and every watcher waits for it; what was fanned out before it has arrived. */
async function barrier(t: Trio, watchers: TestClient[], status: 'away' | 'online') {
  t.cc.send({ type: 'presence.status.set', status });
  await Promise.all(
    watchers.map((w) => w.next('presence.status', (m) => m.user_id === t.ids.c && m.status === status)),
  );
}

for (const setup of setups)
  describe.skipIf(!setup.available)(`custom status on ${setup.name}`, () => {
    let server: RunningServer;
    let stop: () => Promise<void>;
    let receiver: WebhookReceiver;
    let base = 1_000;
    const open: Trio[] = [];
    const next = async () => {
      base += 10;
      const t = await trio(base, server);
      open.push(t);
      return t;
    };

    beforeAll(async () => {
      receiver = await WebhookReceiver.start();
      ({ server, stop } = await setup.start({ webhookUrl: receiver.url, webhookSecret: WEBHOOK_SECRET }));
    });
    afterAll(async () => {
      await Promise.all(open.map((t) => t.close()));
      await stop();
      await receiver.close();
    });

    it('announces a set and a clear to watchers and own devices like a status change, each with a larger v', async () => {
      const t = await next();
      const { a } = t.ids;
      const before = await read(server, t.tokens.b, a);
      expect(before.custom).toBeNull();
      const set = await put(server, t.tokens.a, { ...LUNCH, expires_at: inMs(3_600_000) });
      expect(set.status).toBe(200);
      expect(set.body).toMatchObject({
        user_id: a,
        status: 'online',
        custom: { text: 'Lunch', emoji: '🍕' },
      });
      expect(set.body.v).toBeGreaterThan(before.v);
      const [onB, onA] = await Promise.all([
        t.cb.next('presence.status', (m) => m.user_id === a && m.custom !== null),
        // a's own devices hear it too (after a's own arrival, which they heard first).
        t.ca.next('presence.status', (m) => m.user_id === a && m.custom !== null),
      ]);
      expect(onB).toEqual({ type: 'presence.status', ...set.body });
      expect(onA).toEqual(onB);
      expect(await read(server, t.tokens.b, a)).toEqual(set.body);

      const cleared = await clear(server, t.tokens.a);
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({ user_id: a, status: 'online', custom: null });
      expect(cleared.body.v).toBeGreaterThan(set.body.v);
      expect(await t.cb.next('presence.status', (m) => m.user_id === a && m.custom === null)).toEqual({
        type: 'presence.status',
        ...cleared.body,
      });
      // Clearing nothing is no change: the same presence, no frame (the barrier comes after any). Frames about a
      // are compared by version: one of a's arrival may still come late from the trio's set-up.
      const again = await clear(server, t.tokens.a);
      expect(again.body).toEqual(cleared.body);
      await barrier(t, [t.cb], 'away');
      expect(
        t.cb.received.filter((m) => m.type === 'presence.status' && m.user_id === a && m.v > cleared.body.v),
      ).toEqual([]);
    });

    it('announces the expiry at its time, with a larger v, and the webhook carries every change', async () => {
      const t = await next();
      const { a } = t.ids;
      const set = await put(server, t.tokens.a, { emoji: '🏃', expires_at: inMs(700) });
      expect(set.body.custom).toEqual({ text: null, emoji: '🏃', expires_at: expect.any(String) });
      await t.cb.next('presence.status', (m) => m.user_id === a && m.custom !== null);
      const expired = await t.cb.next('presence.status', (m) => m.user_id === a && m.custom === null, 5_000);
      expect(expired.v).toBeGreaterThan(set.body.v);
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(set.body.custom.expires_at));
      expect(await read(server, t.tokens.b, a)).toMatchObject({ custom: null, v: expired.v });
      const event = (v: number) =>
        receiver.accepted().find((e) => e.presence.user_id === a && e.presence.v === v);
      await receiver.until(() => event(expired.v) !== undefined, 'the expiry event');
      expect(event(set.body.v)?.presence).toMatchObject({ custom: set.body.custom });
      expect(event(expired.v)?.presence).toMatchObject({ custom: null, status: 'online' });
    });

    it('keeps the custom status of an offline user in reads, snapshots and frames until cleared', async () => {
      base += 10;
      const [d, w] = [base + 1, base + 2];
      await befriend(server, d, w);
      const [dt, wt] = [await server.mintToken(d), await server.mintToken(w)];
      await api(server, 'POST', '/api/presence/heartbeat/', { token: dt });
      const set = await put(server, dt, LUNCH);
      expect(set.body).toMatchObject({
        status: 'online',
        custom: { text: 'Lunch', emoji: '🍕', expires_at: null },
      });
      const beat = await api(server, 'POST', '/api/presence/heartbeat/', {
        token: dt,
        body: { status: 'offline' },
      });
      expect(beat.body).toMatchObject({ status: 'offline', custom: set.body.custom });
      expect(await read(server, wt, d)).toMatchObject({ status: 'offline', custom: set.body.custom });
      const watcher = await TestClient.connect(server, w);
      const snapshot = await watcher.next('presence.snapshot');
      expect(snapshot.users.find((u) => u.user_id === d)).toMatchObject({
        status: 'offline',
        custom: set.body.custom,
      });
      const bulk = await api(server, 'POST', '/api/presence/statuses/', {
        token: wt,
        body: { user_ids: [d] },
      });
      expect(bulk.body.users).toEqual([await read(server, wt, d)]);
      // Coming back carries it too.
      await api(server, 'POST', '/api/presence/heartbeat/', { token: dt });
      expect(await watcher.next('presence.status', (m) => m.user_id === d)).toMatchObject({
        status: 'online',
        custom: set.body.custom,
      });
      const lazy = await TestClient.connect(server, w, { subscribe: 'manual' });
      await lazy.next('presence.snapshot');
      lazy.send({ type: 'presence.subscribe', user_ids: [d] });
      expect((await lazy.next('presence.subscribed')).users).toEqual([
        expect.objectContaining({ user_id: d, custom: set.body.custom }),
      ]);
      await Promise.all([watcher.close(), lazy.close()]);
    });

    it('shows an invisible user with custom null to others, and the truth to the user', async () => {
      const t = await next();
      const { a } = t.ids;
      await put(server, t.tokens.a, LUNCH);
      await t.cb.next('presence.status', (m) => m.user_id === a && m.custom !== null);
      expect(
        (
          await api(server, 'PATCH', '/api/presence/settings/', {
            token: t.tokens.a,
            body: { invisible: true },
          })
        ).status,
      ).toBe(200);
      expect(
        await t.cb.next('presence.status', (m) => m.user_id === a && m.status === 'offline'),
      ).toMatchObject({
        status: 'offline',
        custom: null,
      });
      const changed = await put(server, t.tokens.a, { text: 'Hidden', emoji: null, expires_at: inMs(600) });
      expect(changed.body.custom).toMatchObject({ text: 'Hidden' });
      expect(
        await t.ca.next('presence.status', (m) => m.user_id === a && m.custom?.text === 'Hidden'),
      ).toMatchObject({ v: changed.body.v });
      // The expiry goes to a's own devices only.
      await t.ca.next('presence.status', (m) => m.user_id === a && m.custom === null, 5_000);
      await barrier(t, [t.cb], 'away');
      expect(
        t.cb.received.filter((m) => m.type === 'presence.status' && m.user_id === a && m.v >= changed.body.v),
      ).toEqual([]);
      await put(server, t.tokens.a, LUNCH);
      expect(await read(server, t.tokens.b, a)).toMatchObject({ status: 'offline', custom: null });
      const fresh = await TestClient.connect(server, t.ids.b);
      expect((await fresh.next('presence.snapshot')).users.find((u) => u.user_id === a)).toMatchObject({
        custom: null,
      });
      const own = await TestClient.connect(server, a);
      expect((await own.next('presence.snapshot')).self).toMatchObject({
        invisible: true,
        custom: { text: 'Lunch' },
      });
      expect(await read(server, t.tokens.a, a)).toMatchObject({ custom: { text: 'Lunch' } });
      await Promise.all([fresh.close(), own.close()]);
    });

    it('shows nothing of it across a block', async () => {
      const t = await next();
      const { a, b } = t.ids;
      await graph(server, 'PUT', `blocks/${b}/${a}`);
      await t.cb.next('presence.status', (m) => m.user_id === a && m.last_seen === null);
      const set = await put(server, t.tokens.a, LUNCH);
      await t.cc.next('presence.status', (m) => m.user_id === a && m.v === set.body.v);
      await barrier(t, [t.cb], 'away');
      expect(
        t.cb.received.filter((m) => m.type === 'presence.status' && m.user_id === a && m.v >= set.body.v),
      ).toEqual([]);
      expect((await api(server, 'GET', `/api/presence/status/${a}`, { token: t.tokens.b })).status).toBe(404);
    });
  });
