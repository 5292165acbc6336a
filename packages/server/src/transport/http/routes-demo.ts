import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.js';

const STATIC_FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/styles.css': 'styles.css',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** Demo mode only: the demo page, its users and `POST /api/dev/token`. Never registered in production mode. */
export function registerDemoRoutes(
  app: FastifyInstance,
  demo: { mintToken(userId: number): Promise<string>; users(): Promise<unknown>; staticDir: string },
): void {
  app.post<{ Body: { user_id: number } }>(
    '/api/dev/token',
    {
      schema: {
        summary: 'Demo mode only: a token for any user',
        body: {
          type: 'object',
          required: ['user_id'],
          properties: { user_id: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
        },
      },
    },
    async (request) => ({ token: await demo.mintToken(request.body.user_id) }),
  );

  app.get('/api/dev/demo', { schema: { summary: 'Demo mode only: the demo users and conversations' } }, () =>
    demo.users(),
  );

  for (const [path, file] of Object.entries(STATIC_FILES)) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) => {
      let body: Buffer;
      try {
        body = await readFile(join(demo.staticDir, file));
      } catch {
        throw new HttpError('NOT_FOUND', 'the demo page is not built: run npm run build');
      }
      const type = TYPES[file.split('.').pop() as string] ?? 'application/octet-stream';
      return reply.type(type).header('cache-control', 'no-cache').send(body);
    });
  }
}
