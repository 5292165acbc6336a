import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from './deps.js';

/** /healthz (the process runs), /readyz (it can serve), /metrics (Prometheus text). */
export function registerOpsRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const { metrics, readiness, workerId, scrapeMetrics } = deps;
  // Which process answered: behind one shared port, the only way to tell the workers apart.
  const identity = workerId === undefined ? { pid: process.pid } : { worker: workerId, pid: process.pid };
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok', ...identity }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const state = await readiness();
    // Degraded (Redis down) still serves from local state and PostgreSQL; no database means no service.
    return reply.code(state.database === 'up' ? 200 : 503).send(state);
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const text = await (scrapeMetrics ?? (() => metrics.registry.metrics()))();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
