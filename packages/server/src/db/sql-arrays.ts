import { type SQL, sql } from 'drizzle-orm';

/**
 * Binds a list as ONE array parameter (`$1::bigint[]`), so a statement over 100,000 rows has a handful of
 * parameters instead of one per value. Only numbers and known words go in, so the literal needs no quoting.
 */
export function bigintArray(values: readonly number[]): SQL {
  return sql`${`{${values.join(',')}}`}::bigint[]`;
}

export function textArray(values: readonly string[]): SQL {
  for (const value of values) {
    if (!/^[a-z_]+$/.test(value))
      throw new Error(`textArray takes plain words only, got ${JSON.stringify(value)}`);
  }
  return sql`${`{${values.join(',')}}`}::text[]`;
}

/** Values as one jsonb array parameter; each element is quoted, so any JSON goes in. */
export function jsonArray(values: readonly unknown[]): SQL {
  const quote = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return sql`${`{${values.map((v) => quote(JSON.stringify(v))).join(',')}}`}::jsonb[]`;
}

/** Epoch milliseconds (or null) as a timestamptz array. */
export function timestampArray(values: readonly (number | null)[]): SQL {
  const literal = values.map((v) => (v === null ? 'NULL' : new Date(v).toISOString())).join(',');
  return sql`${`{${literal}}`}::timestamptz[]`;
}

/** Reads a bigint column whichever way the driver returned it (string, bigint or number). */
export function toId(value: unknown): number {
  return Number(value);
}

/** Reads a timestamptz column as epoch milliseconds. */
export function toMs(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  return Date.parse(String(value));
}
