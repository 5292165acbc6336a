import type { ClientKind, PresenceStatus } from '@presence/protocol';
import type { FastifyInstance } from 'fastify';
import { authenticate } from './auth.js';
import type { HttpDeps } from './deps.js';
import { HttpError, pathId } from './errors.js';
import { errors, idParam, presenceSchema, usersSchema } from './schemas.js';

const security = [{ userToken: [] }];

/** User endpoints: heartbeat, status, online friends, online in a conversation. */
/** Most users one bulk status request may name. */
const MAX_BULK_STATUSES = 1_000;

export function registerPresenceRoutes(app: FastifyInstance, { service, verifier, metrics }: HttpDeps): void {
  app.post<{ Body: { status?: PresenceStatus; device?: string; client?: ClientKind } | undefined }>(
    '/api/presence/heartbeat',
    {
      schema: {
        summary: 'Heartbeat: keeps the user online (or away, or sets offline at once)',
        security,
        body: {
          type: ['object', 'null'],
          properties: {
            status: { type: 'string', enum: ['online', 'away', 'offline'] },
            device: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
            client: { type: 'string', enum: ['web', 'mobile', 'desktop'] },
          },
          additionalProperties: false,
        },
        response: { 200: presenceSchema, ...errors(400, 401, 413, 429) },
      },
    },
    async (request, reply) => {
      const userId = await authenticate(request, verifier);
      const body = request.body ?? {};
      const result = await service.heartbeat(userId, body.status ?? 'online', {
        id: body.device,
        kind: body.client,
      });
      if (!result.accepted) {
        metrics.httpHeartbeats.inc({ result: 'rate_limited' });
        const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
        throw new HttpError('RATE_LIMITED', `unchanged heartbeat too soon; retry in ${seconds} s`, {
          'retry-after': String(seconds),
        });
      }
      metrics.httpHeartbeats.inc({ result: 'accepted' });
      return reply.send(result.presence);
    },
  );

  app.get<{ Params: { user_id: string } }>(
    '/api/presence/status/:user_id',
    {
      schema: {
        summary: "A user's presence, for oneself or a user in visible(me); 404 otherwise",
        security,
        params: { type: 'object', properties: { user_id: idParam } },
        response: { 200: presenceSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const viewer = await authenticate(request, verifier);
      const userId = pathId(request.params.user_id);
      const presence = await service.getStatus(viewer, userId);
      if (presence === null) throw new HttpError('NOT_FOUND', 'no such user');
      return presence;
    },
  );

  app.post<{ Body: { user_ids: number[] } }>(
    '/api/presence/statuses',
    {
      schema: {
        summary: 'Presences of up to 1000 users: those that are me or in visible(me), in request order',
        security,
        body: {
          type: 'object',
          required: ['user_ids'],
          additionalProperties: false,
          properties: {
            user_ids: {
              type: 'array',
              minItems: 1,
              maxItems: MAX_BULK_STATUSES,
              items: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
            },
          },
        },
        response: { 200: usersSchema, ...errors(400, 401) },
      },
    },
    async (request) => {
      const viewer = await authenticate(request, verifier);
      return { users: await service.statuses(viewer, request.body.user_ids) };
    },
  );

  app.get(
    '/api/presence/online-friends',
    {
      schema: {
        summary: 'The users of visible(me) who are not offline',
        security,
        response: { 200: usersSchema, ...errors(401) },
      },
    },
    async (request) => ({ users: await service.onlineFriends(await authenticate(request, verifier)) }),
  );

  app.get<{ Params: { id: string } }>(
    '/api/presence/conversations/:id/online',
    {
      schema: {
        summary: 'Participants not offline; 404 unless I am a participant',
        security,
        params: { type: 'object', properties: { id: idParam } },
        response: { 200: usersSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const viewer = await authenticate(request, verifier);
      const users = await service.onlineInConversation(viewer, pathId(request.params.id));
      if (users === null) throw new HttpError('NOT_FOUND', 'no such conversation');
      return { users };
    },
  );
}
