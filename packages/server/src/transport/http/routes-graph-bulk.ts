import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearer, sameKey } from './auth.js';
import type { HttpDeps } from './deps.js';
import { HttpError } from './errors.js';
import { errors } from './schemas.js';

export const NDJSON = 'application/x-ndjson';
/** The pairs of one request are held until its transaction (16 bytes a line), so lines are what is capped. */
export const MAX_BULK_LINES = 1_000_000;
export const MAX_BULK_BYTES = 64 * 1024 * 1024;
/** A valid line is under 80 characters; a longer one is refused before it can fill memory. */
const MAX_LINE_CHARS = 1_024;
/** Users per graph-change message, so one backfill does not become one huge bus message. */
const USERS_PER_CHANGE = 5_000;

export interface ParsedFollows {
  followers: number[];
  followees: number[];
  /** Follow lines read (blank lines are not counted). */
  lines: number;
}

/**
 * `POST /api/graph/follows/bulk`: a whole follow graph as NDJSON, one `{"follower_id", "followee_id"}` a
 * line. The body is read as a stream and checked to its end before anything is written, so a bad line
 * answers 400 naming it and applies nothing; a good body is written in batches in one transaction, then
 * every user whose visible set may have changed gets it reloaded, on every process.
 */
export function registerGraphBulkRoutes(
  app: FastifyInstance,
  { service, serviceKey, graphBulk }: HttpDeps,
): void {
  if (serviceKey === undefined) return;

  // The body is handed to the handler as the raw stream, so its size is whatever the client sends: the
  // handler counts bytes and lines itself instead of relying on Fastify's body limit.
  app.register(async (scope) => {
    scope.addContentTypeParser(NDJSON, (_request, payload, done) => done(null, payload));

    scope.post(
      '/api/graph/follows/bulk',
      {
        // Checked before the body is touched: a caller with a wrong key or format never gets it read.
        onRequest: async (request: FastifyRequest) => {
          const presented = bearer(request);
          if (presented === null || !sameKey(presented, serviceKey))
            throw new HttpError('UNAUTHORIZED', 'bad service key');
          const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
          if (type !== NDJSON && request.headers['content-length'] !== '0')
            throw new HttpError('BAD_REQUEST', `send NDJSON with content-type: ${NDJSON}`);
          if (Number(request.headers['content-length']) > MAX_BULK_BYTES) throw tooLarge();
        },
        schema: {
          summary: 'Backfill follows in bulk (NDJSON)',
          description:
            'One {"follower_id", "followee_id"} per line, at most 1,000,000 lines and 64 MiB. A bad line ' +
            'answers 400 naming it, and nothing of the request is applied.',
          security: [{ serviceKey: [] }],
          response: {
            200: {
              type: 'object',
              required: ['inserted', 'lines'],
              properties: {
                inserted: { type: 'integer', description: 'follows that did not exist before' },
                lines: { type: 'integer', description: 'follow lines read' },
              },
            },
            ...errors(400, 401, 404, 413),
          },
        },
      },
      async (request) => {
        const parsed = request.body
          ? await readFollows(request.body as Readable)
          : { followers: [], followees: [], lines: 0 };
        const { inserted, touched } = await graphBulk.importFollows(parsed.followers, parsed.followees);
        for (let start = 0; start < touched.length; start += USERS_PER_CHANGE)
          await service.graphChanged(touched.slice(start, start + USERS_PER_CHANGE));
        return { inserted, lines: parsed.lines };
      },
    );
  });
}

const tooLarge = () =>
  new HttpError(
    'PAYLOAD_TOO_LARGE',
    `at most ${MAX_BULK_LINES} lines and ${MAX_BULK_BYTES} bytes per request; split the graph`,
    // The rest of the body is not read, so the connection cannot carry another request.
    { connection: 'close' },
  );

/**
 * Reads NDJSON follows to the end of the stream. After the first bad line the rest is still read (not
 * parsed), because a client that is still sending when the answer comes would see a broken pipe instead of
 * the 400 that names the line.
 */
export async function readFollows(body: Readable): Promise<ParsedFollows> {
  const followers: number[] = [];
  const followees: number[] = [];
  const decoder = new StringDecoder('utf8');
  let bytes = 0;
  let lineNumber = 0;
  let pending = '';
  let failure: string | null = null;

  const take = (line: string) => {
    lineNumber += 1;
    if (line.trim() === '') return;
    const pair =
      line.length > MAX_LINE_CHARS ? `longer than ${MAX_LINE_CHARS} characters` : parseFollow(line);
    if (typeof pair === 'string') {
      failure = `line ${lineNumber}: ${pair}`;
      return;
    }
    if (followers.length === MAX_BULK_LINES) throw tooLarge();
    followers.push(pair[0]);
    followees.push(pair[1]);
  };

  for await (const chunk of body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_BULK_BYTES) throw tooLarge();
    if (failure !== null) continue;
    const lines = (pending + decoder.write(chunk)).split('\n');
    pending = lines.pop() as string;
    for (const line of lines) {
      take(line);
      if (failure !== null) break;
    }
    if (failure === null && pending.length > MAX_LINE_CHARS)
      failure = `line ${lineNumber + 1}: longer than ${MAX_LINE_CHARS} characters`;
  }
  if (failure === null) take(pending + decoder.end());
  if (failure !== null) throw new HttpError('BAD_REQUEST', failure);
  return { followers, followees, lines: followers.length };
}

const isId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 1;

/** One line as a follow pair, or why it is not one. */
function parseFollow(line: string): [number, number] | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields))
    if (key !== 'follower_id' && key !== 'followee_id') return `unknown field ${JSON.stringify(key)}`;
  const { follower_id: follower, followee_id: followee } = fields;
  if (!isId(follower)) return 'follower_id must be a positive integer';
  if (!isId(followee)) return 'followee_id must be a positive integer';
  if (follower === followee) return 'a user cannot follow itself';
  return [follower, followee];
}
