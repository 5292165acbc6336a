import { ConnectLimiter } from '../ws/connect-limiter.js';
import { HttpError } from './errors.js';

/**
 * Changes per user and process: a burst of 10, then one every 6 s. Each change is stored and may drop every
 * process's caches, be announced and be sent to webhooks, so a loop of them must not be free.
 */
export const USER_CHANGES = { perSecond: 1 / 6, burst: 10 };

/**
 * One bucket per user for one kind of change (`what` names it in the answer): a call past the limit throws the
 * 429 with `Retry-After`. The settings and the custom status each take one.
 *
 * @example
 * const admit = changeLimit('settings changes');
 * admit(userId); // throws HttpError RATE_LIMITED past the limit
 */
export function changeLimit(what: string, clock: () => number = Date.now): (userId: number) => void {
  const changes = new ConnectLimiter(USER_CHANGES, clock);
  return (userId) => {
    const waitMs = changes.admit(String(userId));
    if (waitMs <= 0) return;
    const seconds = Math.max(1, Math.ceil(waitMs / 1_000));
    throw new HttpError('RATE_LIMITED', `too many ${what}; retry in ${seconds} s`, {
      'retry-after': String(seconds),
    });
  };
}
