import type { ServerMessage, UserPresence } from '@presence/protocol';
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

/** Contract section 13: privacy settings, over real sockets, on both stores and across processes. */

const sharedUp = (await hasRedis()) && (await hasPostgres());

interface Setup {
  name: string;
  available: boolean;
  start(options: ServerOptions): Promise<{ server: RunningServer; stop(): Promise<void> }>;
}

const setups: Setup[] = [
  {
    name: 'the memory store and PGlite',
    available: true,
    async start(options) {
      const server = await startEmbedded({ demo: false, authSecret: AUTH_SECRET, ...options });
      return { server, stop: () => server.close() };
    },
  },
  {
    name: 'Redis and PostgreSQL',
    available: sharedUp,
    async start(options) {
      const cluster = new Cluster();
      const server = await cluster.start(options);
      return { server, stop: () => cluster.stop() };
    },
  },
];

/** Frames about `userId` (status or typing) still unread on the client. */
const about = (client: TestClient, userId: number): ServerMessage[] =>
  client.received.filter(
    (m) => (m.type === 'presence.status' || m.type === 'presence.typing') && m.user_id === userId,
  );

const settings = (server: RunningServer, token: string, body?: unknown, raw?: string) =>
  api(server, body === undefined && raw === undefined ? 'GET' : 'PATCH', '/api/presence/settings/', {
    token,
    body,
    raw,
  });

/**
 * Barrier: c changes status and every watcher waits for it. Anything fanned out to a watcher before this call
 * (on one process, or published earlier from c's process) arrives before it.
 */
async function barrier(t: Trio, watchers: TestClient[], status: 'away' | 'online') {
  t.cc.send({ type: 'presence.status.set', status });
  await Promise.all(
    watchers.map((w) => w.next('presence.status', (m) => m.user_id === t.ids.c && m.status === status)),
  );
}

async function read(server: RunningServer, token: string, userId: number): Promise<UserPresence> {
  const answer = await api(server, 'GET', `/api/presence/status/${userId}`, { token });
  expect(answer.status).toBe(200);
  return answer.body as UserPresence;
}

/** Everything `token`'s user can learn of `userId` through the REST reads and a fresh snapshot. */
async function everyRead(
  server: RunningServer,
  token: string,
  viewer: number,
  userId: number,
  conversation: number,
) {
  const status = await read(server, token, userId);
  const bulk = (await api(server, 'POST', '/api/presence/statuses/', { token, body: { user_ids: [userId] } }))
    .body.users as UserPresence[];
  const friends = (await api(server, 'GET', '/api/presence/online-friends/', { token })).body
    .users as UserPresence[];
  const online = (await api(server, 'GET', `/api/presence/conversations/${conversation}/online/`, { token }))
    .body.users as UserPresence[];
  const socket = await TestClient.connect(server, viewer);
  const snapshot = await socket.next('presence.snapshot');
  await socket.close();
  return {
    status,
    bulk: bulk[0],
    onlineFriends: friends.find((u) => u.user_id === userId),
    conversationOnline: online.find((u) => u.user_id === userId),
    snapshot: snapshot.users.find((u) => u.user_id === userId),
  };
}

