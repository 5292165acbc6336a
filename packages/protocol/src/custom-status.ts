import type { ParseResult } from './messages.js';
import { MAX_CUSTOM_EMOJI_CODE_POINTS, MAX_CUSTOM_TEXT_CODE_POINTS } from './presence.js';

/** How far ahead a custom status's `expires_at` may be: one year (365 days). */
export const MAX_CUSTOM_EXPIRY_MS = 365 * 24 * 60 * 60 * 1000;

/** The body of `PUT /api/presence/custom-status/` once validated: the expiry in epoch ms. */
export interface CustomStatusInput {
  text: string | null;
  emoji: string | null;
  expiresAt: number | null;
}

const KEYS = ['text', 'emoji', 'expires_at'];

/** ISO 8601 date and time with a time zone (`Z` or `±hh:mm`), seconds and fractions optional. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * Why a text is refused, or null: more than `max` code points, a control character (C0, DEL, C1) or a lone
 * surrogate (JSON can carry one; it is no character and breaks every encoder downstream).
 */
function refusal(name: string, text: string, max: number): string | null {
  let count = 0;
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (code >= 0xd800 && code <= 0xdfff) return `${name} holds a lone surrogate (U+${hex(code)})`;
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f))
      return `${name} holds a control character (U+${hex(code)})`;
    count += 1;
  }
  return count > max ? `${name} is ${count} code points long; at most ${max}` : null;
}

const hex = (code: number) => code.toString(16).toUpperCase().padStart(4, '0');

/** An ISO 8601 time in epoch ms, or NaN; a day the month does not have (Date.parse rolls it over) is NaN. */
function isoTime(value: unknown): number {
  if (typeof value !== 'string' || !ISO_8601.test(value)) return Number.NaN;
  const [y, m, d] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  if (new Date(Date.UTC(y, m - 1, d)).getUTCDate() !== d) return Number.NaN;
  return Date.parse(value);
}

function optionalText(
  data: Record<string, unknown>,
  name: 'text' | 'emoji',
  max: number,
): ParseResult<string | null> {
  const value = data[name];
  if (value === undefined || value === null || value === '') return { ok: true, value: null };
  if (typeof value !== 'string') return { ok: false, message: `${name} must be a string or null` };
  const why = refusal(name, value, max);
  return why === null ? { ok: true, value } : { ok: false, message: why };
}

/**
 * Validates the body of `PUT /api/presence/custom-status/` (contract section 14) at `now`: only the keys
 * `text`, `emoji` and `expires_at`; `text` at most 128 code points and `emoji` at most 16 (code points, not
 * UTF-16 units), neither with a control character or a lone surrogate; at least one of them non-empty (an
 * absent, null or empty one is none); `expires_at` absent, null, or an ISO 8601 time with a time zone after
 * `now` and at most a year ahead. Each refusal says which rule failed.
 *
 * @example
 * parseCustomStatus({ text: 'In a meeting', emoji: '📅', expires_at: '2026-12-04T18:00:00Z' }, Date.now());
 * // { ok: true, value: { text: 'In a meeting', emoji: '📅', expiresAt: 1796407200000 } }
 */
export function parseCustomStatus(data: unknown, now: number): ParseResult<CustomStatusInput> {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return { ok: false, message: 'body must be a JSON object' };
  const body = data as Record<string, unknown>;
  const unknown = Object.keys(body).find((key) => !KEYS.includes(key));
  if (unknown !== undefined)
    return { ok: false, message: `unknown key ${JSON.stringify(unknown)}; expected text, emoji, expires_at` };
  const text = optionalText(body, 'text', MAX_CUSTOM_TEXT_CODE_POINTS);
  if (!text.ok) return text;
  const emoji = optionalText(body, 'emoji', MAX_CUSTOM_EMOJI_CODE_POINTS);
  if (!emoji.ok) return emoji;
  if (text.value === null && emoji.value === null)
    return { ok: false, message: 'a custom status needs a non-empty text or emoji' };
  const expires = body.expires_at;
  let expiresAt: number | null = null;
  if (expires !== undefined && expires !== null) {
    const at = isoTime(expires);
    if (Number.isNaN(at))
      return { ok: false, message: 'expires_at must be an ISO 8601 time with a time zone, or null' };
    if (at <= now) return { ok: false, message: 'expires_at must be in the future' };
    if (at - now > MAX_CUSTOM_EXPIRY_MS)
      return { ok: false, message: 'expires_at must be at most a year (365 days) ahead' };
    expiresAt = at;
  }
  return { ok: true, value: { text: text.value, emoji: emoji.value, expiresAt } };
}
