import type { ServerMessage } from '@presence/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { LocalBus } from '../src/bus/bus.js';
import { userGroup } from '../src/core/ports.js';
import { DEFAULT_SESSION_LIMITS, Session } from '../src/core/session.js';
import { encodeNotice } from '../src/core/visibility-notices.js';
import { PresenceRepository } from '../src/db/presence-repository.js';
import { redisKeys } from '../src/store/redis/keys.js';
import { databaseBackends } from './support/backends.js';
import {
  AUTH_SECRET,
  api,
  befriend,
  Cluster,
  graph,
  SERVICE_KEY,
  serverSetups,
  startEmbedded,
  TestClient,
  type Trio,
  trio,
} from './support/server.js';
import { hasPostgres, hasRedis, REDIS_URL } from './support/services.js';
import { noWatches } from './support/watches.js';

/** Contract section 12, first bullet: blocks, over real sockets, on both stores and across processes. */

const sharedUp = (await hasRedis()) && (await hasPostgres());

const setups = await serverSetups();

const serviceKey = { authorization: `Bearer ${SERVICE_KEY}` };

/** Frames about `userId` (status or typing) still unread on the client. */
const about = (client: TestClient, userId: number): ServerMessage[] =>
  client.received.filter(
    (m) => (m.type === 'presence.status' || m.type === 'presence.typing') && m.user_id === userId,
  );

/** The offline frame a block sends about `presence`'s user. */
const hiddenFrame = (presence: { user_id: number; v: number }) => ({
  type: 'presence.status',
  user_id: presence.user_id,
  status: 'offline',
  last_seen: null,
  v: presence.v,
  clients: {},
});

/** The presence `viewer` reads of `userId` (REST), which holds the current `v`. */
async function presenceOf(server: RunningServer, viewerToken: string, userId: number) {
  const answer = await api(server, 'GET', `/api/presence/status/${userId}`, { token: viewerToken });
  expect(answer.status).toBe(200);
  return answer.body as { user_id: number; status: string; v: number };
}

/**
 * Barrier: c changes status and `watcher` waits for it. Anything fanned out to the watcher's socket before
 * this call (on one process, or published earlier from c's process) arrives before it.
 */
async function barrier(t: Trio, watcher: TestClient | TestClient[], status: 'away' | 'online') {
  t.cc.send({ type: 'presence.status.set', status });
  const watchers = Array.isArray(watcher) ? watcher : [watcher];
  await Promise.all(
    watchers.map((w) => w.next('presence.status', (m) => m.user_id === t.ids.c && m.status === status)),
  );
}

