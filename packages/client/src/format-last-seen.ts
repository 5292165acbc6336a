import type { PresenceStatus } from '@presence/protocol';

export interface FormatLastSeenOptions {
  /** The present, epoch ms. Default `Date.now()`; pass it to render many rows from one tick. */
  now?: number;
  /** BCP 47 locale for the relative time. Default: the runtime's. */
  locale?: string | string[];
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const MONTH = 30 * DAY;
const YEAR = 365 * DAY;

/** Largest unit first; each applies while the age is at least its size. */
const UNITS: ReadonlyArray<[Intl.RelativeTimeFormatUnit, number]> = [
  ['year', YEAR],
  ['month', MONTH],
  ['week', WEEK],
  ['day', DAY],
  ['hour', HOUR],
  ['minute', MINUTE],
];

// Formatters are costly to build and a contact list renders every second: keep one per locale.
const formatters = new Map<string, Intl.RelativeTimeFormat>();

function formatter(locale: string | string[] | undefined): Intl.RelativeTimeFormat {
  const key = JSON.stringify(locale ?? null);
  let rtf = formatters.get(key);
  if (!rtf) {
    rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
    formatters.set(key, rtf);
  }
  return rtf;
}

/**
 * Relative time since `lastSeen`, in the largest unit that fits ("5 minutes ago", "yesterday", "now").
 * A time slightly in the future (clock skew between server and browser) reads as "now".
 */
export function formatRelative(lastSeen: string | Date, options: FormatLastSeenOptions = {}): string {
  const now = options.now ?? Date.now();
  const at = typeof lastSeen === 'string' ? Date.parse(lastSeen) : lastSeen.getTime();
  const age = Math.max(0, now - at);
  const rtf = formatter(options.locale);
  for (const [unit, size] of UNITS) {
    if (age >= size) return rtf.format(-Math.floor(age / size), unit);
  }
  return rtf.format(-Math.floor(age / SECOND), 'second');
}

/**
 * What a contact list shows for a user: "online", "away", "last seen 5 minutes ago", or "offline" for a
 * user never seen.
 *
 * @example
 * formatLastSeen({ status: 'offline', last_seen: '2025-11-27T21:00:00.000Z' }); // "last seen 5 minutes ago"
 * formatLastSeen({ status: 'online', last_seen: null }); // "online"
 */
export function formatLastSeen(
  presence: { status: PresenceStatus; last_seen: string | null },
  options: FormatLastSeenOptions = {},
): string {
  if (presence.status !== 'offline') return presence.status;
  if (presence.last_seen === null || Number.isNaN(Date.parse(presence.last_seen))) return 'offline';
  return `last seen ${formatRelative(presence.last_seen, options)}`;
}
