import { parseCustomStatus } from '@presence/protocol';
import type { FastifyInstance } from 'fastify';
import { authenticate } from './auth.js';
import { changeLimit } from './change-limit.js';
import type { HttpDeps } from './deps.js';
import { HttpError } from './errors.js';
import { errors, presenceSchema } from './schemas.js';

const security = [{ userToken: [] }];

/** The largest custom status body: 128 + 16 code points of at most 4 UTF-8 bytes each, escapes, an expiry. */
const CUSTOM_BODY_LIMIT = 2048;

/** The body's shape for the OpenAPI document; `parseCustomStatus` checks every rule and says which failed. */
const customBody = {
  type: 'object',
  properties: {
    text: { type: ['string', 'null'], description: 'At most 128 code points, no control characters' },
    emoji: { type: ['string', 'null'], description: 'At most 16 code points, no control characters' },
    expires_at: {
      type: ['string', 'null'],
      description: 'ISO 8601 with a time zone, in the future and at most a year ahead; null: until cleared',
    },
  },
} as const;

/** The custom status (contract section 14): set and clear, each answered with my presence after it. */
export function registerCustomStatusRoutes(app: FastifyInstance, { service, verifier }: HttpDeps): void {
  const admit = changeLimit('custom status changes');

  app.put(
    '/api/presence/custom-status',
    {
      bodyLimit: CUSTOM_BODY_LIMIT,
      schema: {
        summary:
          'Set my custom status (text and/or emoji, optional expiry); answers my presence. A bad body: 400, nothing changes',
        security,
        body: customBody,
        response: { 200: presenceSchema, ...errors(400, 401, 413, 429) },
      },
    },
    async (request) => {
      const userId = await authenticate(request, verifier);
      const parsed = parseCustomStatus(request.body, Date.now());
      if (!parsed.ok) throw new HttpError('BAD_REQUEST', parsed.message);
      admit(userId);
      await service.ensureUsers([userId]);
      return service.setCustom(userId, parsed.value);
    },
  );

  app.delete(
    '/api/presence/custom-status',
    {
      schema: {
        summary: 'Clear my custom status; answers my presence',
        security,
        response: { 200: presenceSchema, ...errors(401, 429) },
      },
    },
    async (request) => {
      const userId = await authenticate(request, verifier);
      admit(userId);
      await service.ensureUsers([userId]);
      return service.setCustom(userId, null);
    },
  );
}
