import type { PresenceStatus } from '@presence/protocol';
import type { DeviceInfo, HeartbeatResult, HeartbeatTransport } from './types.js';

export interface HttpHeartbeatOptions {
  /** Base URL of the service, e.g. `https://presence.example.com`. */
  url: string;
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

const HEARTBEAT_PATH = '/api/presence/heartbeat/';

/**
 * Heartbeats over `POST /api/presence/heartbeat/`, the browser transport (browsers cannot send UDP).
 *
 * @example
 * const client = new PresenceClient({ token, heartbeat: httpHeartbeat({ url: 'https://presence.example.com' }) });
 */
export function httpHeartbeat(options: HttpHeartbeatOptions): HeartbeatTransport {
  const endpoint = new URL(HEARTBEAT_PATH, options.url).toString();
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  return {
    async send(
      status: PresenceStatus,
      token: string,
      _userId: number,
      device?: DeviceInfo,
    ): Promise<HeartbeatResult> {
      try {
        const response = await doFetch(endpoint, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(device ? { status, device: device.id, client: device.kind } : { status }),
          // Lets an "offline" sent while the page unloads still reach the server.
          keepalive: true,
        });
        // The body is not needed; reading it frees the connection for reuse.
        await response.body?.cancel().catch(() => {});
        if (response.ok) return 'sent';
        // 429: an unchanged heartbeat came sooner than the server's minimum interval. The server already
        // has this status and the user stays present, so this is success, not something to retry.
        if (response.status === 429) return 'rate_limited';
        if (response.status === 401) return 'unauthorized';
        return 'failed';
      } catch {
        return 'failed';
      }
    },
  };
}
