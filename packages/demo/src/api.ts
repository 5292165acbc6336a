/** The demo-mode endpoints of the server (absent outside demo mode). */

export interface DemoUser {
  user_id: number;
  username: string;
}

export interface DemoConversation {
  conversation_id: number;
  participant_ids: number[];
}

export interface DemoData {
  users: DemoUser[];
  conversations: DemoConversation[];
}

async function json<T>(response: Response, what: string): Promise<T> {
  if (!response.ok)
    throw new Error(`${what} failed with HTTP ${response.status}; is the server in demo mode?`);
  return (await response.json()) as T;
}

export async function fetchDemoData(): Promise<DemoData> {
  return json<DemoData>(await fetch('/api/dev/demo'), 'Loading the demo users');
}

/** A fresh token for a demo user; the client calls this before every reconnect. */
export async function fetchToken(userId: number): Promise<string> {
  const response = await fetch('/api/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId }),
  });
  return (await json<{ token: string }>(response, 'Getting a token')).token;
}
