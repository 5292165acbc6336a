#!/usr/bin/env node
/**
 * `npm run soak -- --minutes N`: a long steady run that looks for leaks. It prints figures; it asserts nothing.
 *
 * One server process (the built dist) on free ports, on the machine's Redis under a key prefix of its own and
 * a throw-away PostgreSQL database. From 127.0.0.1 it keeps up UDP and HTTP heartbeats (some users falling
 * silent and coming back, so timeouts happen), status flips over heartbeats and over WebSockets, typing, and
 * WebSocket reconnects. Each minute it prints the server's RSS, heap used, event-loop lag (p99 and max over
 * that minute) and open handles, read from /metrics; at the end a Markdown table for docs/operations.md. It
 * stops by itself and cleans up (process, database, Redis keys) on success, error or Ctrl-C.
 */
import { createSocket } from 'node:dgram';
import os from 'node:os';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { freeTcpPort, freeUdpPort, sleep } from './children.mjs';
import { cleanUpOnSignals, cleanupStack, startWatchdog } from './cleanup.mjs';
import { fmt, log } from './report.mjs';
import { createDatabase, deleteKeys, newRun, startServer } from './setup.mjs';
import { parseMetrics } from './stats.mjs';
import { tokenSigner } from './tokens.mjs';

const USAGE = `usage: npm run soak -- [--minutes 30] [--users 300] [--sockets 150]
  [--redis-url redis://127.0.0.1:6379] [--database-url postgres://postgres@127.0.0.1:5432/postgres]`;

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    users: { type: 'string', default: '300' },
    sockets: { type: 'string', default: '150' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const positive = (name) => {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`soak: --${name} must be a number above 0\n${USAGE}`);
    process.exit(64);
  }
  return value;
};
const minutes = positive('minutes');
const users = Math.floor(positive('users'));
const sockets = Math.min(users, Math.floor(positive('sockets')));

/** Heartbeats every this often per user: above the minimum interval, so none is rate limited. */
const BEAT_MS = 4_000;
const TIMING = {
  PRESENCE_TIMEOUT_MS: '10000',
  HEARTBEAT_MIN_INTERVAL_MS: '2000',
  DISCONNECT_GRACE_MS: '1000',
  TYPING_TTL_MS: '2000',
  PRESENCE_TTL_S: '60',
  SYNC_INTERVAL_MS: '30000',
  CLEANUP_INTERVAL_MS: '60000',
};
/** Users per conversation (consecutive ids), for typing. */
const CONVERSATION_SIZE = 4;

const run = newRun();
const cleanup = cleanupStack();
cleanUpOnSignals(cleanup);

const counts = { udp: 0, http: 0, flips: 0, typing: 0, reconnects: 0, frames: 0, errors: 0 };

