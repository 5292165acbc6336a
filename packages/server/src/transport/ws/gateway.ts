import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  CloseCodes,
  ErrorCodes,
  type ErrorMessage,
  MAX_WS_FRAME_BYTES,
  parseClientMessage,
  type SnapshotMessage,
  WS_PATH,
} from '@presence/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import type { TokenVerifier } from '../../auth/token-verifier.js';
import { type Bus, userGroup } from '../../bus/bus.js';
import type { PresenceService } from '../../core/presence-service.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';

export interface GatewayOptions {
  service: PresenceService;
  bus: Bus;
  verifier: TokenVerifier;
  metrics: Metrics;
  logger: Logger;
  /** Ping every this often; a peer that has not answered the previous ping is dropped. */
  pingIntervalMs: number;
  /** Bytes queued for a client before it counts as not reading and is dropped. */
  maxBufferedBytes?: number;
  /** Bad frames within a minute before the connection is closed with 1008. */
  maxBadFrames?: number;
}

/** Longest delay a Node timer takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Connections pinged per turn of the event loop. */
const PING_SLICE = 500;

interface Connection {
  socket: WebSocket;
  userId: number;
  alive: boolean;
  badFrames: number;
  badSince: number;
}

/**
 * The WebSocket gateway (contract section 8), a thin shell: it authenticates the upgrade, subscribes the
 * connection to its user's group, sends the snapshot, validates client frames and hands them to the service.
 */
export class WsGateway {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly pinger: NodeJS.Timeout;
  private readonly maxBuffered: number;
  private readonly maxBadFrames: number;

