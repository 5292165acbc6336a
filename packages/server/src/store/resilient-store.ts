import type { Redis } from 'ioredis';
import type { RuleConfig } from '../core/rules.js';
import type { ConversationId, UserId } from '../core/types.js';
import type { Logger } from '../logger.js';
import { MemoryStore } from './memory-store.js';
import type { PresenceStore } from './presence-store.js';
import type { RedisStore } from './redis-store.js';

/**
 * Degraded mode (the seed's "Redis failure: fallback to PostgreSQL"). While Redis answers, every call goes to
 * it. When it stops answering, calls go to a local in-memory store instead: heartbeats and transitions keep
 * working on this process (transitions are still written through to PostgreSQL, last-seen times still synced
 * in bulk, and reads of users this process does not know fall through to PostgreSQL). When Redis is back, the
 * local state is written into it and the process leaves degraded mode by itself.
 */
export class ResilientStore implements PresenceStore {
  readonly ephemeral = false;
  private readonly fallback: MemoryStore;
  private degradedSince: number | null = null;
  private restoring: Promise<void> | null = null;
  /** Called once Redis holds the restored state: the service connects its held sockets again. */
  onRestored: () => Promise<void> = async () => {};

  constructor(
    private readonly primary: RedisStore,
    private readonly redis: Redis,
    readonly rules: RuleConfig,
    ttlMs: number,
    private readonly logger: Logger,
    private readonly onChange: (degraded: boolean) => void,
    private readonly clock: () => number,
  ) {
    this.fallback = new MemoryStore(rules, ttlMs, clock);
    redis.on('ready', () => {
      if (this.degradedSince !== null) void this.restore();
    });
  }

  get degraded(): boolean {
    return this.degradedSince !== null;
  }

  private enterDegraded(error: unknown): void {
    if (this.degradedSince !== null) return;
    this.degradedSince = this.clock();
    this.logger.warn({ err: error }, 'Redis unreachable: entering degraded mode (local state, PostgreSQL)');
    this.onChange(true);
  }

  /** Writes what this process learned while degraded into Redis, then routes calls to Redis again. */
  private restore(): Promise<void> {
    this.restoring ??= (async () => {
      try {
        await this.primary.renewProcess();
        let cursor = '0';
        let restored = 0;
        do {
          const page = await this.fallback.scanOnline(cursor, 1_000);
          cursor = page.cursor;
          await this.primary.restore(page.states);
          restored += page.states.size;
        } while (cursor !== '0');
        const since = this.degradedSince ?? this.clock();
        this.degradedSince = null;
        this.fallback.clear();
        await this.onRestored();
        this.logger.info({ restored, degradedMs: this.clock() - since }, 'Redis is back: left degraded mode');
        this.onChange(false);
      } catch (error) {
        this.logger.warn({ err: error }, 'Redis came back but restoring state failed; staying degraded');
      } finally {
        this.restoring = null;
      }
    })();
    return this.restoring;
  }

  private async run<T>(call: (store: PresenceStore) => Promise<T>): Promise<T> {
    if (this.degradedSince === null) {
      try {
        return await call(this.primary);
      } catch (error) {
        // A script error with Redis up is a bug, not an outage: let it surface.
        if (this.redis.status === 'ready') throw error;
        this.enterDegraded(error);
      }
    }
    return call(this.fallback);
  }

  heartbeat: PresenceStore['heartbeat'] = (inputs) => this.run((s) => s.heartbeat(inputs));
  connect: PresenceStore['connect'] = (userId, at) => this.run((s) => s.connect(userId, at));
  setStatus: PresenceStore['setStatus'] = (userId, status, at) =>
    this.run((s) => s.setStatus(userId, status, at));
  disconnect: PresenceStore['disconnect'] = (userId, at) => this.run((s) => s.disconnect(userId, at));
  touch: PresenceStore['touch'] = (userIds, at) => this.run((s) => s.touch(userIds, at));
  expire: PresenceStore['expire'] = (userId, at) => this.run((s) => s.expire(userId, at));
  staleUsers: PresenceStore['staleUsers'] = (cutoff, limit) => this.run((s) => s.staleUsers(cutoff, limit));
  getMany: PresenceStore['getMany'] = (userIds) => this.run((s) => s.getMany(userIds));
  fill: PresenceStore['fill'] = (states) => this.run((s) => s.fill(states));
  scanOnline: PresenceStore['scanOnline'] = (cursor, count) => this.run((s) => s.scanOnline(cursor, count));
  countOnline: PresenceStore['countOnline'] = () => this.run((s) => s.countOnline());
  startTyping: PresenceStore['startTyping'] = (u, c, at, ttl) =>
    this.run((s) => s.startTyping(u, c, at, ttl));
  stopTyping: PresenceStore['stopTyping'] = (u: UserId, c: ConversationId) =>
    this.run((s) => s.stopTyping(u, c));
  expireTyping: PresenceStore['expireTyping'] = (u, c, at) => this.run((s) => s.expireTyping(u, c, at));
  dueTyping: PresenceStore['dueTyping'] = (at, limit) => this.run((s) => s.dueTyping(at, limit));
  typingIn: PresenceStore['typingIn'] = (c, at) => this.run((s) => s.typingIn(c, at));
  cleanup: PresenceStore['cleanup'] = (at) => this.run((s) => s.cleanup(at));
  acquireLease: PresenceStore['acquireLease'] = (n, h, ttl) => this.run((s) => s.acquireLease(n, h, ttl));
  releaseLease: PresenceStore['releaseLease'] = (n, h) => this.run((s) => s.releaseLease(n, h));
  graphVersions: PresenceStore['graphVersions'] = (kind, id) => this.run((s) => s.graphVersions(kind, id));
  bumpGraphVersions: PresenceStore['bumpGraphVersions'] = (u, c) =>
    this.run((s) => s.bumpGraphVersions(u, c));
  detach: PresenceStore['detach'] = (userIds, at) => this.run((s) => s.detach(userIds, at));

  ping(): Promise<boolean> {
    return this.primary.ping();
  }

  close(): Promise<void> {
    return this.primary.close();
  }
}