for (const setup of setups) {
  describe.skipIf(!setup.available)(`blocks on ${setup.name}`, () => {
    let server: RunningServer;
    let stop: () => Promise<void>;
    const open: Trio[] = [];
    beforeAll(async () => {
      ({ server, stop } = await setup.start());
    });
    afterAll(async () => {
      await Promise.all(open.map((t) => t.close()));
      await stop();
    });
    const start = async (base: number) => {
      const t = await trio(base, server);
      open.push(t);
      return t;
    };

    it('tells each side once that the other is offline, then nothing more about them: no status, no typing', async () => {
      const t = await start(100);
      const { a, b, c } = t.ids;
      const [pa, pb] = [await presenceOf(server, t.tokens.b, a), await presenceOf(server, t.tokens.a, b)];
      expect((await api(server, 'PUT', `/api/graph/blocks/${a}/${b}`, { headers: serviceKey })).status).toBe(
        204,
      );
      expect(await t.ca.next('presence.status', (m) => m.user_id === b)).toEqual(hiddenFrame(pb));
      expect(await t.cb.next('presence.status', (m) => m.user_id === a)).toEqual(hiddenFrame(pa));
      // Sockets opened after the block, which never heard of it: the graph alone must keep b from a.
      const [la, lb] = [await TestClient.connect(server, a), await TestClient.connect(server, b)];
      open.push({ ...t, close: () => Promise.all([la.close(), lb.close()]) });
      expect((await la.next('presence.snapshot')).users.map((u) => u.user_id)).toEqual([c]);
      expect((await lb.next('presence.snapshot')).users.map((u) => u.user_id)).toEqual([c]);

      // b changes status (both devices away): c (still a friend) hears it; a does not, up to c's later change.
      for (const x of [t.cb, lb]) x.send({ type: 'presence.status.set', status: 'away' });
      await t.cc.next('presence.status', (m) => m.user_id === b && m.status === 'away');
      await barrier(t, [t.ca, la], 'away');
      // And the other way round.
      for (const x of [t.ca, la]) x.send({ type: 'presence.status.set', status: 'away' });
      await t.cc.next('presence.status', (m) => m.user_id === a && m.status === 'away');
      await barrier(t, [t.cb, lb], 'online');

      // Typing in the conversation all three share: c sees both, neither sees the other.
      t.cb.send({ type: 'presence.typing.start', conversation_id: 100 });
      await t.cc.next('presence.typing', (m) => m.user_id === b && m.is_typing);
      t.ca.send({ type: 'presence.typing.start', conversation_id: 100 });
      await t.cc.next('presence.typing', (m) => m.user_id === a && m.is_typing);
      t.cb.send({ type: 'presence.typing.stop', conversation_id: 100 });
      await t.cc.next('presence.typing', (m) => m.user_id === b && !m.is_typing);
      t.cc.send({ type: 'presence.typing.start', conversation_id: 100 });
      await Promise.all(
        [t.ca, t.cb, la, lb].map((x) => x.next('presence.typing', (m) => m.user_id === c && m.is_typing)),
      );
      expect([about(t.ca, b), about(la, b), about(t.cb, a), about(lb, a)]).toEqual([[], [], [], []]);
    });

    it('hides them from REST reads, online lists, conversation online and the snapshot, in both directions', async () => {
      const t = await start(200);
      const { a, b, c } = t.ids;
      await graph(server, 'PUT', `blocks/${b}/${a}`);
      await t.ca.next('presence.status', (m) => m.user_id === b);

      const nobody = await api(server, 'GET', '/api/presence/status/999999', { token: t.tokens.a });
      expect(nobody.status).toBe(404);
      for (const [token, other] of [
        [t.tokens.a, b],
        [t.tokens.b, a],
      ] as const) {
        const answer = await api(server, 'GET', `/api/presence/status/${other}`, { token });
        expect({ status: answer.status, body: answer.body }).toEqual({ status: 404, body: nobody.body });
      }
      const friends = await api(server, 'GET', '/api/presence/online-friends/', { token: t.tokens.a });
      expect(friends.body.users.map((u: { user_id: number }) => u.user_id)).toEqual([c]);
      const bulk = await api(server, 'POST', '/api/presence/statuses/', {
        token: t.tokens.a,
        body: { user_ids: [b, c, a] },
      });
      expect(bulk.body.users.map((u: { user_id: number }) => u.user_id)).toEqual([c, a]);
      const online = await api(server, 'GET', '/api/presence/conversations/200/online/', {
        token: t.tokens.b,
      });
      expect(online.body.users.map((u: { user_id: number }) => u.user_id)).toEqual([b, c]);

      const again = await TestClient.connect(server, a);
      const snapshot = await again.next('presence.snapshot');
      expect(snapshot.users.map((u) => u.user_id)).toEqual([c]);
      await again.close();
    });

    it('tells a pair who did not see each other too, without the time hidden in the version', async () => {
      const [x, y] = [801, 802];
      await graph(server, 'PUT', `users/${x}`);
      const [cx, cy] = [await TestClient.connect(server, x), await TestClient.connect(server, y)];
      open.push({ close: () => Promise.all([cx.close(), cy.close()]) } as Trio);
      await Promise.all([cx.next('presence.snapshot'), cy.next('presence.snapshot')]);
      await graph(server, 'PUT', `blocks/${x}/${y}`);
      expect(await cx.next('presence.status', (m) => m.user_id === y)).toEqual(
        hiddenFrame({ user_id: y, v: 0 }),
      );
      expect(await cy.next('presence.status', (m) => m.user_id === x)).toEqual(
        hiddenFrame({ user_id: x, v: 0 }),
      );
    });

    it('hides a pair that only follows each other and a pair that only shares a conversation', async () => {
      const [f1, f2, p1, p2] = [301, 302, 303, 304];
      await befriend(server, f1, f2);
      await graph(server, 'PUT', 'conversations/300', { participant_ids: [p1, p2] });
      const read = async (viewer: number, other: number) =>
        (await api(server, 'GET', `/api/presence/status/${other}`, { token: await server.mintToken(viewer) }))
          .status;
      expect([await read(f1, f2), await read(p2, p1)]).toEqual([200, 200]);
      await graph(server, 'PUT', `blocks/${f1}/${f2}`);
      await graph(server, 'PUT', `blocks/${p1}/${p2}`);
      expect([await read(f1, f2), await read(f2, f1), await read(p1, p2), await read(p2, p1)]).toEqual([
        404, 404, 404, 404,
      ]);
      const online = await api(server, 'GET', '/api/presence/conversations/300/online/', {
        token: await server.mintToken(p2),
      });
      expect(online.status).toBe(200);
    });

    it('unblocking shows them again, with a fresh presence frame each, as follows and conversations say', async () => {
      const t = await start(400);
      const { a, b } = t.ids;
      await graph(server, 'PUT', `blocks/${a}/${b}`);
      await t.ca.next('presence.status', (m) => m.user_id === b);
      await t.cb.next('presence.status', (m) => m.user_id === a);
      t.cb.send({ type: 'presence.status.set', status: 'away' });
      await t.cc.next('presence.status', (m) => m.user_id === b && m.status === 'away');

      expect(
        (await api(server, 'DELETE', `/api/graph/blocks/${a}/${b}`, { headers: serviceKey })).status,
      ).toBe(204);
      const pb = await presenceOf(server, t.tokens.a, b);
      const pa = await presenceOf(server, t.tokens.b, a);
      expect(pb.status).toBe('away');
      expect(await t.ca.next('presence.status', (m) => m.user_id === b)).toEqual({
        type: 'presence.status',
        ...pb,
      });
      expect(await t.cb.next('presence.status', (m) => m.user_id === a)).toEqual({
        type: 'presence.status',
        ...pa,
      });
      // Changes and typing flow again.
      t.cb.send({ type: 'presence.status.set', status: 'online' });
      await t.ca.next('presence.status', (m) => m.user_id === b && m.status === 'online');
      t.ca.send({ type: 'presence.typing.start', conversation_id: 400 });
      await t.cb.next('presence.typing', (m) => m.user_id === a && m.is_typing);
      const again = await TestClient.connect(server, a);
      const snapshot = await again.next('presence.snapshot');
      expect(snapshot.users.map((u) => u.user_id).sort()).toEqual([b, t.ids.c]);
      await again.close();
    });

    it('is idempotent and counts both directions: one frame when the pair becomes blocked, one when it is free', async () => {
      const t = await start(500);
      const { a, b } = t.ids;
      await graph(server, 'PUT', `blocks/${a}/${b}`);
      await t.ca.next('presence.status', (m) => m.user_id === b);
      await t.cb.next('presence.status', (m) => m.user_id === a);
      // The same block again, and the reverse one: nothing changes, nothing is sent.
      await graph(server, 'PUT', `blocks/${a}/${b}`);
      await graph(server, 'PUT', `blocks/${b}/${a}`);
      // One of the two lifted: the other still stands.
      await graph(server, 'DELETE', `blocks/${a}/${b}`);
      await graph(server, 'DELETE', `blocks/${a}/${b}`);
      await barrier(t, t.ca, 'away');
      await barrier(t, t.cb, 'online');
      expect(about(t.ca, b)).toEqual([]);
      expect(about(t.cb, a)).toEqual([]);
      expect((await api(server, 'GET', `/api/presence/status/${b}`, { token: t.tokens.a })).status).toBe(404);
      // The last one lifted.
      await graph(server, 'DELETE', `blocks/${b}/${a}`);
      expect(await t.ca.next('presence.status', (m) => m.user_id === b)).toMatchObject({ status: 'online' });
      expect(await t.cb.next('presence.status', (m) => m.user_id === a)).toMatchObject({ status: 'online' });
      expect((await api(server, 'GET', `/api/presence/status/${b}`, { token: t.tokens.a })).status).toBe(200);
    });

    it('answers bad input as documented and changes nothing', async () => {
      const t = await start(600);
      const { a, b } = t.ids;
      const cases: Array<[method: string, path: string, headers: Record<string, string>, status: number]> =
        [];
      for (const method of ['PUT', 'DELETE']) {
        for (const bad of ['0', '-1', 'abc', '1e3', '9007199254740993', '12345678901234567'])
          cases.push([method, `/api/graph/blocks/${bad}/${b}`, serviceKey, 400]);
        cases.push([method, `/api/graph/blocks/${a}/x${b}`, serviceKey, 400]);
        cases.push([method, `/api/graph/blocks/${a}/${a}`, serviceKey, 400]);
        cases.push([method, `/api/graph/blocks/${a}/${b}`, {}, 401]);
        cases.push([
          method,
          `/api/graph/blocks/${a}/${b}`,
          { authorization: 'Bearer wrong-key-0123456789' },
          401,
        ]);
        cases.push([method, `/api/graph/blocks/${a}/${b}`, { authorization: `Bearer ${t.tokens.a}` }, 401]);
      }
      for (const [method, path, headers, status] of cases) {
        const answer = await api(server, method, path, { headers });
        expect({ path, method, status: answer.status }).toEqual({ path, method, status });
        expect(answer.body.error.code).toBe(status === 400 ? 'bad_request' : 'unauthorized');
      }
      // Nothing was blocked: a still sees b, and b's changes still reach a.
      expect((await api(server, 'GET', `/api/presence/status/${b}`, { token: t.tokens.a })).status).toBe(200);
      t.cb.send({ type: 'presence.status.set', status: 'away' });
      await t.ca.next('presence.status', (m) => m.user_id === b && m.status === 'away');
      await barrier(t, t.ca, 'away');
      expect(about(t.ca, b)).toEqual([]);
      expect(about(t.cb, a)).toEqual([]);
    });
  });
}

