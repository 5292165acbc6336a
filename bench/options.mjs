import { parseArgs } from 'node:util';

export const USAGE = `usage: npm run bench -- [options]

  --users N            heartbeating users, ids 1..N (default 10000; 1000000 works)
  --rate R             target heartbeats/s over all users (default 10000 unless --interval-ms is given)
  --interval-ms T      each user's heartbeat interval instead of --rate (rate = N * 1000 / T)
  --duration-s S       measured phase at the target rate (default 20)
  --listeners M        WebSocket clients, friends of heartbeating users (default 1000; 10000 works)
  --friends K          ring friends per user in the seeded graph (default 10)
  --flip-rate F        status flips (online <-> away) per second for the latency figure (default 200)
  --steps LIST         extra rate multipliers run after the measured phase, on the server and the ceiling,
                       to find where loss starts (default 2,4; --steps '' for none)
  --step-s S           length of each step (default 8)
  --generators G       UDP generator processes (default 1)
  --per-process P      WebSocket connections per listener process (default 5000; open files max 20000)
  --skip-ceiling       do not measure the bare ceiling
  --profile            CPU-profile the server during the measured phase (through its inspector) and print
                       where the time goes; the .cpuprofile is kept in bench/results/
  --database-url URL   admin URL of PostgreSQL (default postgres://postgres@127.0.0.1:5432/postgres)
  --redis-url URL      Redis (default redis://127.0.0.1:6379)
  --cluster            run the server on a local 3-master Redis Cluster (this machine's redis-server, free
                       ports, stopped at the end) instead of --redis-url; the bare ceiling is skipped (it is a
                       single-Redis figure)
  --servers N|LIST     server processes sharing Redis (or the cluster) and PostgreSQL, each on its own HTTP and
                       UDP port (default 1). Users are spread over the servers by a hash, and each listener
                       connects to another server than the one its flip user (its ring neighbour) heartbeats
                       to, so every flip reaches its watcher through the bus. The load options are totals
                       over the servers. With a LIST (e.g. 1,2) the bench runs once per count, one run after
                       the other, with the load options taken as the load of EACH server (N servers: N x
                       users, rate, listeners, flip rate), and with --cluster each count also on the single
                       Redis; then it prints one comparison table
  --workers W          WORKERS for each server process (default 1): W workers share its ports
  --sample-s S         scrape the server's /metrics every S s for the timeline (default 1); a scrape costs the
                       server CPU and event-loop time that grow with its sockets`;

/** Exit status for a command line the bench cannot use (EX_USAGE). */
const EXIT_USAGE = 64;

/**
 * The command line as numbers and flags. Prints the usage and exits on `--help` or on a value out of range, so
 * nothing has been started when an option is wrong.
 */
export function parseOptions() {
  const { values: argv } = parseArgs({
    options: {
      users: { type: 'string', default: '10000' },
      rate: { type: 'string' },
      'interval-ms': { type: 'string' },
      'duration-s': { type: 'string', default: '20' },
      listeners: { type: 'string', default: '1000' },
      friends: { type: 'string', default: '10' },
      'flip-rate': { type: 'string', default: '200' },
      steps: { type: 'string', default: '2,4' },
      'step-s': { type: 'string', default: '8' },
      generators: { type: 'string', default: '1' },
      'per-process': { type: 'string', default: '5000' },
      'skip-ceiling': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
      'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
      cluster: { type: 'boolean', default: false },
      servers: { type: 'string', default: '1' },
      workers: { type: 'string', default: '1' },
      'sample-s': { type: 'string', default: '1' },
      // Where a run writes its JSON report (the comparison of --servers LIST reads its runs' reports).
      'json-out': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (argv.help) {
    console.log(USAGE);
    process.exit(0);
  }

  /** A positive number option, or exit with the usage. */
  const num = (name, { integer = true, max = Number.MAX_SAFE_INTEGER } = {}) => {
    const value = Number(argv[name]);
    if (!Number.isFinite(value) || value <= 0 || value > max || (integer && !Number.isInteger(value))) {
      console.error(
        `bench: --${name} expects a positive ${integer ? 'whole ' : ''}number up to ${max}\n\n${USAGE}`,
      );
      process.exit(EXIT_USAGE);
    }
    return value;
  };

  const users = num('users', { max: 10_000_000 });
  const rate =
    argv.rate !== undefined
      ? num('rate', { max: 1_000_000 })
      : argv['interval-ms'] !== undefined
        ? (users * 1000) / num('interval-ms')
        : 10_000;
  const durationS = num('duration-s', { integer: false, max: 3_600 });
  // No listeners is allowed: memory with online users and no sockets (there is no latency figure then).
  const listenerCount = argv.listeners === '0' ? 0 : num('listeners', { max: 200_000 });
  const friends = num('friends', { max: 1_000 });
  const flipRate = num('flip-rate', { integer: false, max: 100_000 });
  const stepS = num('step-s', { integer: false, max: 600 });
  const generatorCount = num('generators', { max: 16 });
  const perProcess = num('per-process', { max: 18_000 });
  const workers = num('workers', { max: 16 });
  const serverCounts = argv.servers.split(',').map((n) => Number(n.trim()));
  if (serverCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 8)) {
    console.error(`bench: --servers expects a count from 1 to 8, or a list like 1,2\n\n${USAGE}`);
    process.exit(EXIT_USAGE);
  }
  const steps = argv.steps
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(Number);
  if (steps.some((s) => !Number.isFinite(s) || s <= 0 || s > 100)) {
    console.error(`bench: --steps expects multipliers like 2,4\n\n${USAGE}`);
    process.exit(EXIT_USAGE);
  }
  return {
    users,
    rate,
    intervalMs: (users * 1000) / rate,
    durationS,
    listenerCount,
    friends,
    flipRate,
    steps,
    maxMultiplier: Math.max(1, ...steps),
    stepS,
    generatorCount,
    perProcess,
    skipCeiling: argv['skip-ceiling'] || argv.cluster,
    cluster: argv.cluster,
    servers: serverCounts[0],
    serverCounts,
    workers,
    sampleS: num('sample-s', { integer: false, max: 60 }),
    jsonOut: argv['json-out'],
    argv,
    profile: argv.profile,
    databaseUrl: argv['database-url'],
    redisUrl: argv['redis-url'],
  };
}

/**
 * How long the whole run may take before the watchdog gives up: a hung phase must not hold the database, the
 * Redis keys and the ports forever. Seeding grows with the users, each phase with its length.
 */
export function timeLimitS({ users, intervalMs, durationS, steps, stepS }) {
  return 600 + Math.ceil(users / 2_000) + 3 * (intervalMs / 1000 + durationS + steps.length * (stepS + 20));
}
