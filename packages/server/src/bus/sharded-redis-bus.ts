import type { Cluster } from 'ioredis';
import type { Bus, BusHandler } from '../core/ports.js';
import { LocalBus } from './bus.js';
import { type BusTraffic, Envelopes } from './envelope.js';

/** What the bus counts, for the benchmark and the tests: what this process sent and received. */
export interface ShardedBusStats extends BusTraffic {
  published: number;
  channels: number;
}

/**
 * Spans processes with Redis Cluster's sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7). Each group has a
 * channel (`channelOf`): a user's group its own channel, in the slot of the user's keys; other groups (graph
 * changes) one channel every process reads. A process subscribes only to the channels of the groups it has
 * subscribers for (its connected users), so what it receives follows its own clients, not the number of
 * processes; a publish is one SPUBLISH per group, each to the one node that owns the channel's slot.
 */
export class ShardedRedisBus implements Bus {
  private readonly local = new LocalBus();
  /** Local subscribers per channel: the channel is subscribed while this is above zero. */
  private readonly counts = new Map<string, number>();
  /** The SSUBSCRIBE of each subscribed channel, settled once the owning node has acknowledged it. */
  private readonly subscribed = new Map<string, Promise<void>>();
  private readonly gapListeners: Array<() => void> = [];
  readonly stats: ShardedBusStats = { published: 0, received: 0, receivedBytes: 0, channels: 0 };
  private readonly envelopes = new Envelopes(this.stats, this.local);

  private constructor(
    private readonly publisher: Cluster,
    /** A Cluster client opened with `shardedSubscribers: true`: one subscriber connection per node. */
    private readonly subscriber: Cluster,
    private readonly channelOf: (group: string) => string,
  ) {}

  /**
   * `broadcast` is the channel of the groups every process reads: subscribed before this returns and for the
   * bus's whole life, so no graph change made after the start is missed.
   */
  static async create(
    publisher: Cluster,
    subscriber: Cluster,
    channels: { channelOf: (group: string) => string; broadcast: string },
  ): Promise<ShardedRedisBus> {
    const bus = new ShardedRedisBus(publisher, subscriber, channels.channelOf);
    // ioredis subscribes again by itself when a node's subscriber comes back; what was published meanwhile
    // to that node's channels is lost.
    let lost = false;
    subscriber.on('-subscriber', () => {
      lost = true;
    });
    const regained = () => {
      if (!lost) return;
      lost = false;
      for (const listener of bus.gapListeners) listener();
    };
    subscriber.on('+subscriber', regained);
    subscriber.on('subscribersReady', regained);
    subscriber.on('smessage', (_channel: string, message: string) => bus.envelopes.receive(message));
    bus.counts.set(channels.broadcast, 1);
    bus.stats.channels = 1;
    await subscriber.ssubscribe(channels.broadcast);
    return bus;
  }

  onGap(listener: () => void): void {
    this.gapListeners.push(listener);
  }

  /**
   * One SPUBLISH per channel, carrying the groups of that channel. Another process receives it only when it
   * has subscribers of one of those groups.
   */
  publish(groups: readonly string[], payload: string): Promise<void> {
    this.local.deliver(groups, payload);
    const byChannel = new Map<string, string[]>();
    for (const group of groups) {
      const channel = this.channelOf(group);
      const list = byChannel.get(channel);
      if (list === undefined) byChannel.set(channel, [group]);
      else list.push(group);
    }
    const sent: Promise<unknown>[] = [];
    for (const [channel, list] of byChannel) {
      this.stats.published++;
      // While a node is away other processes miss this event (degraded mode reports the outage); their
      // clients re-sync from the snapshot when they reconnect.
      sent.push(this.publisher.spublish(channel, this.envelopes.encode(list, payload)).catch(() => {}));
    }
    return Promise.all(sent).then(() => {});
  }

  subscribe(group: string, handler: BusHandler): () => void {
    const channel = this.channelOf(group);
    const count = this.counts.get(channel) ?? 0;
    this.counts.set(channel, count + 1);
    if (count === 0) {
      this.stats.channels++;
      this.subscribed.set(
        channel,
        this.subscriber.ssubscribe(channel).then(
          () => {},
          () => {},
        ),
      );
    }
    const unsubscribe = this.local.subscribe(group, handler);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      unsubscribe();
      const left = (this.counts.get(channel) ?? 1) - 1;
      if (left > 0) {
        this.counts.set(channel, left);
        return;
      }
      this.counts.delete(channel);
      this.subscribed.delete(channel);
      this.stats.channels--;
      this.subscriber.sunsubscribe(channel).catch(() => {});
    };
  }

  /** Settles once the group's channel is subscribed on the node that owns it: broadcasts from then on arrive. */
  ready(group: string): Promise<void> {
    return this.subscribed.get(this.channelOf(group)) ?? Promise.resolve();
  }

  async close(): Promise<void> {
    await this.local.close();
    this.subscriber.disconnect();
  }
}