describe('block endpoints without SERVICE_KEY', () => {
  it('do not exist (404)', async () => {
    const server = await startEmbedded({ serviceKey: undefined, demo: false, authSecret: AUTH_SECRET });
    try {
      for (const method of ['PUT', 'DELETE'])
        expect((await api(server, method, '/api/graph/blocks/1/2', { headers: serviceKey })).status).toBe(
          404,
        );
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(!sharedUp)('blocks across two processes on one Redis and one PostgreSQL', () => {
  const cluster = new Cluster();
  let one: RunningServer;
  let two: RunningServer;
  let redis: Redis;
  const open: Trio[] = [];
  beforeAll(async () => {
    [one, two] = await Promise.all([cluster.start(), cluster.start()]);
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await Promise.all(open.map((t) => t.close()));
    redis.disconnect();
    await cluster.stop();
  });
  const version = async (userId: number) =>
    Number((await redis.get(redisKeys(cluster.prefix).graphVersion('user', userId))) ?? 0);

  it('applies a block made on one process at once on the other, through the graph versions', async () => {
    // a on process one; b and c on process two.
    const t = await trio(700, one, two);
    open.push(t);
    const { a, b, c } = t.ids;
    // Process one has b in a's cached visible set.
    expect((await api(one, 'GET', `/api/presence/status/${b}`, { token: t.tokens.a })).status).toBe(200);
    const before = { a: await version(a), b: await version(b), c: await version(c) };
    const pb = await presenceOf(two, t.tokens.c, b);

    await graph(two, 'PUT', `blocks/${b}/${a}`);
    // Both users' graph versions grew before the answer (c's did not), so every process reads the new graph.
    expect([(await version(a)) > before.a, (await version(b)) > before.b, await version(c)]).toEqual([
      true,
      true,
      before.c,
    ]);
    expect((await api(one, 'GET', `/api/presence/status/${b}`, { token: t.tokens.a })).status).toBe(404);
    expect(await t.ca.next('presence.status', (m) => m.user_id === b)).toEqual(hiddenFrame(pb));
    await t.cb.next('presence.status', (m) => m.user_id === a);
    // A socket of a opened after the block never heard of it: the graph alone keeps b from it.
    const la = await TestClient.connect(one, a);
    open.push({ ...t, close: () => la.close().then(() => []) });
    expect((await la.next('presence.snapshot')).users.map((u) => u.user_id)).toEqual([c]);

    // b's status and typing, made on process two, do not cross to a on process one. c's barrier is published
    // from process two after them, so it reaches process one after anything of theirs would.
    t.cb.send({ type: 'presence.status.set', status: 'away' });
    await t.cc.next('presence.status', (m) => m.user_id === b && m.status === 'away');
    t.cb.send({ type: 'presence.typing.start', conversation_id: 700 });
    await t.cc.next('presence.typing', (m) => m.user_id === b && m.is_typing);
    await barrier(t, [t.ca, la], 'away');
    expect([about(t.ca, b), about(la, b)]).toEqual([[], []]);
    // a's typing on process one does not reach b on process two either.
    t.ca.send({ type: 'presence.typing.start', conversation_id: 700 });
    await t.cc.next('presence.typing', (m) => m.user_id === a && m.is_typing);
    for (const x of [t.ca, la]) x.send({ type: 'presence.status.set', status: 'away' });
    await t.cc.next('presence.status', (m) => m.user_id === a && m.status === 'away');
    await barrier(t, t.cb, 'online');
    expect(about(t.cb, a)).toEqual([]);

    // Lifted on process one: process two shows them again at once.
    await graph(one, 'DELETE', `blocks/${b}/${a}`);
    expect((await api(two, 'GET', `/api/presence/status/${a}`, { token: t.tokens.b })).status).toBe(200);
    expect(await t.cb.next('presence.status', (m) => m.user_id === a)).toMatchObject({ status: 'away' });
    expect(await t.ca.next('presence.status', (m) => m.user_id === b)).toMatchObject({ status: 'away' });
  });
});

for (const backend of await databaseBackends()) {
  describe.skipIf(!backend.available)(`blocks in the repository on ${backend.name}`, () => {
    let repo: PresenceRepository;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      const opened = await backend.open();
      repo = new PresenceRepository(opened.database.db);
      cleanup = opened.cleanup;
    });
    afterAll(() => cleanup());

    it('leaves blocked pairs out of visible sets, whatever follows and conversations say', async () => {
      for (const [x, y] of [
        [1, 2],
        [2, 1],
        [1, 3],
        [3, 1],
      ])
        await repo.follow(x as number, y as number);
      await repo.setConversation(10, [1, 2, 4]);
      expect(await repo.block(2, 1)).toBe(true);
      expect(await repo.block(4, 1)).toBe(true);
      const visible = await repo.subscribersMany([1, 2, 3, 4]);
      expect([...visible].map(([k, v]) => [k, [...v].sort()])).toEqual([
        [1, [3]],
        [2, [4]],
        [3, [1]],
        [4, [2]],
      ]);
      expect(await repo.subscribers(1)).toEqual([3]);
    });

    it('says when the pair changes: blocked from neither side to one, and from one side to neither', async () => {
      expect(await repo.block(20, 21)).toBe(true);
      expect(await repo.block(20, 21)).toBe(false);
      expect(await repo.block(21, 20)).toBe(false);
      expect(await repo.unblock(20, 21)).toBe(false);
      expect(await repo.unblock(20, 21)).toBe(false);
      expect(await repo.unblock(21, 20)).toBe(true);
      expect(await repo.unblock(21, 20)).toBe(false);
      // Users it had not seen are created.
      expect(await repo.block(22, 23)).toBe(true);
    });

    it('orders concurrent blocks of one pair: exactly one of them changes it', async () => {
      // Many pairs at once, each blocked both ways at the same time, so that unordered writes would collide.
      const pairs = Array.from({ length: 40 }, (_, i) => [1_000 + 2 * i, 1_001 + 2 * i] as const);
      await repo.ensureUsers(pairs.flat());
      const answers = await Promise.all(
        pairs.map(([x, y]) => Promise.all([repo.block(x, y), repo.block(y, x)])),
      );
      expect(answers.map((both) => both.filter(Boolean).length)).toEqual(pairs.map(() => 1));
    });
  });
}

describe('a session when a block hides a user', () => {
  it('drops frames about them that were already on their way, until the block ends or a snapshot shows them', async () => {
    const bus = new LocalBus();
    const sent: string[] = [];
    let snapshotUsers: Array<{ user_id: number }> = [];
    const self = { user_id: 1, status: 'online', last_seen: null, v: 1, clients: {}, invisible: false };
    const session = new Session({
      service: {
        connect: async () => {},
        disconnect: async () => {},
        activity: () => {},
        snapshot: async () => snapshotUsers as never,
        self: async () => self as never,
        setStatus: async () => {},
        startTyping: async () => true,
        stopTyping: async () => true,
        statuses: async () => [],
      },
      watches: noWatches,
      bus,
      socket: { send: (payload) => sent.push(payload), close: () => {}, bufferedAmount: 0 },
      userId: 1,
      device: { id: 'd', kind: 'web' },
      tokenExpiresAt: Date.now() + 60_000,
      clock: Date.now,
      limits: DEFAULT_SESSION_LIMITS,
    });
    await expect.poll(() => sent.length).toBe(1);
    const status = (userId: number, v: number) =>
      JSON.stringify({
        type: 'presence.status',
        user_id: userId,
        status: 'online',
        last_seen: null,
        v,
        clients: {},
      });
    const typing = (userId: number) =>
      JSON.stringify({ type: 'presence.typing', user_id: userId, conversation_id: 9, is_typing: true });
    const hidden = hiddenFrame({ user_id: 2, v: 5 });
    bus.publish([userGroup(1)], encodeNotice({ notice: 'hide', user_id: 2, frame: hidden as never }));
    // Fanned out under the old graph, arriving after the notice: dropped. Others pass.
    bus.publish([userGroup(1)], status(2, 5));
    bus.publish([userGroup(1)], typing(2));
    bus.publish([userGroup(1)], status(3, 1));
    expect(sent.slice(1).map((s) => JSON.parse(s))).toEqual([hidden, JSON.parse(status(3, 1))]);
    // The block ends: its frame, then frames about them again.
    bus.publish([userGroup(1)], encodeNotice({ notice: 'show', user_id: 2, frame: null }));
    bus.publish([userGroup(1)], typing(2));
    expect(sent.slice(3)).toEqual([typing(2)]);
    // Hidden again; a fresh snapshot that shows them means they are visible again.
    bus.publish([userGroup(1)], encodeNotice({ notice: 'hide', user_id: 2, frame: hidden as never }));
    snapshotUsers = [{ user_id: 2 }];
    session.resync();
    await expect.poll(() => sent.length).toBe(6);
    bus.publish([userGroup(1)], typing(2));
    expect(sent.slice(6)).toEqual([typing(2)]);

    // Hidden by privacy (invisible). A frame decided once they were visible again can overtake the show
    // notice: it is dropped while hidden, then passed on after the show's older frame, so the newest stays.
    const privacy = (notice: 'hide' | 'show', v: number) =>
      encodeNotice({ notice, cause: 'privacy', user_id: 2, frame: JSON.parse(status(2, v)) });
    bus.publish([userGroup(1)], privacy('hide', 8));
    bus.publish([userGroup(1)], status(2, 7)); // from before the hide: dropped for good
    bus.publish([userGroup(1)], status(2, 10)); // decided after the user came back, overtook the show
    bus.publish([userGroup(1)], privacy('show', 9));
    expect(sent.slice(7)).toEqual([status(2, 8), status(2, 9), status(2, 10)]);
    // A show whose frame is the newest passes alone.
    bus.publish([userGroup(1)], privacy('hide', 11));
    bus.publish([userGroup(1)], status(2, 10));
    bus.publish([userGroup(1)], privacy('show', 12));
    expect(sent.slice(10)).toEqual([status(2, 11), status(2, 12)]);
    session.close(true);
  });
});
