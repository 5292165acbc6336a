import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  CloseCodes,
  ErrorCodes,
  isClientKind,
  isDeviceId,
  MAX_WS_FRAME_BYTES,
  WS_PATH,
} from '@presence/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import type { TokenVerifier } from '../../auth/token-verifier.js';
import type { Bus } from '../../core/ports.js';
import type { PresenceService } from '../../core/presence-service.js';
import type { DeviceRef } from '../../core/rules.js';
import { DEFAULT_SESSION_LIMITS, Session, type SessionLimits } from '../../core/session.js';
import { inSlices, SLICE } from '../../core/slices.js';
import type { Clock } from '../../core/types.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { ConnectLimiter, type ConnectRate } from './connect-limiter.js';

export interface GatewayOptions {
  service: PresenceService;
  bus: Bus;
  verifier: TokenVerifier;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /** Ping every this often; a peer that has not answered the previous ping is dropped. */
  pingIntervalMs: number;
  limits?: Partial<SessionLimits>;
  /** Open connections per user on this process; one more closes the oldest with 4009. */
  maxSocketsPerUser: number;
  /** When set, a browser page from another origin is refused (403) at the upgrade. */
  corsOrigins?: readonly string[] | undefined;
  /** New connections per remote address; unset: no limit. Beyond it the upgrade gets 429 with Retry-After. */
  connectRate?: ConnectRate | undefined;
}

/** Longest delay a Node timer takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Retry-After of a 503 at the upgrade: the same as the HTTP API's. */
const UNAVAILABLE_RETRY_S = 5;
/**
 * How long a closing slow consumer gets before its socket is cut: long enough for a client that reads again to
 * get through the backlog (up to the send limit plus the kernel's buffers, about 5 MB here) to the 4008 close,
 * short enough that one that never reads does not hold its buffers for long.
 */
const SLOW_CONSUMER_CUT_MS = 10_000;

interface Connection {
  socket: WebSocket;
  session: Session;
  /** Set when the server ended the connection: its close is then no sign of the user. */
  closedByServer: boolean;
}

/**
 * The WebSocket gateway, a thin shell: it authenticates the upgrade and hands the socket to a core Session,
 * which owns every per-connection rule; the gateway keeps what belongs to the socket library (timers, pings,
 * cutting a socket that will not close).
 */
export class WsGateway {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  /** Each user's open connections, oldest first. */
  private readonly byUser = new Map<number, Connection[]>();
  private readonly pinger: NodeJS.Timeout;
  private readonly limits: SessionLimits;
  private readonly connectLimiter: ConnectLimiter | null;

