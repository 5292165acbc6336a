import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'X-Presence-Timestamp';
export const SIGNATURE_HEADER = 'X-Presence-Signature';

/**
 * The signature of one delivery: HMAC-SHA256 over "<timestamp>.<body>", so a receiver that checks the
 * timestamp's age also refuses a captured request replayed later.
 *
 * @example
 * signWebhook('a-secret-of-16-chars', 1767225600, '{"events":[]}'); // 'sha256=…' (64 hex digits)
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** True when `signature` is what `signWebhook` gives for these values (compared in constant time). */
export function verifyWebhook(secret: string, timestamp: number, body: string, signature: string): boolean {
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The headers of a delivery of `body` at `nowMs`. */
export function webhookHeaders(secret: string, body: string, nowMs: number): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return {
    'content-type': 'application/json',
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
  };
}
