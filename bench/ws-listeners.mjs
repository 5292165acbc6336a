/**
 * WebSocket listener worker (forked by run.mjs, talks over IPC): opens one connection per listed user id to
 * ws://127.0.0.1:PORT/ws, timestamps every `presence.status` of a flip user on arrival, and hands the arrivals
 * to the orchestrator on `collect`. A few thousand connections per process keep it under the open-files limit.
 *
 * IPC in:  {type:'init', ids, users, ports, secret, ttlSeconds, flipIds} · {type:'connect', concurrency}
 *          {type:'reset'} · {type:'collect'} · {type:'close'}
 * IPC out: {type:'ready'} · {type:'connected', ok, failed, ms, firstError}
 *          {type:'collected', events: [userId, away 0|1, arrivedAtMs, lastSeenMs][], messages, snapshots, closed}
 *
 * `last_seen` of a flip is the time the server handled the heartbeat, which splits the latency in two.
 */
import WebSocket from 'ws';
import { listenerServer } from './spread.mjs';
import { nowMs } from './stats.mjs';
import { tokenSigner } from './tokens.mjs';

/** @type {{ids: number[], users: number, ports: number[], secret: string, ttlSeconds: number, flipIds: number[]}} */
let config;
/** @type {Set<number>} */
let flipSet = new Set();
/** @type {WebSocket[]} */
const sockets = [];
/** @type {number[][]} */
let events = [];
let messages = 0;
let snapshots = 0;
let closed = 0;

process.on('message', (message) => {
  switch (message.type) {
    case 'init':
      config = message;
      flipSet = new Set(message.flipIds);
      process.send({ type: 'ready' });
      break;
    case 'connect':
      connectAll(message.concurrency).catch((error) => {
        process.send({
          type: 'connected',
          ok: 0,
          failed: config.ids.length,
          ms: 0,
          firstError: String(error),
        });
      });
      break;
    case 'reset':
      events = [];
      messages = 0;
      process.send({ type: 'reset' });
      break;
    case 'collect':
      process.send({ type: 'collected', events, messages, snapshots, closed });
      events = [];
      break;
    case 'close':
      for (const socket of sockets) socket.terminate();
      process.send({ type: 'closed' });
      setTimeout(() => process.exit(0), 50);
      break;
  }
});
process.on('disconnect', () => process.exit(0));

/** @param {Buffer} data */
function onMessage(data) {
  const arrived = nowMs();
  messages += 1;
  const message = JSON.parse(data.toString());
  if (message.type === 'presence.status') {
    if (flipSet.has(message.user_id))
      events.push([
        message.user_id,
        message.status === 'away' ? 1 : 0,
        arrived,
        Date.parse(message.last_seen),
      ]);
  } else if (message.type === 'presence.snapshot') snapshots += 1;
}

/** Opens every connection, `concurrency` handshakes at a time. */
async function connectAll(concurrency) {
  const started = Date.now();
  const sign = tokenSigner(config.secret, config.ttlSeconds);
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstError = null;
  const open = (userId) =>
    new Promise((resolve) => {
      const socket = new WebSocket(
        `ws://127.0.0.1:${config.ports[listenerServer(userId, config.users, config.ports.length)]}/ws?token=${sign(userId)}`,
        {
          perMessageDeflate: false,
          handshakeTimeout: 30_000,
        },
      );
      let settled = false;
      socket.on('message', onMessage);
      socket.once('open', () => {
        settled = true;
        ok += 1;
        sockets.push(socket);
        socket.on('close', () => {
          closed += 1;
        });
        resolve();
      });
      socket.on('error', (error) => {
        if (settled) return;
        settled = true;
        failed += 1;
        firstError ??= String(error.message ?? error);
        resolve();
      });
    });
  const lane = async () => {
    while (next < config.ids.length) {
      const userId = config.ids[next];
      next += 1;
      await open(userId);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  process.send({ type: 'connected', ok, failed, ms: Date.now() - started, firstError });
}
