/**
 * UDP load generator worker (forked by run.mjs, talks over IPC). It owns the users `from..to`, signs their tokens
 * once, and on each `run` sends one heartbeat per user in turn at the asked rate, in batches every millisecond
 * or so, to 127.0.0.1 only. Flip users alternate online/away on every heartbeat (a change, so never rate
 * limited); the send time of each flip is recorded for the latency join.
 *
 * IPC in:  {type:'init', from, to, secret, ttlSeconds, flipIds}
 *          {type:'run', ports, rate, durationMs, recordFlips}: user u to ports[heartbeatServer(u)]
 * IPC out: {type:'ready', signMs} · {type:'done', sent, elapsedMs, flips: [userId, away 0|1, sentAtMs][]}
 */
import { createSocket } from 'node:dgram';
import { heartbeatServer } from './spread.mjs';
import { nowMs } from './stats.mjs';
import { tokenSigner } from './tokens.mjs';

/** Most heartbeats one tick may send when behind: 100 ms worth, so a starved generator does not burst forever. */
const MAX_CATCH_UP_S = 0.1;

/** @type {string[]} packet text up to the timestamp value, per user (index = user − from) */
let prefixes = [];
/** @type {Uint8Array} 1 for a flip user, per user */
let isFlip = new Uint8Array(0);
/** @type {Uint8Array} current status of a flip user: 0 online, 1 away */
let flipState = new Uint8Array(0);
let from = 1;
let cursor = 0;

process.on('message', (message) => {
  if (message.type === 'init') init(message);
  else if (message.type === 'run') run(message);
  else if (message.type === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));

function init(message) {
  const started = Date.now();
  from = message.from;
  const count = message.to - message.from + 1;
  const sign = tokenSigner(message.secret, message.ttlSeconds);
  prefixes = new Array(count);
  for (let i = 0; i < count; i++) {
    const userId = from + i;
    prefixes[i] = `{"user_id":${userId},"token":"${sign(userId)}","timestamp":`;
  }
  isFlip = new Uint8Array(count);
  flipState = new Uint8Array(count);
  for (const id of message.flipIds) if (id >= from && id <= message.to) isFlip[id - from] = 1;
  process.send({ type: 'ready', signMs: Date.now() - started });
}

/** One UDP socket per port, each connected to 127.0.0.1:port. */
function connectAll(ports) {
  return Promise.all(
    ports.map(
      (port) =>
        new Promise((resolve) => {
          const socket = createSocket({ type: 'udp4', sendBufferSize: 4 * 1024 * 1024 });
          socket.connect(port, '127.0.0.1', () => resolve(socket));
        }),
    ),
  );
}

function run({ ports, rate, durationMs, recordFlips }) {
  /** @type {number[][]} */
  const flips = [];
  const count = prefixes.length;
  let sent = 0;
  const maxBurst = Math.max(1, Math.ceil(rate * MAX_CATCH_UP_S));
  const servers = Uint8Array.from({ length: count }, (_, i) => heartbeatServer(from + i, ports.length));
  connectAll(ports).then((sockets) => {
    const started = nowMs();
    const tick = () => {
      const elapsed = nowMs() - started;
      const due = Math.min(Math.floor((rate * Math.min(elapsed, durationMs)) / 1000) - sent, maxBurst);
      const timestamp = Math.floor(Date.now() / 1000);
      for (let k = 0; k < due; k++) {
        const i = cursor;
        cursor = cursor + 1 === count ? 0 : cursor + 1;
        let text;
        if (isFlip[i] === 1) {
          const away = flipState[i] ^ 1;
          flipState[i] = away;
          text = `${prefixes[i]}${timestamp},"status":"${away ? 'away' : 'online'}"}`;
          if (recordFlips) flips.push([from + i, away, nowMs()]);
        } else {
          text = `${prefixes[i]}${timestamp}}`;
        }
        sockets[servers[i]].send(text);
        sent += 1;
      }
      if (elapsed < durationMs) setTimeout(tick, 1);
      else {
        // Let libuv hand the last datagrams to the kernel before reporting.
        setTimeout(() => {
          for (const socket of sockets) socket.close();
          process.send({ type: 'done', sent, elapsedMs: nowMs() - started, flips });
        }, 20);
      }
    };
    tick();
  });
}