async function main() {
  startWatchdog(minutes * 60 + 300, cleanup);
  log(
    `soak ${run.id}: ${minutes} min, ${users} users, ${sockets} sockets; ${os.cpus().length} cores, ` +
      `Node ${process.versions.node}, load average ${os.loadavg()[0].toFixed(1)}`,
  );
  const prefix = `soak:${run.id}:`;
  cleanup.push(async () => log(`deleted ${fmt(await deleteKeys(values['redis-url'], prefix))} Redis keys`));
  const database = await createDatabase(values['database-url'], `soak_${run.id}`);
  cleanup.push(async () => {
    await database.drop();
    log(`dropped database ${database.name}`);
  });

  const port = await freeTcpPort();
  const udpPort = await freeUdpPort();
  const serviceKey = `soak-service-key-${run.id}`;
  const server = await startServer(
    {
      DATABASE_URL: database.url,
      REDIS_URL: values['redis-url'],
      REDIS_KEY_PREFIX: prefix,
      AUTH_SECRET: run.secret,
      SERVICE_KEY: serviceKey,
      HOST: '127.0.0.1',
      PORT: String(port),
      UDP_PORT: String(udpPort),
      LOG_LEVEL: 'warn',
      DEMO: '0',
      // Every socket comes from 127.0.0.1 and reconnects all the time.
      MAX_CONNECTS_PER_ADDRESS_PER_S: '0',
      MAX_CONNECTS_PER_ADDRESS_BURST: '0',
      ...TIMING,
    },
    port,
    run.logPath,
    await freeTcpPort(),
  );
  cleanup.push(() => server.stop());
  log(`server pid ${server.pid} on http :${port}, udp :${udpPort} (log ${run.logPath})`);
  const base = `http://127.0.0.1:${port}`;

  await buildGraph(base, serviceKey);
  const token = tokenSigner(run.secret, Math.ceil(minutes * 60) + 3_600);
  const load = startLoad({ base, udpPort, token });
  cleanup.push(() => load.stop());

  const rows = [];
  const started = Date.now();
  // The first scrape starts the lag window; each later one covers the minute since.
  await scrape(base);
  for (let minute = 1; minute <= Math.ceil(minutes); minute++) {
    const end = started + Math.min(minute, minutes) * 60_000;
    await sleep(Math.max(0, end - Date.now()));
    if (server.exited()) throw new Error(`the server exited; see ${run.logPath}`);
    const m = await scrape(base);
    const row = {
      minute: Math.min(minute, minutes),
      rssMb: m('presence_process_process_resident_memory_bytes') / 2 ** 20,
      heapMb: m('presence_process_nodejs_heap_size_used_bytes') / 2 ** 20,
      lagP99Ms: m('presence_process_nodejs_eventloop_lag_p99_seconds') * 1_000,
      lagMaxMs: m('presence_process_nodejs_eventloop_lag_max_seconds') * 1_000,
      handles: m('presence_process_nodejs_active_handles_total'),
      sockets: m('presence_ws_connections'),
      online: m('presence_online_users'),
      ...counts,
    };
    for (const key of Object.keys(counts)) counts[key] = 0;
    rows.push(row);
    log(
      `minute ${row.minute}: RSS ${fmt(row.rssMb, 1)} MB, heap ${fmt(row.heapMb, 1)} MB, lag p99 ` +
        `${fmt(row.lagP99Ms, 1)} ms max ${fmt(row.lagMaxMs, 1)} ms, ${row.handles} handles, ${row.sockets} sockets, ` +
        `${row.online} online; sent ${row.udp} UDP + ${row.http} HTTP beats, ${row.flips} flips, ` +
        `${row.typing} typing, ${row.reconnects} reconnects; ${row.frames} frames in, ${row.errors} errors`,
    );
  }
  await load.stop();
  printTable(rows);
}

/** Friends in a ring (each user with the next two) and conversations of consecutive users. */
async function buildGraph(base, serviceKey) {
  const put = async (path, body) => {
    const response = await fetch(`${base}/api/graph/${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${serviceKey}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status !== 204) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`);
  };
  for (let id = 1; id <= users; id++) {
    for (const step of [1, 2]) {
      const friend = ((id - 1 + step) % users) + 1;
      await put(`follows/${id}/${friend}`);
      await put(`follows/${friend}/${id}`);
    }
  }
  for (let first = 1; first <= users; first += CONVERSATION_SIZE) {
    const ids = [];
    for (let id = first; id < first + CONVERSATION_SIZE && id <= users; id++) ids.push(id);
    await put(`conversations/${conversationOf(first)}`, { participant_ids: ids });
  }
  log(
    `graph: ${users} users, ${users * 2} friendships, ${Math.ceil(users / CONVERSATION_SIZE)} conversations`,
  );
}

const conversationOf = (userId) => Math.floor((userId - 1) / CONVERSATION_SIZE) + 1;
const pick = (array) => array[Math.floor(Math.random() * array.length)];

/**
 * The steady load. Users 1..sockets hold a WebSocket (flips and typing over it, a few reconnecting each
 * second); the others heartbeat, odd ids over UDP and even ones over HTTP, each now and then falling silent
 * for longer than the timeout and coming back.
 */
