/**
 * The Node entry: everything of the browser entry plus the UDP heartbeat transport, kept apart so that
 * browser bundles never see `node:dgram`.
 */
import type { PresenceClientOptions } from './client-options.js';
import { PresenceClient } from './presence-client.js';
import { udpHeartbeat } from './udp-heartbeat.js';

export * from './index.js';
export { type UdpHeartbeatOptions, udpHeartbeat } from './udp-heartbeat.js';

/** The port the server listens on for heartbeat datagrams unless its UDP_PORT says otherwise. */
export const DEFAULT_UDP_PORT = 5555;

export interface NodeClientOptions extends Omit<PresenceClientOptions, 'url' | 'WebSocket'> {
  /** Base URL of the service, `http://host:port`. */
  url: string;
  /** `WebSocket` from the `ws` package (Node 20 has no stable global one). */
  WebSocket: NonNullable<PresenceClientOptions['WebSocket']>;
  /** UDP heartbeat target; default the host of `url` and port 5555. `false` uses HTTP heartbeats instead. */
  udp?: { host?: string; port?: number } | false;
}

/**
 * A client for Node: WebSocket from `ws`, heartbeats over UDP, no idle detection.
 *
 * @example
 * import WebSocket from 'ws';
 * import { createNodeClient } from '@presence/client/node';
 * const client = createNodeClient({ url: 'http://127.0.0.1:8080', token, WebSocket, udp: { port: 5555 } });
 * await client.connect();
 */
export function createNodeClient(options: NodeClientOptions): PresenceClient {
  const { udp, ...rest } = options;
  const heartbeat =
    rest.heartbeat ??
    (udp === false
      ? undefined
      : udpHeartbeat({
          host: udp?.host ?? new URL(options.url).hostname,
          port: udp?.port ?? DEFAULT_UDP_PORT,
        }));
  return new PresenceClient({ idle: false, ...rest, ...(heartbeat === undefined ? {} : { heartbeat }) });
}
