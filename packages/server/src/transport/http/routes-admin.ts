import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AdminFeed } from '../../admin-feed.js';
import { bearer, sameKey } from './auth.js';
import type { HttpDeps } from './deps.js';
import { HttpError } from './errors.js';

/** Where the operations page is built (packages/admin/dist), the same from src/ and from dist/. */
export const ADMIN_STATIC_DIR = fileURLToPath(new URL('../../../../admin/dist/', import.meta.url));

const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/admin': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/admin/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/admin/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/**
 * The page holds the service key in sessionStorage, so no script but its own may run on it. Styles may be
 * inline because the chart library sizes its elements with style attributes.
 */
const PAGE_POLICY =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

/** How long a browser's EventSource waits before reconnecting to a stream that ended. */
const STREAM_RETRY_MS = 2_000;

/**
 * The operations page at `/admin` and its one data source, `GET /admin/stream` (Server-Sent Events, one JSON
 * snapshot a second). In demo mode it is open; with SERVICE_KEY set the stream needs that key as a bearer
 * (401 otherwise); outside demo mode without SERVICE_KEY neither exists (404). The page itself carries no
 * data, so it is served to anyone who may reach the stream, and asks for the key.
 *
 * Readiness also goes on /metrics from here (`presence_ready`, `presence_dependency_up`), so the alert rules
 * can watch the same check this page draws.
 */
export function registerAdminRoutes(
  app: FastifyInstance,
  deps: HttpDeps,
  staticDir = ADMIN_STATIC_DIR,
): void {
  const { metrics, readiness, logger, serviceKey } = deps;
  metrics.watchReadiness(readiness);
  if (serviceKey === undefined && deps.demo === null) return;

  const guard = async (request: FastifyRequest) => {
    if (serviceKey === undefined) return;
    const presented = bearer(request);
    if (presented === null || !sameKey(presented, serviceKey))
      throw new HttpError('UNAUTHORIZED', 'the operations stream needs the service key', {
        'www-authenticate': 'Bearer',
      });
  };

  const feed = new AdminFeed({ metrics, readiness, logger });
  const streams = new Set<ServerResponse>();
  // An open stream never finishes by itself, and would hold the HTTP server's close forever.
  app.addHook('preClose', async () => {
    feed.close();
    for (const stream of streams) stream.end();
  });

  app.get('/admin/stream', { preHandler: guard, schema: { hide: true } }, (request, reply) => {
    reply.hijack();
    const stream = reply.raw;
    stream.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Proxies that buffer responses (nginx does by default) would hold the snapshots back.
      'x-accel-buffering': 'no',
    });
    stream.write(`retry: ${STREAM_RETRY_MS}\n\n`);
    streams.add(stream);
    const unsubscribe = feed.subscribe((snapshot) => {
      // A reader that falls behind misses snapshots instead of growing a buffer here.
      if (stream.writableNeedDrain) return;
      stream.write(`data: ${JSON.stringify(snapshot)}\n\n`);
    });
    request.raw.socket.setNoDelay(true);
    stream.on('close', () => {
      unsubscribe();
      streams.delete(stream);
    });
  });

  for (const [path, { file, type }] of Object.entries(STATIC_FILES)) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) => {
      let body: Buffer;
      try {
        body = await readFile(join(staticDir, file));
      } catch {
        throw new HttpError('NOT_FOUND', 'the operations page is not built: run npm run build');
      }
      return reply
        .type(type)
        .header('cache-control', 'no-cache')
        .header('content-security-policy', PAGE_POLICY)
        .send(body);
    });
  }
}
