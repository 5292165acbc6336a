import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearer, sameKey } from './auth.js';
import type { HttpDeps } from './deps.js';
import { HttpError, pathId } from './errors.js';
import { errors, idParam } from './schemas.js';

const security = [{ serviceKey: [] }];
const noContent = { 204: { type: 'null', description: 'done' }, ...errors(400, 401, 404, 413) };
const id = pathId;

/**
 * Graph endpoints for the chat application that owns users, follows, conversations and blocks. Without SERVICE_KEY
 * they do not exist (404); with it, a wrong or missing key is a 401.
 */
export function registerGraphRoutes(app: FastifyInstance, { service, serviceKey }: HttpDeps): void {
  if (serviceKey === undefined) return;
  const guard = async (request: FastifyRequest) => {
    const presented = bearer(request);
    if (presented === null || !sameKey(presented, serviceKey))
      throw new HttpError('UNAUTHORIZED', 'bad service key');
  };

  app.put<{ Params: { id: string }; Body: { username?: string } | undefined }>(
    '/api/graph/users/:id',
    {
      preHandler: guard,
      schema: {
        summary: 'Create a user or set its username',
        security,
        params: { type: 'object', properties: { id: idParam } },
        body: {
          type: ['object', 'null'],
          properties: {
            // No control characters: PostgreSQL refuses NUL in text, and none belongs in a name.
            username: {
              type: 'string',
              minLength: 1,
              maxLength: 200,
              pattern: '^[^\\u0000-\\u001f\\u007f]*$',
            },
          },
          additionalProperties: false,
        },
        response: noContent,
      },
    },
    async (request, reply) => {
      await service.upsertUser(id(request.params.id), request.body?.username ?? null);
      return reply.code(204).send();
    },
  );

  const followParams = {
    type: 'object',
    properties: { follower_id: idParam, followee_id: idParam },
  } as const;
  type FollowParams = { Params: { follower_id: string; followee_id: string } };

  app.put<FollowParams>(
    '/api/graph/follows/:follower_id/:followee_id',
    { preHandler: guard, schema: { summary: 'Follow', security, params: followParams, response: noContent } },
    async (request, reply) => {
      const { follower_id, followee_id } = request.params;
      if (follower_id === followee_id) throw new HttpError('BAD_REQUEST', 'a user cannot follow itself');
      await service.follow(id(follower_id), id(followee_id));
      return reply.code(204).send();
    },
  );

  app.delete<FollowParams>(
    '/api/graph/follows/:follower_id/:followee_id',
    {
      preHandler: guard,
      schema: { summary: 'Unfollow', security, params: followParams, response: noContent },
    },
    async (request, reply) => {
      await service.unfollow(id(request.params.follower_id), id(request.params.followee_id));
      return reply.code(204).send();
    },
  );

  const blockParams = {
    type: 'object',
    properties: { blocker_id: idParam, blocked_id: idParam },
  } as const;
  type BlockParams = { Params: { blocker_id: string; blocked_id: string } };

  app.put<BlockParams>(
    '/api/graph/blocks/:blocker_id/:blocked_id',
    {
      preHandler: guard,
      schema: {
        summary: 'Block: while a block stands either way, neither user sees the other',
        security,
        params: blockParams,
        response: noContent,
      },
    },
    async (request, reply) => {
      const { blocker_id, blocked_id } = request.params;
      if (blocker_id === blocked_id) throw new HttpError('BAD_REQUEST', 'a user cannot block itself');
      await service.block(id(blocker_id), id(blocked_id));
      return reply.code(204).send();
    },
  );

  app.delete<BlockParams>(
    '/api/graph/blocks/:blocker_id/:blocked_id',
    {
      preHandler: guard,
      schema: { summary: 'Unblock', security, params: blockParams, response: noContent },
    },
    async (request, reply) => {
      const { blocker_id, blocked_id } = request.params;
      if (blocker_id === blocked_id) throw new HttpError('BAD_REQUEST', 'a user cannot block itself');
      await service.unblock(id(blocker_id), id(blocked_id));
      return reply.code(204).send();
    },
  );

  app.put<{ Params: { id: string }; Body: { participant_ids: number[] } }>(
    '/api/graph/conversations/:id',
    {
      preHandler: guard,
      bodyLimit: 1024 * 1024,
      schema: {
        summary: "Replace a conversation's participant set",
        security,
        params: { type: 'object', properties: { id: idParam } },
        body: {
          type: 'object',
          required: ['participant_ids'],
          additionalProperties: false,
          properties: {
            participant_ids: {
              type: 'array',
              maxItems: 10_000,
              uniqueItems: true,
              items: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
            },
          },
        },
        response: noContent,
      },
    },
    async (request, reply) => {
      await service.setConversation(id(request.params.id), request.body.participant_ids);
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/graph/conversations/:id',
    {
      preHandler: guard,
      schema: {
        summary: 'Delete a conversation',
        security,
        params: { type: 'object', properties: { id: idParam } },
        response: noContent,
      },
    },
    async (request, reply) => {
      await service.deleteConversation(id(request.params.id));
      return reply.code(204).send();
    },
  );
}
