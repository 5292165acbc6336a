import type { PresenceStatus } from '@presence/protocol';
import type { ClientKind, DeviceState } from '../../core/rules.js';
import { optionalNumber as num } from './replies.js';

/**
 * A device as the user hash stores it (field `d:{device}`): "status|kind|last heartbeat|last socket
 * liveness|last close", times epoch ms or empty. The Lua prelude reads and writes the same format.
 */
export function packDevice(d: DeviceState): string {
  return [d.status, d.kind, d.lastHeartbeat ?? '', d.lastSocket ?? '', d.lastDisconnect ?? ''].join('|');
}

export function parseDevice(text: string, connections: number): DeviceState {
  const [status, kind, hb, ws, dc] = text.split('|');
  return {
    status: (status || 'offline') as PresenceStatus,
    kind: (kind || 'web') as ClientKind,
    lastHeartbeat: num(hb),
    lastSocket: num(ws),
    lastDisconnect: num(dc),
    connections,
  };
}

/** `c:{process}:{device}` to the device id, or null for a field of another shape. */
export function countedDevice(field: string): string | null {
  const match = /^c:.+:([^:]+)$/.exec(field);
  return match ? (match[1] as string) : null;
}
