import type { RedisKeys } from './keys.js';
import type { RedisClient } from './replies.js';
import { runScript } from './scripts.js';

/** Leases for jobs that must run on one process at a time: a string holding the holder, with the lease's TTL. */
export class RedisLeases {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await runScript(this.redis, 'lease-acquire', [this.keys.lease(name)], [holder, ttlMs])) === 1;
  }

  async releaseLease(name: string, holder: string): Promise<void> {
    await runScript(this.redis, 'lease-release', [this.keys.lease(name)], [holder]);
  }
}
