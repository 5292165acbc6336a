import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { inject } from 'vitest';

/**
 * Whether this run is CI: any non-empty `CI` other than `0` or `false` (CI providers set `true` or `1`). The one
 * place that decides, for every suite (the demo's too). Under CI a suite whose service is missing fails;
 * elsewhere it skips with one printed line.
 */
export const IN_CI = isCi(process.env.CI);

function isCi(value: string | undefined): boolean {
  const normalized = value?.trim().toLowerCase() ?? '';
  return normalized !== '' && normalized !== '0' && normalized !== 'false';
}
export const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function probe(name: string, check: () => Promise<void>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch (error) {
    const why = `${name} is not reachable (${(error as Error).message})`;
    if (IN_CI) throw new Error(`${why}: under CI this suite must run`);
    console.log(`skipping ${name} tests: ${why}`);
    return false;
  }
}

let postgresProbe: Promise<boolean> | undefined;
let redisProbe: Promise<boolean> | undefined;

/** Whether the machine's PostgreSQL answers (throws under CI when it does not). */
export function hasPostgres(): Promise<boolean> {
  postgresProbe ??= probe('PostgreSQL', async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
    await client.connect();
    await client.end();
  });
  return postgresProbe;
}

/** Whether the machine's Redis answers (throws under CI when it does not). */
export function hasRedis(): Promise<boolean> {
  redisProbe ??= probe('Redis', async () => {
    const redis = new Redis(REDIS_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    try {
      await redis.connect();
      await redis.ping();
    } finally {
      redis.disconnect();
    }
  });
  return redisProbe;
}

/**
 * The seed nodes of the run's Redis Cluster (started once by cluster-global-setup.ts), or null when this
 * machine cannot start one (under CI the run has failed before this).
 */
export function redisClusterNodes(): string | null {
  const nodes = inject('redisClusterNodes');
  if (nodes) return nodes;
  if (IN_CI) throw new Error('the Redis Cluster is missing: under CI this suite must run');
  return null;
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A throw-away PostgreSQL database for one suite. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `presence_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: PG_ADMIN_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/** A key prefix of its own for one suite on the shared Redis. */
export function testPrefix(): string {
  return `test:${randomBytes(6).toString('hex')}:`;
}