  constructor(private readonly options: GatewayOptions) {
    this.maxBuffered = options.maxBufferedBytes ?? 1024 * 1024;
    this.maxBadFrames = options.maxBadFrames ?? 20;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_WS_FRAME_BYTES,
      perMessageDeflate: false,
    });
    this.pinger = setInterval(() => this.pingAll(), options.pingIntervalMs);
    this.pinger.unref();
  }

  get size(): number {
    return this.connections.size;
  }

  /** The HTTP server's 'upgrade' handler. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      return refuse(socket, 400, 'BAD_REQUEST', 'bad request target');
    }
    if (url.pathname !== WS_PATH && url.pathname !== `${WS_PATH}/`)
      return refuse(socket, 404, 'NOT_FOUND', 'not found');
    const header = request.headers.authorization;
    const token = url.searchParams.get('token') ?? (header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1] || null);
    if (!token) return refuse(socket, 401, 'UNAUTHORIZED', 'missing token');
    const verdict = this.options.verifier.verify(token);
    if (verdict === null) return refuse(socket, 401, 'UNAUTHORIZED', 'invalid or expired token');
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, verdict.userId, verdict.expiresAt));
  }

  private accept(socket: WebSocket, userId: number, expiresAt: number): void {
    const { service, bus, metrics, logger } = this.options;
    const connection: Connection = { socket, userId, alive: true, badFrames: 0, badSince: Date.now() };
    this.connections.add(connection);
    metrics.wsConnections.inc();

    // Events that arrive before the snapshot is out wait behind it, so the client never sees them reversed.
    let pending: string[] | null = [];
    const deliver = (payload: string) => {
      if (pending !== null) pending.push(payload);
      else this.send(connection, payload);
    };
    const unsubscribe = bus.subscribe(userGroup(userId), deliver);
    let closed = false;
    const connected = service.connect(userId);

    // The token's validity is the connection's: at its expiry the client must come back with a fresh one.
    const untilExpiry = expiresAt - Date.now();
    const expiry =
      untilExpiry < MAX_TIMER_MS
        ? setTimeout(() => socket.close(CloseCodes.TOKEN_EXPIRED, 'token expired'), Math.max(0, untilExpiry))
        : undefined;
    expiry?.unref();

    socket.on('pong', () => {
      connection.alive = true;
    });
    socket.on('message', (data, isBinary) => this.onFrame(connection, data as Buffer, isBinary));
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      clearTimeout(expiry);
      unsubscribe();
      this.connections.delete(connection);
      metrics.wsConnections.dec();
      connected
        .then(() => service.disconnect(userId))
        .catch((error) => logger.error({ err: error, userId }, 'disconnect failed'));
    });

    connected
      .then(() => service.snapshot(userId))
      .then((users) => {
        if (closed) return;
        const snapshot: SnapshotMessage = { type: 'presence.snapshot', users };
        this.send(connection, JSON.stringify(snapshot));
        const queued = pending ?? [];
        pending = null;
        for (const payload of queued) this.send(connection, payload);
      })
      .catch((error) => {
        logger.error({ err: error, userId }, 'connection setup failed');
        socket.close(CloseCodes.INTERNAL_ERROR, 'internal error');
      });
  }

  private send(connection: Connection, payload: string): void {
    const { socket } = connection;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > this.maxBuffered) {
      // A client that does not read would make us buffer without bound: drop it; it can reconnect.
      this.options.metrics.wsDropped.inc({ reason: 'slow_consumer' });
      socket.close(CloseCodes.SLOW_CONSUMER, 'slow consumer');
      setTimeout(() => socket.terminate(), 1_000).unref();
      return;
    }
    socket.send(payload);
    this.options.metrics.broadcasts.inc({
      type: payload.startsWith('{"type":"presence.typing"') ? 'typing' : 'status',
    });
  }

  private onFrame(connection: Connection, data: Buffer, isBinary: boolean): void {
    connection.alive = true;
    const parsed = isBinary
      ? ({ ok: false, message: 'frames must be JSON text' } as const)
      : parseClientMessage(data.toString('utf8'));
    if (!parsed.ok) return this.badFrame(connection, 'BAD_FRAME', parsed.message);
    const { service, logger } = this.options;
    const message = parsed.value;
    let action: Promise<boolean>;
    if (message.type === 'presence.status.set') {
      action = service.setStatus(connection.userId, message.status).then(() => true);
    } else if (message.type === 'presence.typing.start') {
      action = service.startTyping(connection.userId, message.conversation_id);
    } else {
      action = service.stopTyping(connection.userId, message.conversation_id);
    }
    action.then(
      (allowed) => {
        if (!allowed) this.badFrame(connection, 'FORBIDDEN', 'not a participant of that conversation');
      },
      (error) => {
        logger.error({ err: error, userId: connection.userId, type: message.type }, 'client frame failed');
        this.sendError(connection, 'INTERNAL', 'internal error');
      },
    );
  }

  private badFrame(connection: Connection, name: 'BAD_FRAME' | 'FORBIDDEN', message: string): void {
    const now = Date.now();
    if (now - connection.badSince > 60_000) {
      connection.badSince = now;
      connection.badFrames = 0;
    }
    connection.badFrames += 1;
    this.sendError(connection, name, message);
    if (connection.badFrames > this.maxBadFrames) {
      this.options.metrics.wsDropped.inc({ reason: 'abuse' });
      connection.socket.close(CloseCodes.POLICY_VIOLATION, 'too many bad frames');
    }
  }

  private sendError(connection: Connection, name: keyof typeof ErrorCodes, message: string): void {
    const frame: ErrorMessage = { type: 'error', code: ErrorCodes[name].code, message };
    if (connection.socket.readyState === connection.socket.OPEN)
      connection.socket.send(JSON.stringify(frame));
  }

  /** Pings every connection, a slice per turn of the event loop, so ten thousand sockets never stall it. */
  private pingAll(): void {
    const all = [...this.connections];
    const slice = (start: number) => {
      for (const connection of all.slice(start, start + PING_SLICE)) {
        if (connection.socket.readyState !== connection.socket.OPEN) continue;
        if (!connection.alive) {
          this.options.metrics.wsDropped.inc({ reason: 'no_pong' });
          connection.socket.terminate();
          continue;
        }
        connection.alive = false;
        connection.socket.ping();
      }
      if (start + PING_SLICE < all.length) setImmediate(() => slice(start + PING_SLICE));
    };
    slice(0);
  }

  /** Closes every connection with 1001 (going away): clients reconnect, to another process if there is one. */
  async close(): Promise<void> {
    clearInterval(this.pinger);
    for (const { socket } of this.connections) socket.close(CloseCodes.GOING_AWAY, 'server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function refuse(socket: Duplex, status: number, name: keyof typeof ErrorCodes, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code: ErrorCodes[name].code, message } });
  const reasons: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found' };
  const reason = reasons[status] ?? 'Internal Server Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