function startLoad({ base, udpPort, token }) {
  const timers = [];
  const udp = createSocket('udp4');
  udp.on('error', () => counts.errors++);
  const every = (ms, work) => {
    const timer = setInterval(() => {
      Promise.resolve()
        .then(work)
        .catch(() => counts.errors++);
    }, ms);
    timers.push(timer);
  };

  /** @type {Map<number, WebSocket>} */
  const open = new Map();
  const connect = (userId) => {
    const socket = new WebSocket(`ws://127.0.0.1:${new URL(base).port}/ws?token=${token(userId)}`);
    socket.on('message', () => counts.frames++);
    socket.on('error', () => counts.errors++);
    socket.on('close', () => {
      if (open.get(userId) === socket) open.delete(userId);
    });
    open.set(userId, socket);
  };
  for (let id = 1; id <= sockets; id++) connect(id);
  const live = () => [...open.entries()].filter(([, s]) => s.readyState === WebSocket.OPEN);
  const send = (socket, frame) => socket.send(JSON.stringify(frame));

  // Reconnects: two sockets a second close; half come back at once, the rest when the next round finds them gone.
  every(1_000, () => {
    for (let i = 0; i < 2; i++) {
      const entry = pick(live());
      if (entry === undefined) continue;
      const [userId, socket] = entry;
      socket.close();
      counts.reconnects++;
      if (i === 0) connect(userId);
    }
    for (let id = 1; id <= sockets; id++) if (!open.has(id) && Math.random() < 0.2) connect(id);
  });
  // Flips over the socket (under the per-connection limit of 2 per second).
  every(250, () => {
    const entry = pick(live());
    if (entry === undefined) return;
    send(entry[1], { type: 'presence.status.set', status: Math.random() < 0.5 ? 'away' : 'online' });
    counts.flips++;
  });
  // Typing: a start, then a stop half the time (the rest expire by TTL).
  every(200, () => {
    const entry = pick(live());
    if (entry === undefined) return;
    const [userId, socket] = entry;
    const conversation = conversationOf(userId);
    send(socket, { type: 'presence.typing.start', conversation_id: conversation });
    counts.typing++;
    if (Math.random() < 0.5) {
      setTimeout(() => {
        if (socket.readyState === WebSocket.OPEN)
          send(socket, { type: 'presence.typing.stop', conversation_id: conversation });
      }, 500);
    }
  });

  // Heartbeats: each user of the rest once per BEAT_MS, spread over the period; 1 in 10 flips its status; a
  // silent user stays silent for 15 s (past the 10 s timeout) and then comes back.
  const beaters = [];
  for (let id = sockets + 1; id <= users; id++) beaters.push({ id, silentUntil: 0, status: 'online' });
  const slots = 20;
  let slot = 0;
  every(BEAT_MS / slots, async () => {
    const now = Date.now();
    const mine = beaters.filter((_, i) => i % slots === slot);
    slot = (slot + 1) % slots;
    await Promise.all(
      mine.map(async (user) => {
        if (now < user.silentUntil) return;
        if (Math.random() < 0.01) {
          user.silentUntil = now + 15_000;
          return;
        }
        if (Math.random() < 0.1) {
          user.status = user.status === 'online' ? 'away' : 'online';
          counts.flips++;
        }
        if (user.id % 2 === 1) {
          const packet = JSON.stringify({
            user_id: user.id,
            token: token(user.id),
            timestamp: Math.floor(now / 1000),
            status: user.status,
          });
          udp.send(packet, udpPort, '127.0.0.1');
          counts.udp++;
        } else {
          const response = await fetch(`${base}/api/presence/heartbeat/`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token(user.id)}`, 'content-type': 'application/json' },
            body: JSON.stringify({ status: user.status }),
          });
          await response.arrayBuffer();
          if (response.status !== 200) counts.errors++;
          counts.http++;
        }
      }),
    );
  });

  let stopped = false;
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      for (const socket of open.values()) socket.terminate();
      udp.close();
    },
  };
}

async function scrape(base) {
  const metrics = parseMetrics(await (await fetch(`${base}/metrics`)).text());
  return (name) => metrics.get(name) ?? Number.NaN;
}

function printTable(rows) {
  const lines = [
    '| minute | RSS MB | heap used MB | lag p99 ms | lag max ms | open handles | sockets | online |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.minute} | ${fmt(r.rssMb, 1)} | ${fmt(r.heapMb, 1)} | ${fmt(r.lagP99Ms, 1)} | ${fmt(r.lagMaxMs, 1)} | ` +
        `${r.handles} | ${r.sockets} | ${r.online} |`,
    ),
  ];
  console.log(`\n${lines.join('\n')}\n`);
}

main()
  .then(() => cleanup.run())
  .catch(async (error) => {
    console.error(`soak: ${error.stack ?? error.message}`);
    await cleanup.run();
    process.exitCode = 1;
  });
