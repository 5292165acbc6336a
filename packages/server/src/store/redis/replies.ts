import type { ChainableCommander, Redis } from 'ioredis';

/** Sends what `build` queues as one round trip and returns the replies in order; a failed command throws. */
export async function pipeline(redis: Redis, build: (pipe: ChainableCommander) => void): Promise<unknown[]> {
  const pipe = redis.pipeline();
  build(pipe);
  const results = (await pipe.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}

/** Scripts and hashes answer '' or nothing for a time not known yet. */
export const optionalNumber = (value: unknown): number | null =>
  value === '' || value == null ? null : Number(value);
