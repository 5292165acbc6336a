import { type Bus, GRAPH_GROUP, type GraphVersionStore, type PresenceDurable } from './ports.js';
import { SetCache } from './subscriber-cache.js';
import { QueueShed } from './turn-batcher.js';
import type { ConversationId, UserId } from './types.js';

export interface VisibilityOptions {
  durable: Pick<PresenceDurable, 'subscribersMany' | 'participantsMany'>;
  versions: GraphVersionStore;
  bus: Bus;
  clock: () => number;
  /** How long a cached list lives without a version check (a lost invalidation lingers at most this long). */
  cacheTtlMs: number;
  maxEntries?: number;
  /** Graph queries out at once, and misses waiting behind them, per cache (defaults in subscriber-cache.ts). */
  lookupInFlight?: number;
  lookupQueued?: number;
  /** A lookup was shed because its queue was full. */
  onShed?: () => void;
  onInvalidated?: (users: readonly UserId[], conversations: readonly ConversationId[]) => void;
}

/**
 * Who sees whom: visible(user) (mutual follows and conversation partners) and each conversation's
 * participants, cached and loaded in batches. Every decision of what a user may see, fan-out included, checks
 * the graph version first (one round trip), so a change made on any process applies at once even when the
 * bus message that also drops the cached lists is lost.
 */
export class Visibility {
  private readonly visible: SetCache;
  private readonly participants: SetCache;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: VisibilityOptions) {
    const cache = {
      maxEntries: options.maxEntries ?? 200_000,
      ttlMs: options.cacheTtlMs,
      clock: options.clock,
      maxInFlight: options.lookupInFlight,
      maxQueued: options.lookupQueued,
      onShed: options.onShed,
    };
    this.visible = new SetCache((ids) => options.durable.subscribersMany(ids), cache);
    this.participants = new SetCache((ids) => options.durable.participantsMany(ids), cache);
    this.unsubscribe = options.bus.subscribe(GRAPH_GROUP, (payload) => this.onGraphChange(payload));
  }

  /** Lookups waiting for the database (metrics). */
  get depth(): number {
    return this.visible.depth + this.participants.depth;
  }

  /**
   * visible(user), checked against the graph version so that a change made anywhere applies at once. While
   * the durable store cannot load it, the relation's symmetry answers: the users whose own cached lists hold
   * this one (every watcher with a socket here loaded theirs). Graph writes are refused during such an outage,
   * so those lists are as current as the cache; an empty answer is the failure itself.
   */
  async visibleTo(userId: UserId): Promise<ReadonlySet<UserId>> {
    return (await this.visibleAt(userId)).ids;
  }

  /**
   * visible(user) with the graph version it holds for (the watch index compares it later); `partial` when the
   * database could not load it and the symmetric fallback answered (load it again once it can).
   */
  async visibleAt(userId: UserId): Promise<{ ids: ReadonlySet<UserId>; version: number; partial: boolean }> {
    const version = await this.graphVersion(userId);
    try {
      return { ids: await this.visible.get(userId, version), version, partial: false };
    } catch (error) {
      // Overload is not an outage: graph writes still go on, so other users' cached lists may be behind.
      if (error instanceof QueueShed) throw error;
      const holders = this.visible.keysHolding(userId);
      if (holders.size === 0) throw error;
      return { ids: holders, version, partial: true };
    }
  }

  /** The user's graph version: it moves with every change of visible(user). */
  graphVersion(userId: UserId): Promise<number> {
    return this.options.versions.graphVersions('user', userId);
  }

  /** The graph versions of these users, in one round trip. */
  graphVersionsOf(userIds: readonly UserId[]): Promise<number[]> {
    return this.options.versions.graphVersionsMany('user', userIds);
  }

  /** A conversation's participants, checked against the graph version like `visibleTo`. */
  async participantsOf(conversationId: ConversationId): Promise<ReadonlySet<UserId>> {
    return this.participants.get(
      conversationId,
      await this.options.versions.graphVersions('conversation', conversationId),
    );
  }

  /**
   * Bumps the graph versions the change touches (so every decision anywhere, the watch index's included, uses
   * the new graph at once) and drops the cached lists here and, over the bus, on every other process, whose
   * watch indexes then reload the lists of the viewers touched. The notice is on the bus before this settles.
   */
  async changed(users: readonly UserId[], conversations: readonly ConversationId[]): Promise<void> {
    await this.options.versions.bumpGraphVersions(users, conversations);
    await this.options.bus.publish([GRAPH_GROUP], encodeGraphNotice(users, conversations));
  }

  private onGraphChange(payload: string): void {
    const notice = decodeGraphNotice(payload);
    if (notice === null) {
      this.visible.clear();
      this.participants.clear();
      return;
    }
    const { users, conversations } = notice;
    // `users` holds everyone whose visible set the change touched (both ends of a follow, every participant
    // before and after), so dropping exactly those is enough.
    this.visible.invalidate(users);
    this.participants.invalidate(conversations);
    this.options.onInvalidated?.(users, conversations);
  }

  close(): void {
    this.unsubscribe();
  }
}

/** Every graph notice starts so; no frame for a client does (they start with `{"type":`). */
export const GRAPH_NOTICE_PREFIX = '{"graph":';

export const encodeGraphNotice = (
  users: readonly UserId[],
  conversations: readonly ConversationId[],
): string => JSON.stringify({ graph: 1, users, conversations });

/** The users and conversations a graph notice touches; null when it cannot be read (then assume everything). */
export function decodeGraphNotice(
  payload: string,
): { users: UserId[]; conversations: ConversationId[] } | null {
  try {
    const { users, conversations } = JSON.parse(payload) as {
      users?: unknown;
      conversations?: unknown;
    };
    if (!Array.isArray(users) || !Array.isArray(conversations)) return null;
    return { users: users as UserId[], conversations: conversations as ConversationId[] };
  } catch {
    return null;
  }
}
