import { parseServerMessage, type UserPresence } from '@presence/protocol';
import { presenceRequest } from './http-request.js';

const STATUSES_PATH = '/api/presence/statuses/';

/**
 * `POST /api/presence/statuses/` with a user token (`fresh` asks the token source again, after a 401): the
 * presences of the users asked for that the token's user may see, in the order asked.
 */
export async function fetchStatuses(
  url: string,
  token: (fresh: boolean) => Promise<string>,
  userIds: readonly number[],
): Promise<UserPresence[]> {
  const body = (await presenceRequest({
    method: 'POST',
    url,
    path: STATUSES_PATH,
    body: { user_ids: userIds },
    token,
    refreshable: true,
  })) as { users?: unknown };
  // Each entry is checked as a server frame's would be.
  const parsed = parseServerMessage(JSON.stringify({ type: 'presence.subscribed', users: body.users }));
  return parsed?.type === 'presence.subscribed' ? parsed.users : [];
}
