import type { Socket } from 'node:dgram';
import { type HeartbeatPacket, MAX_UDP_PACKET_BYTES, type PresenceStatus } from '@presence/protocol';
import type { DeviceInfo, HeartbeatResult, HeartbeatTransport } from './types.js';

export interface UdpHeartbeatOptions {
  /** The server's HOST. */
  host: string;
  /** The server's UDP_PORT (default 5555). */
  port: number;
}

/**
 * Heartbeats as UDP datagrams (one JSON `HeartbeatPacket` each), the cheap transport for Node clients.
 * The server never answers, so a datagram that was sent counts as `sent`; a 429-like drop is silent and
 * harmless.
 *
 * @example
 * import { udpHeartbeat } from '@presence/client/node';
 * const client = new PresenceClient({ url, token, WebSocket, heartbeat: udpHeartbeat({ host, port: 5555 }) });
 */
export function udpHeartbeat(options: UdpHeartbeatOptions): HeartbeatTransport {
  let socket: Promise<Socket> | null = null;

  function open(): Promise<Socket> {
    // Imported here, not at the top, so nothing that reaches a browser bundle names node:dgram.
    socket ??= import('node:dgram').then((dgram) => {
      const s = dgram.createSocket(options.host.includes(':') ? 'udp6' : 'udp4');
      // Heartbeats must not keep a process alive that has nothing else to do.
      s.unref();
      return s;
    });
    return socket;
  }

  return {
    async send(
      status: PresenceStatus,
      token: string,
      userId: number,
      device?: DeviceInfo,
    ): Promise<HeartbeatResult> {
      const packet: HeartbeatPacket = {
        user_id: userId,
        token,
        timestamp: Math.floor(Date.now() / 1000),
        status,
        ...(device ? { device: device.id, client: device.kind } : {}),
      };
      const bytes = new TextEncoder().encode(JSON.stringify(packet));
      // The server drops oversize datagrams without a word; say so here instead.
      if (bytes.byteLength > MAX_UDP_PACKET_BYTES) return 'failed';
      try {
        const s = await open();
        await new Promise<void>((resolve, reject) =>
          s.send(bytes, options.port, options.host, (error) => (error ? reject(error) : resolve())),
        );
        return 'sent';
      } catch {
        return 'failed';
      }
    },
    close(): void {
      const closing = socket;
      socket = null;
      void closing?.then((s) => s.close());
    },
  };
}
