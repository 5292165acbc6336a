import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import { registerBrowserHeaders } from './browser-headers.js';
import type { HttpDeps } from './deps.js';
import { catalogEntry, sendError } from './errors.js';
import { registerAdminRoutes } from './routes-admin.js';
import { registerCustomStatusRoutes } from './routes-custom-status.js';
import { registerDemoRoutes } from './routes-demo.js';
import { registerDocsRoutes } from './routes-docs.js';
import { registerGraphRoutes } from './routes-graph.js';
import { registerGraphBulkRoutes } from './routes-graph-bulk.js';
import { registerOpsRoutes } from './routes-ops.js';
import { registerPresenceRoutes } from './routes-presence.js';
import { registerSettingsRoutes } from './routes-settings.js';

export type { HttpDeps } from './deps.js';

/**
 * The REST API (user endpoints, graph endpoints, operations) on Fastify: JSON schemas validate every input at
 * the edge, and every error, Fastify's own included, answers `{"error": {"code", "message"}}` from the one
 * catalog.
 */
export async function createHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Request lines would dominate the logs at heartbeat rates, and URLs may carry tokens: errors only.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });

  // An empty body with a JSON content type is "no body", which the heartbeat allows.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });

  app.setErrorHandler(async (error: FastifyError, _request, reply) => {
    let { name, message } = catalogEntry(error);
    // A bounded queue on the way was full (docs/operations.md, Bounded queues): overload, not a bug.
    if (name === 'INTERNAL' && error.name === 'QueueShed') {
      name = 'UNAVAILABLE';
      message = 'the service is overloaded; try again shortly';
      reply.header('retry-after', '1');
    }
    // An unexpected failure while the database is down is the outage, not a bug: say so, and when to retry.
    if (name === 'INTERNAL' && (await deps.readiness().catch(() => null))?.database !== 'up') {
      name = 'UNAVAILABLE';
      message = 'a dependency is down; try again shortly';
      reply.header('retry-after', '5');
    }
    if (name === 'INTERNAL') deps.logger.error({ err: error }, 'request failed');
    if ('headers' in error && error.headers && typeof error.headers === 'object') {
      reply.headers(error.headers as Record<string, string>);
    }
    return sendError(reply, name, message);
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, 'NOT_FOUND', 'not found'));
  registerBrowserHeaders(app, deps.corsOrigins);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Presence service',
        version: '1.0.0',
        description: 'Who is online, away or offline, last seen and typing. See docs/protocol.md.',
      },
      components: {
        securitySchemes: {
          userToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          serviceKey: { type: 'http', scheme: 'bearer' },
        },
      },
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await registerDocsRoutes(app);

  registerOpsRoutes(app, deps);
  registerAdminRoutes(app, deps);
  registerPresenceRoutes(app, deps);
  registerSettingsRoutes(app, deps);
  registerCustomStatusRoutes(app, deps);
  registerGraphRoutes(app, deps);
  registerGraphBulkRoutes(app, deps);
  if (deps.demo) registerDemoRoutes(app, deps.demo);
  return app;
}
