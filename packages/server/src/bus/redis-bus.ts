import type { Bus, BusHandler } from '../core/ports.js';
import { busChannel } from '../store/redis/keys.js';
import type { RedisClient } from '../store/redis/replies.js';
import { LocalBus } from './bus.js';
import { type BusTraffic, Envelopes } from './envelope.js';

/**
 * Spans processes with Redis pub/sub: every publish is delivered locally at once and sent on one channel that
 * every process reads, each delivering to its own subscribers of the named groups. One channel keeps the
 * subscription count constant however many users connect; the cost, every process seeing every event, is
 * fine for the handful of processes one Redis serves.
 */
export class RedisBus implements Bus {
  private readonly local = new LocalBus();
  private readonly channel: string;
  private readonly gapListeners: Array<() => void> = [];
  /** Every process reads every message of the one channel: this grows with the processes, not the clients. */
  readonly stats: BusTraffic = { received: 0, receivedBytes: 0 };
  private readonly envelopes = new Envelopes(this.stats, this.local);

  private constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
    prefix: string,
  ) {
    this.channel = busChannel(prefix);
  }

  /** Subscribes `subscriber` (a connection of its own, which pub/sub takes over) to the bus channel. */
  static async create(publisher: RedisClient, subscriber: RedisClient, prefix = ''): Promise<RedisBus> {
    const bus = new RedisBus(publisher, subscriber, prefix);
    // ioredis subscribes again by itself after a reconnect; what was published meanwhile is lost.
    let lost = false;
    subscriber.on('close', () => {
      lost = true;
    });
    subscriber.on('ready', () => {
      if (!lost) return;
      lost = false;
      for (const listener of bus.gapListeners) listener();
    });
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === bus.channel) bus.envelopes.receive(message);
    });
    await subscriber.subscribe(bus.channel);
    return bus;
  }

  /** Called each time the subscription comes back after it was lost: broadcasts may have been missed. */
  onGap(listener: () => void): void {
    this.gapListeners.push(listener);
  }

  publish(groups: readonly string[], payload: string): Promise<void> {
    this.local.deliver(groups, payload);
    // While Redis is away other processes miss this event (degraded mode reports the outage); their
    // clients re-sync from the snapshot when they reconnect.
    return this.publisher.publish(this.channel, this.envelopes.encode(groups, payload)).then(
      () => {},
      () => {},
    );
  }

  subscribe(group: string, handler: BusHandler): () => void {
    return this.local.subscribe(group, handler);
  }

  async close(): Promise<void> {
    await this.local.close();
    this.subscriber.disconnect();
  }
}
