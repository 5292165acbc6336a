#!/usr/bin/env node
/**
 * `node bench/graph-bulk.mjs` (after `npm run build`): how fast the bulk follow import takes a graph. It prints
 * figures; it asserts nothing.
 *
 * One `presence serve` process on Redis and a throw-away PostgreSQL database. Measured, each on ids no earlier
 * step used:
 *   1. POST /api/graph/follows/bulk with --rows follows (mutual pairs, so every follow changes visibility),
 *      the body streamed in 64 KiB chunks, end to end;
 *   2. the same body again (every follow exists: parsing, sorting and the statements, nothing to invalidate);
 *   3. the database part alone (GraphBulk in this process) for each --batches size, which tells the statements
 *      from the rest (parsing, the graph-version bumps in Redis, the bus);
 *   4. for comparison, --per-row follows through PUT /api/graph/follows/{a}/{b}, 16 at a time (one-way
 *      follows between users no other row names).
 * Everything is dropped at the end (database, Redis keys, the server), on error and Ctrl-C too.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { freeTcpPort, freeUdpPort } from './children.mjs';
import { cleanUpOnSignals, cleanupStack } from './cleanup.mjs';
import { checkIdle, describeMachine } from './machine.mjs';
import { fmt, log } from './report.mjs';
import { createDatabase, deleteKeys, redisInfo, startServer } from './setup.mjs';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    'per-row': { type: 'string', default: '5000' },
    batches: { type: 'string', default: '5000,20000' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const rows = Number(values.rows);
const perRow = Number(values['per-row']);
const batches = values.batches.split(',').map(Number);

const dist = (path) => new URL(`../packages/server/dist/${path}`, import.meta.url).href;
const { openDatabase } = await import(dist('db/database.js'));
const { GraphBulk } = await import(dist('db/graph-bulk.js'));

const run = randomBytes(4).toString('hex');
const prefix = `bench:${run}:`;
const serviceKey = randomBytes(16).toString('hex');
const cleanup = cleanupStack();
cleanUpOnSignals(cleanup);

/** `count` mutual pairs from `first` on: ids first, first+1 follow each other, then first+2, first+3, … */
function* mutualPairs(first, count) {
  for (let i = 0; i < count / 2; i++) {
    const a = first + 2 * i;
    yield [a, a + 1];
    yield [a + 1, a];
  }
}

function ndjsonStream(first, count) {
  return Readable.from(
    (function* () {
      let chunk = '';
      for (const [f, e] of mutualPairs(first, count)) {
        chunk += `{"follower_id":${f},"followee_id":${e}}\n`;
        if (chunk.length >= 64 * 1024) {
          yield Buffer.from(chunk);
          chunk = '';
        }
      }
      if (chunk !== '') yield Buffer.from(chunk);
    })(),
  );
}

async function timed(what, count, action) {
  const started = performance.now();
  const result = await action();
  const seconds = (performance.now() - started) / 1000;
  log(`${what}: ${fmt(count)} rows in ${fmt(seconds, 2)} s = ${fmt(count / seconds)} rows/s`);
  return result;
}

async function main() {
  const busy = await checkIdle();
  const redis = await redisInfo(values['redis-url']);
  const database = await createDatabase(values['database-url'], `bench_bulk_${run}`);
  cleanup.push(() => database.drop());
  cleanup.push(() => deleteKeys(values['redis-url'], prefix));
  const machine = describeMachine({ redisVersion: redis.version, postgresVersion: database.version });
  log(
    `machine: ${machine.cpuModel}, ${machine.cpuCount} CPUs, ${machine.totalMemoryGiB} GiB, Node ${machine.node}, ` +
      `PostgreSQL ${machine.postgres}, Redis ${machine.redis}; ${Math.round(busy * 100)}% busy before the start, ` +
      `load average ${os.loadavg()[0].toFixed(1)}`,
  );

  const port = await freeTcpPort();
  const server = await startServer(
    {
      DATABASE_URL: database.url,
      REDIS_URL: values['redis-url'],
      REDIS_KEY_PREFIX: prefix,
      AUTH_SECRET: randomBytes(24).toString('hex'),
      SERVICE_KEY: serviceKey,
      HOST: '127.0.0.1',
      PORT: String(port),
      UDP_PORT: String(await freeUdpPort()),
      LOG_LEVEL: 'warn',
      DEMO: '0',
    },
    port,
    `${os.tmpdir()}/presence-bench-bulk-${run}.log`,
    await freeTcpPort(),
  );
  cleanup.push(() => server.stop());
  const base = `http://127.0.0.1:${port}`;
  const auth = { authorization: `Bearer ${serviceKey}` };

  const bulk = async (first) => {
    const response = await fetch(`${base}/api/graph/follows/bulk`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/x-ndjson' },
      body: Readable.toWeb(ndjsonStream(first, rows)),
      duplex: 'half',
    });
    const answer = await response.json();
    if (response.status !== 200) throw new Error(`bulk import: ${response.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  const fresh = await timed('bulk, new follows (end to end)', rows, () => bulk(10_000_000));
  log(`  answer ${JSON.stringify(fresh)}`);
  const again = await timed('bulk, the same follows again', rows, () => bulk(10_000_000));
  log(`  answer ${JSON.stringify(again)}`);

  const direct = await openDatabase({ databaseUrl: database.url, dataDir: '' });
  cleanup.push(() => direct.close());
  for (const [index, batch] of batches.entries()) {
    const pairs = [...mutualPairs(20_000_000 + index * 10_000_000, rows)];
    await timed(`database only, ${fmt(batch)} rows a statement`, rows, () =>
      new GraphBulk(direct.db, batch).importFollows(
        pairs.map((p) => p[0]),
        pairs.map((p) => p[1]),
      ),
    );
  }

  // Each pair its own two users: concurrent PUTs of a follow and its reverse, both users new, can deadlock in
  // the single-follow path, which is not what this step measures.
  const single = Array.from({ length: perRow }, (_, i) => [90_000_000 + 2 * i, 90_000_001 + 2 * i]);
  await timed('per row, PUT /api/graph/follows/{a}/{b}, 16 in flight', perRow, async () => {
    let next = 0;
    const worker = async () => {
      while (next < single.length) {
        const [f, e] = single[next++];
        const response = await fetch(`${base}/api/graph/follows/${f}/${e}`, { method: 'PUT', headers: auth });
        if (response.status !== 204) throw new Error(`PUT follow: ${response.status}`);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  });
}

try {
  await main();
} finally {
  await cleanup.run();
}
