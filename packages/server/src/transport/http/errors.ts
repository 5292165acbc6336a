import { type ErrorBody, ErrorCodes, type ErrorName, parseId } from '@presence/protocol';
import type { FastifyError, FastifyReply } from 'fastify';

/** An error that answers with one entry of the catalog. */
/**
 * A path id as a number. The route's pattern admits up to 16 digits; the ones past 2^53 are no exact JSON
 * number, so they are refused here rather than turned into a wrong user (or a NULL the database refuses).
 */
export function pathId(text: string): number {
  const id = parseId(text);
  if (id === null) throw new HttpError('BAD_REQUEST', 'ids are positive integers up to 2^53 - 1');
  return id;
}

export class HttpError extends Error {
  constructor(
    readonly name_: ErrorName,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function sendError(reply: FastifyReply, name: ErrorName, message: string): FastifyReply {
  const { code, status } = ErrorCodes[name];
  const body: ErrorBody = { error: { code, message } };
  return reply.code(status).send(body);
}

/** Maps Fastify's own errors (validation, body size, parsing) onto the catalog. */
export function catalogEntry(error: FastifyError): { name: ErrorName; message: string } {
  if (error instanceof HttpError) return { name: error.name_, message: error.message };
  if (error.validation) return { name: 'BAD_REQUEST', message: error.message };
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { name: 'PAYLOAD_TOO_LARGE', message: 'request body is too large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { name: 'BAD_REQUEST', message: 'send JSON with content-type: application/json' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { name: 'BAD_REQUEST', message: error.message };
  }
  if (error.statusCode === 400 || error instanceof SyntaxError)
    return { name: 'BAD_REQUEST', message: 'body is not valid JSON' };
  if (error.statusCode === 413) return { name: 'PAYLOAD_TOO_LARGE', message: 'request body is too large' };
  if (error.statusCode === 404) return { name: 'NOT_FOUND', message: 'not found' };
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return { name: 'BAD_REQUEST', message: error.message };
  }
  return { name: 'INTERNAL', message: 'internal error' };
}
