/** JSON schemas shared by the routes (and the OpenAPI document). */

export const presenceSchema = {
  type: 'object',
  required: ['user_id', 'status', 'last_seen', 'v', 'clients', 'custom'],
  properties: {
    user_id: { type: 'integer', minimum: 1 },
    status: { type: 'string', enum: ['online', 'away', 'offline'] },
    last_seen: { type: ['string', 'null'], format: 'date-time' },
    v: {
      type: 'integer',
      minimum: 0,
      description: 'Version: grows with every change of this presence; of two answers, the larger v is newer',
    },
    clients: {
      type: 'object',
      description: 'The most available status per kind of client over live devices; empty when offline',
      properties: {
        web: { type: 'string', enum: ['online', 'away'] },
        mobile: { type: 'string', enum: ['online', 'away'] },
        desktop: { type: 'string', enum: ['online', 'away'] },
      },
      additionalProperties: false,
    },
    custom: {
      type: ['object', 'null'],
      description:
        'The custom status (null: none, or hidden from this viewer); an absent text or emoji is null, and ' +
        'expires_at is null for one that stays until cleared',
      required: ['text', 'emoji', 'expires_at'],
      properties: {
        text: { type: ['string', 'null'] },
        emoji: { type: ['string', 'null'] },
        expires_at: { type: ['string', 'null'], format: 'date-time' },
      },
      additionalProperties: false,
    },
  },
} as const;

export const usersSchema = {
  type: 'object',
  required: ['users'],
  properties: { users: { type: 'array', items: presenceSchema } },
} as const;

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

/** Ids in paths: digits only, so "1e3", "-1" and "0x10" are refused before any handler runs. */
export const idParam = { type: 'string', pattern: '^[1-9][0-9]{0,15}$' } as const;

export function errors(...statuses: number[]): Record<number, typeof errorSchema> {
  return Object.fromEntries(statuses.map((status) => [status, errorSchema]));
}
