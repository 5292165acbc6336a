const whole = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

/** A count as people read it: 1,234 up to a million, then 1.2M. */
export function count(value: number): string {
  return value >= 1_000_000 ? compact.format(value) : whole.format(value);
}

/** A per-second rate: one decimal while small, where the decimal still means something. */
export function rate(value: number): string {
  if (value >= 10_000) return compact.format(value);
  return value < 10 ? oneDecimal.format(value) : whole.format(value);
}

export function milliseconds(value: number): string {
  return `${value < 10 ? oneDecimal.format(value) : whole.format(value)} ms`;
}

export function bytes(value: number): string {
  const mib = value / (1024 * 1024);
  return mib >= 1024 ? `${oneDecimal.format(mib / 1024)} GiB` : `${whole.format(mib)} MiB`;
}

/** Sum of a by-label record. */
export function sum(values: Record<string, number>): number {
  let total = 0;
  for (const value of Object.values(values)) total += value;
  return total;
}
