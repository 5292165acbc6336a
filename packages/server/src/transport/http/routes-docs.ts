import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * Swagger UI's own default policy forbids the inline styles Swagger UI itself sets, and upgrades every request
 * to https, which breaks the page on a service reached over plain HTTP. Scripts stay limited to its own files.
 */
const DOCS_POLICY = [
  "default-src 'self'",
  "base-uri 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * `/docs`: the OpenAPI document (the one at /openapi.json) rendered by Swagger UI, in every mode: it shows
 * only what /openapi.json already tells anyone, and calling an endpoint from it still needs a token.
 */
export async function registerDocsRoutes(app: FastifyInstance): Promise<void> {
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true, tryItOutEnabled: false },
    staticCSP: DOCS_POLICY,
  });
}