  constructor(private readonly options: GatewayOptions) {
    this.limits = { ...DEFAULT_SESSION_LIMITS, ...options.limits };
    const { connectRate } = options;
    this.connectLimiter = connectRate ? new ConnectLimiter(connectRate, options.clock) : null;
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
    // Before anything costs: a flood of upgrades from one address must not reach token verification.
    const waitMs = this.connectLimiter?.admit(request.socket.remoteAddress ?? '') ?? 0;
    if (waitMs > 0) {
      this.options.metrics.wsConnectsRateLimited.inc();
      return refuse(socket, 429, 'RATE_LIMITED', 'too many new connections from this address', {
        'Retry-After': String(Math.max(1, Math.ceil(waitMs / 1_000))),
      });
    }
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      return refuse(socket, 400, 'BAD_REQUEST', 'bad request target');
    }
    if (url.pathname !== WS_PATH && url.pathname !== `${WS_PATH}/`)
      return refuse(socket, 404, 'NOT_FOUND', 'not found');
    // Browsers send Origin on every WebSocket: another site's page must not ride on a user's token.
    const origin = request.headers.origin;
    const allowed = this.options.corsOrigins;
    if (allowed !== undefined && origin !== undefined && !allowed.includes(origin))
      return refuse(socket, 403, 'FORBIDDEN', 'origin not allowed');
    const header = request.headers.authorization;
    // An empty parameter is no token: it must not hide a valid header.
    const token = url.searchParams.get('token') || header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1] || null;
    if (!token) return refuse(socket, 401, 'UNAUTHORIZED', 'missing token');
    const verdict = this.options.verifier.verify(token);
    if (verdict === null) return refuse(socket, 401, 'UNAUTHORIZED', 'invalid or expired token');
    const device = deviceOf(url.searchParams);
    if (typeof device === 'string') return refuse(socket, 400, 'BAD_REQUEST', device);
    const mode = url.searchParams.get('subscribe') ?? 'all';
    if (mode !== 'all' && mode !== 'manual')
      return refuse(socket, 400, 'BAD_REQUEST', 'subscribe must be all or manual');
    // A user seen for the first time is created now, so that a database outage is a 503 at the upgrade (as
    // over HTTP) rather than an opened socket cut with 1011; a known user costs no round trip here.
    this.options.service.ensureUsers([verdict.userId]).then(
      () =>
        this.wss.handleUpgrade(request, socket, head, (ws) =>
          this.accept(ws, verdict.userId, verdict.expiresAt, device, mode),
        ),
      (error) => {
        this.options.logger.warn({ err: error, userId: verdict.userId }, 'upgrade refused: user not created');
        refuse(socket, 503, 'UNAVAILABLE', 'a dependency is down; try again shortly', {
          'Retry-After': String(UNAVAILABLE_RETRY_S),
        });
      },
    );
  }

  private accept(
    socket: WebSocket,
    userId: number,
    expiresAt: number,
    device: DeviceRef,
    subscribe: 'all' | 'manual',
  ): void {
    const { service, bus, metrics, logger, clock } = this.options;
    const closeByServer = (code: number, reason: string) => {
      connection.closedByServer = true;
      socket.close(code, reason);
    };
    const session = new Session({
      service,
      watches: service.watches,
      bus,
      userId,
      device,
      subscribe,
      tokenExpiresAt: expiresAt,
      clock,
      limits: this.limits,
      socket: {
        send: (payload) => {
          if (socket.readyState === socket.OPEN) socket.send(payload);
        },
        close: closeByServer,
        get bufferedAmount() {
          return socket.bufferedAmount;
        },
      },
      onClosedByServer: (reason) => {
        metrics.wsDropped.inc({ reason });
        if (reason === 'slow_consumer') setTimeout(() => socket.terminate(), SLOW_CONSUMER_CUT_MS).unref();
      },
      onSent: (type) => metrics.broadcasts.inc({ type }),
      onError: (error, context) => logger.error({ err: error, userId, context }, 'connection work failed'),
    });
    const connection: Connection = { socket, session, closedByServer: false };
    this.connections.add(connection);
    metrics.wsConnections.inc();
    const own = this.byUser.get(userId) ?? [];
    own.push(connection);
    this.byUser.set(userId, own);
    const live = own.filter((c) => !c.closedByServer);
    if (live.length > this.options.maxSocketsPerUser) {
      const oldest = live[0] as Connection;
      metrics.wsDropped.inc({ reason: 'too_many_sockets' });
      oldest.closedByServer = true;
      oldest.socket.close(CloseCodes.TOO_MANY_SOCKETS, 'too many connections');
    }

    const untilExpiry = session.tokenExpiresIn();
    const expiry =
      untilExpiry < MAX_TIMER_MS ? setTimeout(() => session.expireToken(), untilExpiry) : undefined;
    expiry?.unref();

    socket.on('pong', () => session.markAlive());
    socket.on('message', (data, isBinary) =>
      session.receive(isBinary ? null : (data as Buffer).toString('utf8')),
    );
    socket.on('error', () => {});
    socket.on('close', (code) => {
      clearTimeout(expiry);
      this.connections.delete(connection);
      metrics.wsConnections.dec();
      const left = (this.byUser.get(userId) ?? []).filter((c) => c !== connection);
      if (left.length > 0) this.byUser.set(userId, left);
      else this.byUser.delete(userId);
      // 1006: no close frame came (the socket was cut or the network dropped); not the user's doing.
      session.close(!connection.closedByServer && code !== CloseCodes.ABNORMAL);
    });
  }

  /** Sends every connection a fresh snapshot, a slice per turn of the event loop. */
  resync(): void {
    void inSlices([...this.connections], SLICE, ({ session }) => session.resync());
  }

  /** Pings every connection, a slice per turn of the event loop, so ten thousand sockets never stall it. */
  private pingAll(): void {
    void inSlices([...this.connections], SLICE, (connection) => {
      const { socket, session } = connection;
      if (socket.readyState !== socket.OPEN) return;
      if (!session.checkAlive()) {
        this.options.metrics.wsDropped.inc({ reason: 'no_pong' });
        connection.closedByServer = true;
        socket.terminate();
        return;
      }
      socket.ping();
    });
  }

  /** Closes every connection with 1001 (going away): clients reconnect, to another process if there is one. */
  async close(): Promise<void> {
    clearInterval(this.pinger);
    for (const connection of this.connections) {
      connection.closedByServer = true;
      connection.socket.close(CloseCodes.GOING_AWAY, 'server shutting down');
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function refuse(
  socket: Duplex,
  status: number,
  name: keyof typeof ErrorCodes,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code: ErrorCodes[name].code, message } });
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    429: 'Too Many Requests',
    503: 'Service Unavailable',
  };
  const reason = reasons[status] ?? 'Internal Server Error';
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
}

/**
 * The device a connection is (contract section 11): the `device` query parameter, or one of its own when absent
 * (a `~` no client id can hold, so it never meets a named device); `client` says its kind (default web).
 * A bad value is the refusal's message.
 */
function deviceOf(params: URLSearchParams): DeviceRef | string {
  const id = params.get('device');
  const kind = params.get('client') ?? 'web';
  if (id !== null && !isDeviceId(id)) return 'device must be 1 to 64 characters of A-Z a-z 0-9 _ -';
  if (!isClientKind(kind)) return 'client must be web, mobile or desktop';
  return { id: id ?? `~${randomBytes(8).toString('base64url')}`, kind };
}
