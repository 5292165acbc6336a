import { randomUUID } from 'node:crypto';
import type { LocalBus } from './bus.js';

/** What a process sends over Redis pub/sub for each publish: its origin, the groups and the payload. */
export interface Envelope {
  /** Origin process: it has delivered locally already. */
  o: string;
  g: readonly string[];
  p: string;
}

/**
 * The envelope a pub/sub message holds when another process sent it; null for this process's own messages
 * and for anything that is not an envelope (a message on the channel is never trusted to be well formed).
 */
export function foreignEnvelope(message: string, origin: string, ownPrefix: string): Envelope | null {
  if (message.startsWith(ownPrefix)) return null;
  let envelope: Envelope;
  try {
    envelope = JSON.parse(message) as Envelope;
  } catch {
    return null;
  }
  if (envelope.o === origin || !Array.isArray(envelope.g) || typeof envelope.p !== 'string') return null;
  return envelope;
}

/** What a process read from the bus (its subscriber connections), its own echoes included. */
export interface BusTraffic {
  /** Pub/sub messages read. */
  received: number;
  /** Their bytes (UTF-8). */
  receivedBytes: number;
}

/**
 * One process's side of the envelopes, shared by both Redis buses: its origin, what it sends, and what it
 * reads (counted in `traffic`, then delivered to this process's subscribers unless it sent it itself).
 */
export class Envelopes {
  readonly origin = randomUUID();
  /** How this process's own envelopes begin: they are recognised without parsing them. */
  private readonly ownPrefix = `{"o":"${this.origin}"`;

  constructor(
    private readonly traffic: BusTraffic,
    private readonly local: LocalBus,
  ) {}

  encode(groups: readonly string[], payload: string): string {
    const envelope: Envelope = { o: this.origin, g: groups, p: payload };
    return JSON.stringify(envelope);
  }

  receive(message: string): void {
    this.traffic.received++;
    this.traffic.receivedBytes += Buffer.byteLength(message);
    const envelope = foreignEnvelope(message, this.origin, this.ownPrefix);
    if (envelope !== null) this.local.deliver(envelope.g, envelope.p);
  }
}
