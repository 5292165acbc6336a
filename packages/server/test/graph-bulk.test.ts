import { request } from 'node:http';
import { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { openDatabase } from '../src/db/database.js';
import { GraphBulk } from '../src/db/graph-bulk.js';
import { MAX_BULK_BYTES, MAX_BULK_LINES, readFollows } from '../src/transport/http/routes-graph-bulk.js';
import { api, Cluster, SERVICE_KEY, startEmbedded, TestClient } from './support/server.js';
import { hasPostgres, hasRedis } from './support/services.js';

const PATH = '/api/graph/follows/bulk';
const ndjson = (pairs: Array<[number, number]>) =>
  pairs.map(([f, e]) => `{"follower_id":${f},"followee_id":${e}}\n`).join('');
/** Both directions of each pair: mutual follows. */
const mutual = (pairs: Array<[number, number]>) =>
  pairs.flatMap(
    ([a, b]): Array<[number, number]> => [
      [a, b],
      [b, a],
    ],
  );

function bulk(server: RunningServer, body: string, headers: Record<string, string> = {}) {
  return api(server, 'POST', PATH, {
    raw: body,
    headers: { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/x-ndjson', ...headers },
  });
}

describe('reading NDJSON follows', () => {
  const read = (chunks: Array<string | Buffer>) =>
    readFollows(Readable.from(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))));

  it('takes lines split across chunks anywhere, CRLF, blank lines and a last line without newline', async () => {
    const text =
      '{"follower_id":1,"followee_id":2}\r\n\n  \n{"followee_id":1, "follower_id":3}\n{"follower_id":4,"followee_id":5}';
    for (const size of [1, 2, 7, 64]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      expect(await read(chunks)).toEqual({ followers: [1, 3, 4], followees: [2, 1, 5], lines: 3 });
    }
  });

  it('decodes a character split between two chunks', async () => {
    const bytes = Buffer.from('{"follower_id":1,"followee_id":2,"é":1}\n');
    const cut = bytes.indexOf(0xc3) + 1;
    await expect(read([bytes.subarray(0, cut), bytes.subarray(cut)])).rejects.toThrow(
      'line 1: unknown field "é"',
    );
  });

  it.each([
    ['not json', 'not valid JSON'],
    ['[1, 2]', 'not a JSON object'],
    ['{"follower_id":1,"followee_id":2,"at":3}', 'unknown field "at"'],
    ['{"follower_id":1}', 'followee_id must be a positive integer'],
    ['{"follower_id":0,"followee_id":2}', 'follower_id must be a positive integer'],
    ['{"follower_id":"1","followee_id":2}', 'follower_id must be a positive integer'],
    ['{"follower_id":1.5,"followee_id":2}', 'follower_id must be a positive integer'],
    ['{"follower_id":1,"followee_id":9007199254740992}', 'followee_id must be a positive integer'],
    ['{"follower_id":7,"followee_id":7}', 'a user cannot follow itself'],
    [`{"follower_id":1,"followee_id":2${' '.repeat(2_000)}}`, 'longer than 1024 characters'],
  ])('names the first bad line: %s', async (line, why) => {
    // The bad line is the fourth: blank lines count, so the number is the one an editor shows.
    const body = `${ndjson([[1, 2]])}\n${ndjson([[2, 1]])}${line}\n${ndjson([[3, 4]])}not json either\n`;
    await expect(read([body])).rejects.toThrow(`line 4: ${why}`);
  });
});

const available = (await hasRedis()) && (await hasPostgres());

