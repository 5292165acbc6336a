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
