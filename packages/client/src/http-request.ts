/** A request the server refused (`status` 400, 401, 413, 503…) or that did not reach it (`status` 0). */
export class PresenceRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PresenceRequestError';
  }
}

export interface PresenceRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Base URL of the service. */
  url: string;
  path: string;
  /** Sent as JSON when present. */
  body?: unknown;
  /** The user token; `fresh` asks the token source again, after a 401. */
  token: (fresh: boolean) => Promise<string>;
  /** Whether a 401 is worth one more try with a fresh token (not with a fixed token string). */
  refreshable: boolean;
}

/**
 * One call of a user endpoint with the user's token: resolves with the parsed JSON answer of a 2xx, rejects
 * with a `PresenceRequestError` carrying the server's error code otherwise. A 401 may be an expired token, so
 * it is tried once more with a fresh one. Every SDK method over HTTP goes through here.
 */
export async function presenceRequest(request: PresenceRequest): Promise<unknown> {
  const { method, url, path, body, token, refreshable } = request;
  const endpoint = new URL(path, url).toString();
  let response: Response | undefined;
  for (let attempt = 0; attempt < 2 && (response === undefined || response.status === 401); attempt++) {
    if (attempt > 0 && !refreshable) break;
    try {
      response = await fetch(endpoint, {
        method,
        headers: {
          authorization: `Bearer ${await token(attempt > 0)}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new PresenceRequestError(0, 'network', `${method} ${path} failed: ${String(error)}`);
    }
  }
  const answer = (await response?.json().catch(() => null)) as {
    error?: { code?: unknown; message?: unknown };
  } | null;
  if (response?.ok && answer !== null) return answer;
  const code = typeof answer?.error?.code === 'string' ? answer.error.code : 'internal';
  const message =
    typeof answer?.error?.message === 'string'
      ? answer.error.message
      : `${method} ${path} answered ${response?.status ?? 0} without a JSON body`;
  throw new PresenceRequestError(response?.status ?? 0, code, message);
}