for (const setup of setups) {
  describe.skipIf(!setup.available)(`privacy settings on ${setup.name}`, () => {
    let server: RunningServer;
    let stop: () => Promise<void>;
    let receiver: WebhookReceiver;
    const open: Array<{ close(): Promise<unknown> }> = [];
    beforeAll(async () => {
      receiver = await WebhookReceiver.start();
      ({ server, stop } = await setup.start({ webhookUrl: receiver.url, webhookSecret: WEBHOOK_SECRET }));
    });
    afterAll(async () => {
      await Promise.all(open.map((t) => t.close()));
      await stop();
      await receiver.close();
    });
    const start = async (base: number) => {
      const t = await trio(base, server);
      open.push(t);
      return t;
    };

    it('answers the defaults, and the whole object after a change', async () => {
      const token = await server.mintToken(50);
      expect(await settings(server, token)).toMatchObject({
        status: 200,
        body: { invisible: false, last_seen: 'everyone' },
      });
      expect((await settings(server, token, { last_seen: 'friends' })).body).toEqual({
        invisible: false,
        last_seen: 'friends',
      });
      expect((await settings(server, token, { invisible: true })).body).toEqual({
        invisible: true,
        last_seen: 'friends',
      });
      expect((await settings(server, token, {})).body).toEqual({ invisible: true, last_seen: 'friends' });
      expect((await settings(server, token)).body).toEqual({ invisible: true, last_seen: 'friends' });
    });

    it('invisible: watchers see one offline with the last activity before it, then nothing; own devices the truth', async () => {
      const t = await start(100);
      const { a, b, c } = t.ids;
      // d: a friend of b who has never been online, the real offline user invisible must look like.
      const d = 104;
      await befriend(server, b, d);
      const before = await read(server, t.tokens.b, a);
      expect(before.status).toBe('online');

      expect((await settings(server, t.tokens.a, { invisible: true })).body).toEqual({
        invisible: true,
        last_seen: 'everyone',
      });
      const hidden = await t.cb.next('presence.status', (m) => m.user_id === a);
      expect(hidden).toEqual({
        type: 'presence.status',
        user_id: a,
        status: 'offline',
        last_seen: before.last_seen,
        v: hidden.v,
        clients: {},
        custom: null,
      });
      expect(hidden.v).toBeGreaterThan(before.v);
      await t.cc.next('presence.status', (m) => m.user_id === a && m.status === 'offline');
      // Their own device hears the change as it is, at the same version.
      expect(await t.ca.next('presence.status', (m) => m.user_id === a && m.v === hidden.v)).toMatchObject({
        status: 'online',
      });
      // The webhook fires, marked invisible, with the truth.
      await receiver.until(
        () => receiver.accepted().some((e) => e.presence.user_id === a && e.presence.v === hidden.v),
        'the invisible change',
      );
      expect(
        receiver.accepted().find((e) => e.presence.user_id === a && e.presence.v === hidden.v),
      ).toMatchObject({ presence: { status: 'online', invisible: true } });

      // A socket of b opened now never heard the change: the settings alone must keep a's changes from it.
      const lb = await TestClient.connect(server, b);
      open.push(lb);
      expect((await lb.next('presence.snapshot')).users.find((u) => u.user_id === a)).toMatchObject({
        status: 'offline',
        v: hidden.v,
      });

      // While invisible: status changes, heartbeats and typing of a reach a's devices only.
      t.ca.send({ type: 'presence.status.set', status: 'away' });
      await t.ca.next('presence.status', (m) => m.user_id === a && m.status === 'away');
      const beat = await api(server, 'POST', '/api/presence/heartbeat/', {
        token: t.tokens.a,
        body: { device: 'phone', client: 'mobile' },
      });
      expect(beat.body).toMatchObject({ status: 'online', clients: { web: 'away', mobile: 'online' } });
      await t.ca.next('presence.status', (m) => m.user_id === a && m.status === 'online');
      t.ca.send({ type: 'presence.typing.start', conversation_id: 100 });
      await t.ca.next('presence.typing', (m) => m.user_id === a && m.is_typing);
      t.ca.send({ type: 'presence.typing.stop', conversation_id: 100 });
      await t.ca.next('presence.typing', (m) => m.user_id === a && !m.is_typing);
      // They still see others.
      t.cb.send({ type: 'presence.typing.start', conversation_id: 100 });
      await t.ca.next('presence.typing', (m) => m.user_id === b && m.is_typing);
      await barrier(t, [t.cb, t.ca, lb], 'away');
      expect([about(t.cb, a), about(t.cc, a), about(lb, a)]).toEqual([[], [], []]);

      // Every read answers a real offline user, frozen: no field moved with the heartbeat or the status.
      const frozen = {
        user_id: a,
        status: 'offline',
        last_seen: before.last_seen,
        v: hidden.v,
        clients: {},
        custom: null,
      };
      const seen = await everyRead(server, t.tokens.b, b, a, 100);
      expect(seen).toEqual({
        status: frozen,
        bulk: frozen,
        onlineFriends: undefined,
        conversationOnline: undefined,
        snapshot: frozen,
      });
      const real = await read(server, t.tokens.b, d);
      expect(Object.keys(seen.status)).toEqual(Object.keys(real));
      // A fresh socket of a: the truth about itself, marked invisible.
      const own = await TestClient.connect(server, a);
      const snapshot = await own.next('presence.snapshot');
      await own.close();
      expect(snapshot.self).toMatchObject({ user_id: a, status: 'online', invisible: true });
      expect(snapshot.users.map((u) => u.user_id).sort()).toEqual([b, c]);
      expect((await read(server, t.tokens.a, a)).status).toBe('online');

      // Visible again: the real presence, announced at once, outranking the offline frame.
      expect((await settings(server, t.tokens.a, { invisible: false })).body.invisible).toBe(false);
      const shown = await t.cb.next('presence.status', (m) => m.user_id === a);
      // (a's web device is online again: the socket a just opened and closed is within its grace.)
      expect(shown).toMatchObject({ status: 'online', clients: { mobile: 'online' } });
      expect(shown.v).toBeGreaterThan(hidden.v);
      expect(await read(server, t.tokens.b, a)).toEqual({
        ...shown,
        type: undefined,
        last_seen: shown.last_seen,
      });
      t.ca.send({ type: 'presence.typing.start', conversation_id: 100 });
      await t.cb.next('presence.typing', (m) => m.user_id === a && m.is_typing);

      // Webhooks: a change made while invisible (the away above) is marked; coming back is not.
      const event = (v: number) =>
        receiver.accepted().find((e) => e.presence.user_id === a && e.presence.v === v);
      await receiver.until(() => event(shown.v) !== undefined, 'the change back to visible');
      const whileInvisible = receiver
        .accepted()
        .filter((e) => e.presence.user_id === a && e.presence.v > hidden.v && e.presence.v < shown.v);
      expect(whileInvisible.some((e) => e.presence.status === 'away')).toBe(true);
      expect(whileInvisible.map((e) => (e.presence as { invisible?: boolean }).invisible)).toEqual(
        whileInvisible.map(() => true),
      );
      expect(event(shown.v)?.presence).not.toHaveProperty('invisible');
    });

    it('last_seen friends: mutual followers see it; a conversation-only partner gets null on every path', async () => {
      const t = await start(200);
      const { a, b } = t.ids;
      // p shares conversation 200 with a, b and c but follows nobody.
      const p = 205;
      await graph(server, 'PUT', 'conversations/200', { participant_ids: [a, b, t.ids.c, p] });
      const cp = await TestClient.connect(server, p);
      open.push(cp);
      await cp.next('presence.snapshot');
      for (const x of [t.ca, t.cb, t.cc]) await x.next('presence.status', (m) => m.user_id === p);
      const pToken = await server.mintToken(p);

      await settings(server, t.tokens.a, { last_seen: 'friends' });
      const forFriend = await everyRead(server, t.tokens.b, b, a, 200);
      const forPartner = await everyRead(server, pToken, p, a, 200);
      expect(forFriend.status.last_seen).not.toBeNull();
      expect([forFriend.bulk?.last_seen, forFriend.snapshot?.last_seen]).toEqual([
        forFriend.status.last_seen,
        forFriend.status.last_seen,
      ]);
      const hiddenLastSeen = { ...forFriend.status, last_seen: null };
      expect(forPartner).toEqual({
        status: hiddenLastSeen,
        bulk: hiddenLastSeen,
        onlineFriends: hiddenLastSeen,
        conversationOnline: hiddenLastSeen,
        snapshot: hiddenLastSeen,
      });
      expect(forFriend.onlineFriends).toEqual(forFriend.status);
      expect(forFriend.conversationOnline).toEqual(forFriend.status);

      // Frames: the friend gets last_seen, the partner null.
      t.ca.send({ type: 'presence.status.set', status: 'away' });
      const toFriend = await t.cb.next('presence.status', (m) => m.user_id === a && m.status === 'away');
      const toPartner = await cp.next('presence.status', (m) => m.user_id === a && m.status === 'away');
      expect(toFriend.last_seen).not.toBeNull();
      expect(toPartner).toEqual({ ...toFriend, last_seen: null });

      // Back to everyone: the partner sees it again.
      await settings(server, t.tokens.a, { last_seen: 'everyone' });
      expect((await read(server, pToken, a)).last_seen).not.toBeNull();
    });

    it("last_seen nobody hides it from everyone, and its owner sees nobody else's", async () => {
      const t = await start(300);
      const { a, b } = t.ids;
      await settings(server, t.tokens.a, { last_seen: 'nobody' });
      // Others get null for a, on every path.
      const forB = await everyRead(server, t.tokens.b, b, a, 300);
      expect(
        [forB.status, forB.bulk, forB.onlineFriends, forB.conversationOnline, forB.snapshot].map(
          (p) => p?.last_seen,
        ),
      ).toEqual([null, null, null, null, null]);
      t.ca.send({ type: 'presence.status.set', status: 'away' });
      expect(
        (await t.cb.next('presence.status', (m) => m.user_id === a && m.status === 'away')).last_seen,
      ).toBe(null);
      // a gets null for everyone else (reciprocal), and still its own.
      const forA = await everyRead(server, t.tokens.a, a, b, 300);
      expect(
        [forA.status, forA.bulk, forA.onlineFriends, forA.conversationOnline, forA.snapshot].map(
          (p) => p?.last_seen,
        ),
      ).toEqual([null, null, null, null, null]);
      const friends = await api(server, 'GET', '/api/presence/online-friends/', { token: t.tokens.a });
      expect(friends.body.users.map((u: UserPresence) => u.last_seen)).toEqual([null, null]);
      // (c, whose status is not held up by a socket in its grace as b's is after the reads.)
      t.cc.send({ type: 'presence.status.set', status: 'away' });
      const frame = await t.ca.next('presence.status', (m) => m.user_id === t.ids.c && m.status === 'away');
      expect(frame.last_seen).toBe(null);
      expect((await read(server, t.tokens.a, a)).last_seen).not.toBeNull();
      expect((await read(server, t.tokens.b, t.ids.c)).last_seen).not.toBeNull();
    });

    it('the presence an unblock sends follows the settings: invisible stays offline, last_seen stays hidden', async () => {
      const t = await start(500);
      const { a, b } = t.ids;
      await settings(server, t.tokens.a, { invisible: true, last_seen: 'nobody' });
      const hidden = await t.cb.next('presence.status', (m) => m.user_id === a && m.status === 'offline');
      expect(hidden.last_seen).toBeNull();
      await graph(server, 'PUT', `blocks/${b}/${a}`);
      expect(await t.cb.next('presence.status', (m) => m.user_id === a)).toEqual(hidden);
      await t.ca.next('presence.status', (m) => m.user_id === b && m.status === 'offline');
      await graph(server, 'DELETE', `blocks/${b}/${a}`);
      expect(await t.cb.next('presence.status', (m) => m.user_id === a)).toEqual(hidden);
      // a (whose own setting is nobody) gets b back without last_seen.
      const back = await t.ca.next('presence.status', (m) => m.user_id === b && m.status === 'online');
      expect(back.last_seen).toBeNull();
    });

    it('limits changes to 10 in a burst per user, then one every 6 s, with 429 and Retry-After', async () => {
      const user = 9_001;
      const token = await server.mintToken(user);
      for (let i = 0; i < 10; i++) {
        const answer = await settings(server, token, { last_seen: i % 2 ? 'friends' : 'nobody' });
        expect(answer.status).toBe(200);
      }
      const refused = await settings(server, token, { invisible: true });
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe('rate_limited');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Nothing changed, and reading is never limited.
      expect((await settings(server, token)).body).toEqual({ invisible: false, last_seen: 'friends' });
      // Another user is not affected.
      expect((await settings(server, await server.mintToken(9_002), { invisible: false })).status).toBe(200);
    });

    it('answers bad input with 400 (413 when oversize) and changes nothing', async () => {
      const t = await start(400);
      const { a } = t.ids;
      await settings(server, t.tokens.a, { last_seen: 'friends' });
      const bad: Array<[body: unknown, raw: string | undefined, status: number]> = [
        [{ colour: 'red' }, undefined, 400],
        [{ invisible: true, colour: 'red' }, undefined, 400],
        [{ invisible: 'true' }, undefined, 400],
        [{ invisible: 1 }, undefined, 400],
        [{ invisible: null }, undefined, 400],
        [{ last_seen: 'Everyone' }, undefined, 400],
        [{ last_seen: 'contacts' }, undefined, 400],
        [{ last_seen: null }, undefined, 400],
        [{ last_seen: ['nobody'] }, undefined, 400],
        [{ invisible: true, last_seen: 'nobdy' }, undefined, 400],
        [[{ invisible: true }], undefined, 400],
        ['invisible', undefined, 400],
        [undefined, '{"invisible": tru', 400],
        [{ invisible: true, padding: 'x'.repeat(4096) }, undefined, 413],
      ];
      for (const [body, raw, status] of bad) {
        const answer = await settings(server, t.tokens.a, body, raw);
        expect({ body, status: answer.status }).toEqual({ body, status });
        expect(answer.body.error.code).toBe(status === 400 ? 'bad_request' : 'payload_too_large');
      }
      expect(
        (await api(server, 'PATCH', '/api/presence/settings/', { body: { invisible: true } })).status,
      ).toBe(401);
      expect((await api(server, 'GET', '/api/presence/settings/')).status).toBe(401);
      // No body, an empty one, a JSON null, and JSON sent as another content type.
      for (const options of [
        {},
        { raw: '' },
        { raw: 'null' },
        { raw: '{"invisible": true}', headers: { 'content-type': 'text/plain' } },
      ]) {
        const answer = await api(server, 'PATCH', '/api/presence/settings/', {
          token: t.tokens.a,
          ...options,
        });
        expect({ options, status: answer.status, code: answer.body.error.code }).toEqual({
          options,
          status: 400,
          code: 'bad_request',
        });
      }
      expect((await settings(server, t.tokens.a)).body).toEqual({ invisible: false, last_seen: 'friends' });
      // a is not invisible: nothing was announced about a, and a's changes still arrive.
      await barrier(t, [t.cb], 'away');
      expect(about(t.cb, a)).toEqual([]);
      t.ca.send({ type: 'presence.status.set', status: 'away' });
      await t.cb.next('presence.status', (m) => m.user_id === a && m.status === 'away');
    });
  });
}