describe.skipIf(!available)('POST /api/graph/follows/bulk on PostgreSQL and Redis, two processes', () => {
  const cluster = new Cluster();
  let a: RunningServer;
  let b: RunningServer;
  let db: pg.Client;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    [a, b] = await Promise.all([cluster.start(), cluster.start()]);
    db = new pg.Client({ connectionString: await cluster.databaseUrl() });
    await db.connect();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await db.end();
    await cluster.stop();
  });

  const count = async (query: string, ids: number[]) => Number((await db.query(query, [ids])).rows[0].count);
  const followsAmong = (ids: number[]) =>
    count('select count(*) from follows where follower_id = any($1) or followee_id = any($1)', ids);
  const usersAmong = (ids: number[]) => count('select count(*) from users where id = any($1)', ids);
  const statusOf = async (server: RunningServer, viewer: number, user: number) =>
    (await api(server, 'GET', `/api/presence/status/${user}`, { token: await server.mintToken(viewer) }))
      .status;

  it('inserts the follows, creates the users and applies visibility at once on every process', async () => {
    // Process b has cached visible(101) and visible(102) before the import: the import must make it reload.
    expect(await statusOf(b, 101, 102)).toBe(404);
    const watcher = await TestClient.connect(b, 101);
    clients.push(watcher);
    await watcher.next('presence.snapshot');

    const answer = await bulk(a, ndjson([...mutual([[101, 102]]), [103, 101]]));
    expect(answer).toMatchObject({ status: 200, body: { inserted: 3, lines: 3 } });
    expect(await usersAmong([101, 102, 103])).toBe(3);
    expect(await statusOf(b, 101, 102)).toBe(200);
    expect(await statusOf(b, 102, 101)).toBe(200);
    expect(await statusOf(b, 101, 103)).toBe(404); // one way: shows nothing

    // Fan-out on the other process uses the new lists too. (The watcher may first get 102's presence as it
    // was when 102 became visible: offline.)
    await api(a, 'POST', '/api/presence/heartbeat/', { token: await a.mintToken(102) });
    expect(
      await watcher.next('presence.status', (m) => m.user_id === 102 && m.status === 'online'),
    ).toMatchObject({ status: 'online' });
  });

  it('counts only new follows: duplicates in the body and follows that exist are kept once', async () => {
    const pairs = mutual([[111, 112]]);
    expect((await bulk(a, ndjson([...pairs, ...pairs, [113, 111]]))).body).toEqual({ inserted: 3, lines: 5 });
    expect((await bulk(b, ndjson(pairs))).body).toEqual({ inserted: 0, lines: 2 });
    expect(await followsAmong([111, 112, 113])).toBe(3);
  });

  it('applies nothing of a request with a bad line, not even the lines before it', async () => {
    const good = mutual(
      Array.from({ length: 6_000 }, (_, i): [number, number] => [200_000 + 2 * i, 200_001 + 2 * i]),
    );
    const answer = await bulk(a, `${ndjson(good)}{"follower_id":5,"followee_id":5}\n${ndjson([[1, 2]])}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toEqual({
      code: 'bad_request',
      message: `line ${good.length + 1}: a user cannot follow itself`,
    });
    const ids = good.flat();
    expect(await followsAmong(ids)).toBe(0);
    expect(await usersAmong(ids)).toBe(0);
  });

  // A longer timeout: 100,000 users' graph versions are bumped, tens of seconds on a busy machine.
  it('takes 100,000 follows in one request', async () => {
    const pairs = mutual(
      Array.from({ length: 50_000 }, (_, i): [number, number] => [1_000_000 + 2 * i, 1_000_001 + 2 * i]),
    );
    const body = ndjson(pairs);
    const started = performance.now();
    const answer = await bulk(a, body);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `bulk import: ${pairs.length} follows (${(body.length / 1e6).toFixed(1)} MB) in ${seconds.toFixed(2)} s, ` +
        `${Math.round(pairs.length / seconds)} rows/s`,
    );
    expect(answer.body).toEqual({ inserted: 100_000, lines: 100_000 });
    expect(await followsAmong(pairs.flat())).toBe(100_000);
    expect(await statusOf(b, 1_000_000, 1_000_001)).toBe(200);
    expect(await statusOf(b, 1_099_999, 1_099_998)).toBe(200);
  }, 120_000);

  it('reads a body streamed in small chunks', async () => {
    const body = ndjson(mutual([[121, 122]]));
    const stream = Readable.from(
      (function* () {
        for (let i = 0; i < body.length; i += 5) yield Buffer.from(body.slice(i, i + 5));
      })(),
    );
    const response = await fetch(`${a.httpUrl}${PATH}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${SERVICE_KEY}`,
        'content-type': 'application/x-ndjson; charset=utf-8',
      },
      body: Readable.toWeb(stream) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ inserted: 2, lines: 2 });
  });

  it('answers an empty body with nothing inserted', async () => {
    expect((await bulk(a, '')).body).toEqual({ inserted: 0, lines: 0 });
    expect((await bulk(a, '\n\n')).body).toEqual({ inserted: 0, lines: 0 });
  });

  it('refuses a wrong key (401) and another content type (400) before reading the body', async () => {
    const body = ndjson([[131, 132]]);
    expect((await bulk(a, body, { authorization: 'Bearer wrong-key-0123456789' })).status).toBe(401);
    expect(
      (await api(a, 'POST', PATH, { raw: body, headers: { 'content-type': 'application/x-ndjson' } })).status,
    ).toBe(401);
    const json = await bulk(a, JSON.stringify({ follower_id: 131, followee_id: 132 }), {
      'content-type': 'application/json',
    });
    expect(json.status).toBe(400);
    expect(json.body.error.message).toContain('application/x-ndjson');
    expect(await followsAmong([131, 132])).toBe(0);
  });

  it(`refuses more than ${MAX_BULK_LINES} lines, and a declared length over ${MAX_BULK_BYTES} bytes`, async () => {
    const line = '{"follower_id":141,"followee_id":142}\n';
    const tooMany = await bulk(a, line.repeat(MAX_BULK_LINES + 1));
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.error.code).toBe('payload_too_large');
    expect(await followsAmong([141, 142])).toBe(0);

    const declared = await new Promise<number>((resolve, reject) => {
      const req = request(`${a.httpUrl}${PATH}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${SERVICE_KEY}`,
          'content-type': 'application/x-ndjson',
          'content-length': String(MAX_BULK_BYTES + 1),
        },
      });
      req.on('response', (response) => {
        response.resume();
        resolve(response.statusCode as number);
      });
      req.on('error', reject);
      // Without the check of the declared length the server would wait for a body that never comes.
      req.setTimeout(5_000, () => reject(new Error('no answer before the body was sent')));
      req.flushHeaders();
    });
    expect(declared).toBe(413);
  });

  it('does not exist without SERVICE_KEY', async () => {
    const keyless = await cluster.start({ serviceKey: undefined });
    expect((await bulk(keyless, ndjson([[151, 152]]))).status).toBe(404);
  });

  it('rolls back every follow of the import when the database fails midway', async () => {
    await db.query(`
      create function refuse_trap() returns trigger language plpgsql as $$
      begin raise exception 'trap'; end $$;
      create trigger refuse_trap before insert on follows
      for each row when (new.follower_id = 7777777) execute function refuse_trap();`);
    const database = await openDatabase({ databaseUrl: await cluster.databaseUrl(), dataDir: '' });
    try {
      // Two rows a statement: the trap is in the second statement, after the first has gone in.
      const writer = new GraphBulk(database.db, 2);
      await expect(writer.importFollows([161, 163, 165, 7777777], [162, 164, 166, 161])).rejects.toThrow();
      expect(await followsAmong([161, 163, 165])).toBe(0);
    } finally {
      await database.close();
    }
  });
});

describe('POST /api/graph/follows/bulk on embedded defaults (PGlite, in-process state)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startEmbedded({ demo: false, authSecret: 'bulk-test-secret-0123456789' });
  });
  afterAll(() => server.close());

  it('inserts and applies visibility', async () => {
    const token = await server.mintToken(1);
    expect((await api(server, 'GET', '/api/presence/status/2', { token })).status).toBe(404);
    expect((await bulk(server, ndjson(mutual([[1, 2]])))).body).toEqual({ inserted: 2, lines: 2 });
    expect((await api(server, 'GET', '/api/presence/status/2', { token })).status).toBe(200);
  });
});
