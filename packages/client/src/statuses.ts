import { parseServerMessage, type UserPresence } from '@presence/protocol';

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
  const request = async (fresh: boolean) =>
    fetch(new URL(STATUSES_PATH, url), {
      method: 'POST',
      headers: { authorization: `Bearer ${await token(fresh)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user_ids: userIds }),
    });
  let response = await request(false);
  if (response.status === 401) response = await request(true);
  if (!response.ok) throw new Error(`PresenceClient: statuses answered ${response.status}`);
  const body = (await response.json()) as { users?: unknown };
  // Each entry is checked as a server frame's would be.
  const parsed = parseServerMessage(JSON.stringify({ type: 'presence.subscribed', users: body.users }));
  return parsed?.type === 'presence.subscribed' ? parsed.users : [];
}
