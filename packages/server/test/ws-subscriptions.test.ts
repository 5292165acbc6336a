import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { befriend, graph, serverSetups, TestClient, tryUpgrade } from './support/server.js';

/** Contract section 15: lazy subscriptions, over real sockets, on both stores. */

const setups = await serverSetups();

/** A socket of `userId` with `subscribe=manual`, its snapshot read. */
async function manual(server: RunningServer, userId: number) {
  const client = await TestClient.connect(server, userId, { subscribe: 'manual' });
  const snapshot = await client.next('presence.snapshot');
  return { client, snapshot };
}

for (const setup of setups) {
  describe.skipIf(!setup.available)(`lazy subscriptions on ${setup.name}`, () => {
    let server: RunningServer;
    let stop: () => Promise<void>;
    const clients: TestClient[] = [];
    beforeAll(async () => {
      ({ server, stop } = await setup.start());
    });
    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close()));
      await stop();
    });
    const track = <T extends { client: TestClient }>(x: T) => {
      clients.push(x.client);
      return x;
    };
    const connect = async (userId: number) => {
      const client = await TestClient.connect(server, userId);
      clients.push(client);
      await client.next('presence.snapshot');
      return client;
    };

    it('sends only self in the snapshot, and the presence of others only once subscribed', async () => {
      const [me, friend, partner, stranger] = [101, 102, 103, 104];
      await befriend(server, me, friend);
      await graph(server, 'PUT', 'conversations/100', { participant_ids: [me, partner] });
      const onFriend = await connect(friend);
      const { client, snapshot } = track(await manual(server, me));
      expect(snapshot.users).toEqual([]);
      expect(snapshot.self).toMatchObject({ user_id: me, status: 'online' });

      // Not subscribed yet: the friend's change does not come; a barrier from the same socket's own user does.
      onFriend.send({ type: 'presence.status.set', status: 'away' });
      await onFriend.next('presence.status', (m) => m.user_id === friend && m.status === 'away');
      client.send({ type: 'presence.status.set', status: 'away' });
      await client.next('presence.status', (m) => m.user_id === me && m.status === 'away');
      expect(client.received.filter((m) => m.type === 'presence.status' && m.user_id !== me)).toEqual([]);

      client.send({ type: 'presence.subscribe', user_ids: [friend, stranger, partner, friend] });
      const answer = await client.next('presence.subscribed');
      // The stranger is left out exactly as if they did not exist; the partner was never seen (offline).
      expect(answer.users.map((u) => [u.user_id, u.status])).toEqual([
        [friend, 'away'],
        [partner, 'offline'],
      ]);
      onFriend.send({ type: 'presence.status.set', status: 'online' });
      const change = await client.next('presence.status', (m) => m.user_id === friend);
      expect(change).toMatchObject({ status: 'online' });
      expect(change.v).toBeGreaterThan(answer.users[0]?.v ?? Number.POSITIVE_INFINITY);
    });

    it('stops the changes of a user once unsubscribed; typing is not affected', async () => {
      const [me, friend] = [201, 202];
      await befriend(server, me, friend);
      await graph(server, 'PUT', 'conversations/200', { participant_ids: [me, friend] });
      const onFriend = await connect(friend);
      // My other socket, subscribed to everything: it hears what the manual one would have heard.
      const mine = await connect(me);
      const { client } = track(await manual(server, me));
      client.send({ type: 'presence.subscribe', user_ids: [friend] });
      await client.next('presence.subscribed');
      client.send({ type: 'presence.unsubscribe', user_ids: [friend] });
      // The unsubscribe is in once a later frame of the same socket is answered.
      client.send({ type: 'presence.subscribe', user_ids: [203] });
      await client.next('presence.subscribed');

      onFriend.send({ type: 'presence.status.set', status: 'away' });
      await mine.next('presence.status', (m) => m.user_id === friend && m.status === 'away');
      onFriend.send({ type: 'presence.typing.start', conversation_id: 200 });
      // The typing frame is the barrier: both go to my sockets in the order they were published.
      await client.next('presence.typing', (m) => m.user_id === friend && m.is_typing);
      expect(client.received.filter((m) => m.type === 'presence.status' && m.user_id === friend)).toEqual([]);
    });

    it('answers an error frame `limit` past 500 ids a frame or 5000 a connection, and changes nothing', async () => {
      const me = 301;
      const { client } = track(await manual(server, me));
      const ids = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
      client.send({ type: 'presence.subscribe', user_ids: ids(10_000, 501) });
      expect(await client.next('error')).toMatchObject({ code: 'limit' });
      for (let frame = 0; frame < 10; frame++) {
        client.send({ type: 'presence.subscribe', user_ids: ids(10_000 + frame * 500, 500) });
        expect(await client.next('presence.subscribed')).toEqual({ type: 'presence.subscribed', users: [] });
      }
      // Already held ids cost nothing more; one new id is one too many.
      client.send({ type: 'presence.subscribe', user_ids: [10_000, 14_999] });
      await client.next('presence.subscribed');
      client.send({ type: 'presence.subscribe', user_ids: [15_000] });
      expect(await client.next('error')).toMatchObject({ code: 'limit' });
      // After unsubscribing some, there is room again.
      client.send({ type: 'presence.unsubscribe', user_ids: [10_000] });
      client.send({ type: 'presence.subscribe', user_ids: [15_000] });
      await client.next('presence.subscribed');
      expect(client.received.filter((m) => m.type === 'error')).toEqual([]);
    });

    it('refuses malformed subscribe frames, subscribe frames without manual mode, and a bad mode', async () => {
      const { client } = track(await manual(server, 401));
      for (const frame of [
        { type: 'presence.subscribe' },
        { type: 'presence.subscribe', user_ids: [] },
        { type: 'presence.subscribe', user_ids: [0] },
        { type: 'presence.subscribe', user_ids: ['5'] },
        { type: 'presence.unsubscribe', user_ids: 5 },
      ]) {
        client.send(frame);
        expect(await client.next('error'), JSON.stringify(frame)).toMatchObject({ code: 'bad_frame' });
      }
      const all = await connect(402);
      all.send({ type: 'presence.subscribe', user_ids: [401] });
      expect(await all.next('error')).toMatchObject({ code: 'bad_frame' });
      const token = await server.mintToken(403);
      const refused = await tryUpgrade(`${server.wsUrl}?token=${token}&subscribe=some`);
      expect(refused).toMatchObject({ opened: false, status: 400, body: { error: { code: 'bad_request' } } });
    });
  });
}
