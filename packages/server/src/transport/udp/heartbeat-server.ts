import { createSocket, type Socket } from 'node:dgram';
import {
  type ClientKind,
  MAX_UDP_PACKET_BYTES,
  type PresenceStatus,
  parseHeartbeatPacket,
  type UdpDropReason,
} from '@presence/protocol';
import type { TokenVerifier } from '../../auth/token-verifier.js';
import type { PresenceService } from '../../core/presence-service.js';
import { TurnBatcher } from '../../core/turn-batcher.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';

export interface UdpOptions {
  service: PresenceService;
  verifier: TokenVerifier;
  metrics: Metrics;
  logger: Logger;
  host: string;
  port: number;
  presenceTimeoutMs: number;
  heartbeatMinIntervalMs: number;
  clock?: () => number;
  /** Heartbeats per store round trip at most. */
  maxBatch?: number;
  /** Batches at the store at once; more wait in the queue. */
  maxInFlight?: number;
  /** Heartbeats that may wait while `maxInFlight` batches are at the store; past it they drop as `overloaded`. */
  maxQueued?: number;
  /** Reports every datagram's fate (a test and metrics hook). */
  onResult?: (result: 'accepted' | 'dropped', reason: UdpDropReason | 'none', count: number) => void;
}

/** Store round trips of heartbeat batches at once. */
const DEFAULT_MAX_IN_FLIGHT = 4;
/** About a second of a heavy heartbeat storm; beyond it the store is not keeping up, and waiting helps nobody. */
const DEFAULT_MAX_QUEUED = 50_000;

interface Pending {
  userId: number;
  status: PresenceStatus;
  device?: string;
  client?: ClientKind;
}

/**
 * UDP heartbeats: one JSON object per datagram, at most 512 bytes. Never answers a datagram (no amplification). Packets are checked in the
 * order cheapest first (size, JSON, fields, clock window, cached token, local rate limit), and the survivors
 * of one turn of the event loop go to the store as one batch, so a storm costs a round trip per batch.
 */
export class UdpHeartbeatServer {
  private readonly socket: Socket;
  private readonly clock: () => number;
  private readonly batch: TurnBatcher<Pending>;
  /**
   * Last accepted heartbeat per device on this process (keyed by user id, or `user:device` for a named
   * device): drops floods before they reach the store.
   */
  private readonly lastAccepted = new Map<number | string, { at: number; status: PresenceStatus }>();
  private readonly pruneTimer: NodeJS.Timeout;
  private readonly maxInFlight: number;
  private inFlight = 0;

  constructor(private readonly options: UdpOptions) {
    this.clock = options.clock ?? Date.now;
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.batch = new TurnBatcher((batch) => this.flush(batch), {
      maxBatch: options.maxBatch ?? 2_000,
      maxQueued: options.maxQueued ?? DEFAULT_MAX_QUEUED,
    });
    this.socket = createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
    this.socket.on('message', (message) => this.onPacket(message));
    this.socket.on('error', (error) => options.logger.error({ err: error }, 'udp socket error'));
    this.pruneTimer = setInterval(() => this.prune(), Math.max(1_000, options.heartbeatMinIntervalMs));
    this.pruneTimer.unref();
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(this.options.port, this.options.host, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    return this.socket.address().port;
  }

  private drop(reason: UdpDropReason, count = 1): void {
    this.options.metrics.udpPackets.inc({ result: 'dropped', reason }, count);
    this.options.onResult?.('dropped', reason, count);
  }

  private onPacket(message: Buffer): void {
    if (message.length > MAX_UDP_PACKET_BYTES) return this.drop('oversize');
    const parsed = parseHeartbeatPacket(message.toString('utf8'));
    if (!parsed.ok) return this.drop(parsed.reason);
    const packet = parsed.value;
    const now = this.clock();
    if (Math.abs(packet.timestamp * 1000 - now) > this.options.presenceTimeoutMs)
      return this.drop('stale_timestamp');
    const { user_id: userId, status = 'online', device, client } = packet;
    this.admit(this.options.verifier.verify(packet.token), { userId, status, device, client });
  }

  private admit(verdict: { userId: number; expiresAt: number } | null, pending: Pending): void {
    const now = this.clock();
    if (verdict === null || verdict.expiresAt <= now) return this.drop('bad_token');
    if (verdict.userId !== pending.userId) return this.drop('user_mismatch');
    const key = pending.device === undefined ? pending.userId : `${pending.userId}:${pending.device}`;
    const last = this.lastAccepted.get(key);
    const { status } = pending;
    if (last !== undefined && last.status === status && now - last.at < this.options.heartbeatMinIntervalMs) {
      return this.drop('rate_limited');
    }
    // Remembered only once queued: a shed heartbeat leaves no trace, so the sender's next one is taken, not
    // rate limited as a repeat.
    if (!this.batch.add(pending)) return this.shed();
    this.lastAccepted.set(key, { at: now, status });
  }

  private shed(): void {
    this.options.metrics.queueShed.inc({ queue: 'udp' });
    this.drop('overloaded');
  }

  /** Heartbeats waiting for a store round trip (not counting the batches in flight). */
  get depth(): number {
    return this.batch.size;
  }

  private flush(batch: Pending[]): void {
    const started = process.hrtime.bigint();
    // While the store is this far behind, the queue fills (bounded) instead of round trips piling up.
    this.inFlight += 1;
    if (this.inFlight >= this.maxInFlight) this.batch.pause();
    const done = () => {
      this.inFlight -= 1;
      if (this.inFlight < this.maxInFlight) this.batch.resume();
    };
    this.options.service
      .heartbeats(batch)
      .finally(done)
      .then(
        (results) => {
          let accepted = 0;
          for (const result of results) if (result.accepted) accepted += 1;
          if (accepted > 0) {
            this.options.metrics.udpPackets.inc({ result: 'accepted', reason: 'none' }, accepted);
            this.options.onResult?.('accepted', 'none', accepted);
          }
          if (accepted < results.length) this.drop('rate_limited', results.length - accepted);
          this.options.metrics.heartbeatBatch.observe(Number(process.hrtime.bigint() - started) / 1e9);
        },
        (error) => {
          // The store is unreachable: these heartbeats are lost, counted, and the next ones will try again.
          for (const { userId, device } of batch)
            this.lastAccepted.delete(device === undefined ? userId : `${userId}:${device}`);
          this.drop('unavailable', batch.length);
          this.options.logger.warn({ err: error, count: batch.length }, 'heartbeat batch failed');
        },
      );
  }

  private prune(): void {
    const horizon = this.clock() - this.options.heartbeatMinIntervalMs;
    for (const [userId, last] of this.lastAccepted) if (last.at < horizon) this.lastAccepted.delete(userId);
  }

  async close(): Promise<void> {
    clearInterval(this.pruneTimer);
    this.batch.flushNow();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
