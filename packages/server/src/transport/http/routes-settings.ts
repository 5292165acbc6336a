import { LAST_SEEN_VISIBILITIES, type PrivacySettings } from '@presence/protocol';
import type { FastifyInstance } from 'fastify';
import { authenticate } from './auth.js';
import { changeLimit } from './change-limit.js';
import type { HttpDeps } from './deps.js';
import { errors } from './schemas.js';

const security = [{ userToken: [] }];

/** The largest settings body: a few short fields; anything longer is refused unread (413). */
const SETTINGS_BODY_LIMIT = 1024;

const settingsProperties = {
  invisible: {
    type: 'boolean',
    description: 'Appear offline to everyone else (last_seen frozen when set); own devices see the truth',
  },
  last_seen: {
    type: 'string',
    enum: [...LAST_SEEN_VISIBILITIES],
    description: 'Who sees my last_seen: everyone (of visible(me)), friends (mutual followers) or nobody',
  },
} as const;

const settingsSchema = {
  type: 'object',
  required: ['invisible', 'last_seen'],
  properties: settingsProperties,
} as const;

/** Privacy settings (contract section 13). */
export function registerSettingsRoutes(app: FastifyInstance, { service, verifier }: HttpDeps): void {
  const admit = changeLimit('settings changes');
  app.get(
    '/api/presence/settings',
    {
      schema: {
        summary: 'My privacy settings',
        security,
        response: { 200: settingsSchema, ...errors(401) },
      },
    },
    async (request) => service.settings(await authenticate(request, verifier)),
  );

  app.patch<{ Body: Partial<PrivacySettings> }>(
    '/api/presence/settings',
    {
      bodyLimit: SETTINGS_BODY_LIMIT,
      schema: {
        summary: 'Change any of my privacy settings; answers all of them. An unknown key or bad value: 400',
        security,
        body: { type: 'object', additionalProperties: false, properties: settingsProperties },
        response: { 200: settingsSchema, ...errors(400, 401, 413, 429) },
      },
    },
    async (request) => {
      const userId = await authenticate(request, verifier);
      admit(userId);
      return service.updateSettings(userId, request.body);
    },
  );
}
