import type { FastifyInstance } from 'fastify';

/** Headers the browser may send on a cross-origin call: the token, and JSON bodies. */
const ALLOWED_HEADERS = 'authorization, content-type';
const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE';
/** How long a browser may keep a preflight's answer. */
const PREFLIGHT_MAX_AGE_S = 600;

/**
 * What every HTTP answer tells a browser: the usual hardening headers, and CORS for the configured origins
 * only (none at all when the list is unset; an origin outside it gets no CORS headers, so the browser keeps
 * the answer from the page). A preflight from an allowed origin is answered here with 204.
 */
export function registerBrowserHeaders(
  app: FastifyInstance,
  corsOrigins: readonly string[] | undefined,
): void {
  const allowed = new Set(corsOrigins ?? []);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    if (allowed.size === 0) return;
    reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    if (origin === undefined || !allowed.has(origin)) return;
    reply.header('access-control-allow-origin', origin);
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      reply.header('access-control-allow-methods', ALLOWED_METHODS);
      reply.header('access-control-allow-headers', ALLOWED_HEADERS);
      reply.header('access-control-max-age', String(PREFLIGHT_MAX_AGE_S));
      return reply.code(204).send();
    }
  });
}