describe.skipIf(!sharedUp)('privacy settings across two processes on one Redis and one PostgreSQL', () => {
  const cluster = new Cluster();
  let one: RunningServer;
  let two: RunningServer;
  const open: Trio[] = [];
  beforeAll(async () => {
    [one, two] = await Promise.all([cluster.start(), cluster.start()]);
  });
  afterAll(async () => {
    await Promise.all(open.map((t) => t.close()));
    await cluster.stop();
  });

  it('applies a change made on one process at once on the other', async () => {
    // a on process one; b and c on process two.
    const t = await trio(700, one, two);
    open.push(t);
    const { a, b } = t.ids;
    // Both processes have a's settings cached.
    const before = await read(one, t.tokens.b, a);
    expect((await read(two, t.tokens.b, a)).last_seen).toBe(before.last_seen);

    await settings(two, t.tokens.a, { last_seen: 'nobody' });
    expect((await read(one, t.tokens.b, a)).last_seen).toBeNull();
    expect((await read(one, t.tokens.a, b)).last_seen).toBeNull();
    expect((await settings(one, t.tokens.a)).body).toEqual({ invisible: false, last_seen: 'nobody' });
    // a's change fanned out by process one already follows it.
    t.ca.send({ type: 'presence.status.set', status: 'away' });
    expect(
      (await t.cb.next('presence.status', (m) => m.user_id === a && m.status === 'away')).last_seen,
    ).toBe(null);

    await settings(two, t.tokens.a, { invisible: true, last_seen: 'everyone' });
    expect(await read(one, t.tokens.b, a)).toMatchObject({ status: 'offline', clients: {} });
    const hidden = await t.cb.next('presence.status', (m) => m.user_id === a && m.status === 'offline');
    // a's status and typing, made on process one, do not cross to b on process two.
    t.ca.send({ type: 'presence.status.set', status: 'online' });
    await t.ca.next('presence.status', (m) => m.user_id === a && m.status === 'online');
    t.ca.send({ type: 'presence.typing.start', conversation_id: 700 });
    await t.ca.next('presence.typing', (m) => m.user_id === a && m.is_typing);
    // The barrier comes from a's process after them.
    t.ca.send({ type: 'presence.typing.stop', conversation_id: 700 });
    await t.ca.next('presence.typing', (m) => m.user_id === a && !m.is_typing);
    await barrier(t, [t.cb], 'away');
    expect(about(t.cb, a)).toEqual([]);
    expect(await read(two, t.tokens.b, a)).toEqual({ ...hidden, type: undefined });

    await settings(one, t.tokens.a, { invisible: false });
    expect((await read(two, t.tokens.b, a)).status).toBe('online');
    expect(await t.cb.next('presence.status', (m) => m.user_id === a)).toMatchObject({ status: 'online' });
  });
});
