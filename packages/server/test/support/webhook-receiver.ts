import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789';

export interface ReceivedEvent {
  id: string;
  type: string;
  at: string;
  presence: { user_id: number; status: string; last_seen: string | null; v: number };
}

export interface Delivery {
  /** The status this receiver answered. */
  status: number;
  timestamp: string;
  signature: string;
  body: string;
  events: ReceivedEvent[];
}

/**
 * A webhook receiver on port 0 that keeps every request and answers with `status` (a test flips it to play a
 * receiver that is down). Tests wait on what it received, never on time.
 */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  /** What the next requests are answered with; 0: no answer at all (a receiver that hangs). */
  status = 200;
  private waiters: Array<{ done: () => boolean; resolve: () => void }> = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server);
    server.on('request', (request, response) => {
      void read(request).then((body) => {
        const status = receiver.status;
        receiver.deliveries.push({
          status,
          timestamp: String(request.headers['x-presence-timestamp']),
          signature: String(request.headers['x-presence-signature']),
          body,
          events: (JSON.parse(body) as { events: ReceivedEvent[] }).events,
        });
        if (status !== 0) response.writeHead(status).end();
        receiver.check();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
  }

  /** Events of the deliveries answered with a 2xx, in arrival order. */
  accepted(): ReceivedEvent[] {
    return this.deliveries.filter((d) => d.status >= 200 && d.status < 300).flatMap((d) => d.events);
  }

  /** Resolves once `done` holds over what arrived; fails after `timeoutMs`. */
  until(done: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== finish);
        reject(new Error(`webhook receiver: no ${what} after ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ done, resolve: finish });
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  private check(): void {
    this.waiters = this.waiters.filter((w) => {
      if (!w.done()) return true;
      w.resolve();
      return false;
    });
  }
}

async function read(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The receiver's side of the signature, written out here rather than borrowed from the server. */
export function expectedSignature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Users whose accepted events do not come in strictly increasing `v` (should be none). */
export function outOfOrder(events: readonly ReceivedEvent[]): number[] {
  const last = new Map<number, number>();
  const bad = new Set<number>();
  for (const { presence } of events) {
    if ((last.get(presence.user_id) ?? -1) >= presence.v) bad.add(presence.user_id);
    last.set(presence.user_id, presence.v);
  }
  return [...bad];
}
