import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { TokenVerifier } from '../../auth/token-verifier.js';
import { HttpError } from './errors.js';

/** The bearer credential of a request, if any. */
export function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? (match[1] as string) : null;
}

/** The authenticated user of a request, or a 401. */
export async function authenticate(request: FastifyRequest, verifier: TokenVerifier): Promise<number> {
  const token = bearer(request);
  if (token === null) throw new HttpError('UNAUTHORIZED', 'missing bearer token');
  const verdict = verifier.verify(token);
  if (verdict === null) throw new HttpError('UNAUTHORIZED', 'invalid or expired token');
  return verdict.userId;
}

/** Constant-time comparison of a presented key with the configured one. */
export function sameKey(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
