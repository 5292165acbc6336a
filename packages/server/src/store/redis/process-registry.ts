import { randomUUID } from 'node:crypto';
import { allShards, type RedisKeys } from './keys.js';
import type { RedisClient } from './replies.js';
import { runScript } from './scripts.js';

/**
 * This process's entry in the set of live processes. Socket counts a process keeps in user hashes are believed
 * only while its entry has not run out, so the sockets of a process that dies stop counting on their own. On
 * a cluster each shard has its own set (a script reads the one beside the user's hash), so the entry is
 * written to every shard.
 */
export class ProcessRegistry {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    /** Identifies this process in the per-process socket counts. */
    public id: string,
    /** How long the entry lives; the periodic touch renews it, so it must exceed the refresh interval. */
    readonly ttlMs: number,
  ) {}

  async register(): Promise<void> {
    await Promise.all(
      allShards(this.keys).map((shard) =>
        runScript(this.redis, 'register-process', [this.keys.processes(shard)], [this.id, this.ttlMs]),
      ),
    );
  }

  /**
   * Starts counting this process's sockets under a new id and drops the old one at once, so counts that went
   * stale while Redis was unreachable stop counting; the caller then connects its held sockets again.
   */
  async renew(): Promise<void> {
    const old = this.id;
    this.id = randomUUID();
    await this.register();
    await Promise.all(allShards(this.keys).map((shard) => this.redis.zrem(this.keys.processes(shard), old)));
  }
}
