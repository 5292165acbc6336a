/**
 * The load: who listens and who flips, and the worker processes that do it (UDP generators, WebSocket
 * listeners). The orchestrator's side of their IPC lives here, so each message type is named in one place.
 */
import { Worker } from './children.mjs';
import { fmt, log } from './report.mjs';

/** Tokens outlive any run, so none expires mid-phase. */
const TOKEN_TTL_S = 24 * 3600;
/** Above this many users a generator's token table needs more than the default V8 heap. */
const LARGE_HEAP_USERS = 200_000;
/** WebSocket handshakes in flight per listener process. */
const CONNECT_CONCURRENCY = 50;

const script = (name) => new URL(`./${name}`, import.meta.url).pathname;

/**
 * Listeners are spread evenly over 1..N. Each flip user is the ring neighbour (id + 1) of a listener, so every
 * flip has at least one listener; there are enough of them for `flipRate` flips/s at x1.
 */
export function chooseUsers({ users, listenerCount, flipRate, intervalMs }) {
  if (listenerCount === 0) return { listenerIds: [], flipIds: [] };
  const stride = Math.max(1, Math.floor(users / listenerCount));
  const listenerIds = Array.from({ length: listenerCount }, (_, k) => 1 + ((k * stride) % users));
  const uniqueListeners = [...new Set(listenerIds)].sort((a, b) => a - b);
  const flipCount = Math.min(uniqueListeners.length, Math.max(1, Math.round((flipRate * intervalMs) / 1000)));
  const flipIds = [
    ...new Set(
      Array.from({ length: flipCount }, (_, k) => {
        const listener = uniqueListeners[Math.floor((k * uniqueListeners.length) / flipCount)];
        return listener === users ? 1 : listener + 1;
      }),
    ),
  ];
  const listening = new Set(uniqueListeners);
  const holdingSockets = flipIds.filter((id) => listening.has(id)).length;
  // A user online through a WebSocket stays online whatever its UDP heartbeats say: its flips change nothing.
  if (holdingSockets > 0)
    log(
      `warning: ${fmt(holdingSockets)} of ${fmt(flipIds.length)} flip users hold a WebSocket, so their flips are no ` +
        'status changes; use more users than listeners (e.g. --users 2x --listeners)',
    );
  return { listenerIds, flipIds };
}

/**
 * Forks the generators (users split evenly) and the listener processes (at most `perProcess` sockets each,
 * under the open-files limit), and waits until every generator has signed its users' tokens. With several
 * servers, bench/spread.mjs says which server each user heartbeats to and each listener connects to.
 */
export async function startWorkers(options, run, { listenerIds, flipIds }, serverPorts, cleanup) {
  const { users, generatorCount, perProcess } = options;
  const heap = users > LARGE_HEAP_USERS ? ['--max-old-space-size=8192'] : [];
  const generators = [];
  const share = Math.ceil(users / generatorCount);
  for (let g = 0; g < generatorCount && g * share < users; g++) {
    const worker = new Worker(script('udp-load.mjs'), `generator ${g}`, heap);
    cleanup.push(() => worker.stop());
    generators.push({ worker, from: 1 + g * share, to: Math.min(users, (g + 1) * share) });
  }
  const listeners = [];
  for (let start = 0; start < listenerIds.length; start += perProcess) {
    const worker = new Worker(script('ws-listeners.mjs'), `listeners ${listeners.length}`);
    cleanup.push(() => worker.stop());
    listeners.push({ worker, ids: listenerIds.slice(start, start + perProcess) });
  }
  const { secret } = run;
  const started = Date.now();
  const signTimeout = 60_000 + users / 5;
  await Promise.all([
    ...generators.map((g) =>
      g.worker.ask(
        { type: 'init', from: g.from, to: g.to, secret, ttlSeconds: TOKEN_TTL_S, flipIds },
        'ready',
        signTimeout,
      ),
    ),
    ...listeners.map((l) =>
      l.worker.ask(
        { type: 'init', ids: l.ids, users, ports: serverPorts, secret, ttlSeconds: TOKEN_TTL_S, flipIds },
        'ready',
        10_000,
      ),
    ),
  ]);
  log(`signed ${fmt(users)} generator tokens in ${fmt((Date.now() - started) / 1000, 1)} s`);

  const toListeners = (message, reply, timeoutMs) =>
    Promise.all(listeners.map((l) => l.worker.ask(message, reply, timeoutMs)));
  return {
    generators,
    listeners,
    pids: () => ({
      generators: generators.map((g) => g.worker.pid),
      listeners: listeners.map((l) => l.worker.pid),
    }),

    /**
     * Sends at `rate` for `ms` to 127.0.0.1, user u to `ports[u mod N]`, each generator its share of the users.
     * @returns {Promise<{sent: number, elapsedMs: number, flips: number[][]}>}
     */
    async drive(ports, rate, ms, recordFlips) {
      const results = await Promise.all(
        generators.map((g) =>
          g.worker.ask(
            { type: 'run', ports, rate: (rate * (g.to - g.from + 1)) / users, durationMs: ms, recordFlips },
            'done',
            ms + 60_000,
          ),
        ),
      );
      return {
        sent: results.reduce((s, r) => s + r.sent, 0),
        elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
        flips: results.flatMap((r) => r.flips),
      };
    },

    /** Opens every listener's WebSocket; one reply per process: `{ok, failed, ms, firstError}`. */
    connect: () =>
      Promise.all(
        listeners.map((l) =>
          l.worker.ask(
            { type: 'connect', concurrency: CONNECT_CONCURRENCY },
            'connected',
            120_000 + l.ids.length * 20,
          ),
        ),
      ),
    /** Forgets the arrivals so far, so a phase joins only its own. */
    reset: () => toListeners({ type: 'reset' }, 'reset', 10_000),
    /** The arrivals since the last reset, one reply per process. */
    collect: () => toListeners({ type: 'collect' }, 'collected', 30_000),
    /** Closes every WebSocket; a listener that is already gone is no error. */
    async close() {
      await Promise.all(
        listeners.map((l) => l.worker.ask({ type: 'close' }, 'closed', 30_000).catch(() => {})),
      );
    },
  };
}
