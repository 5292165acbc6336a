import type { TestProject } from 'vitest/node';
import { hasRedisClusterBinaries, startRedisCluster } from './redis-cluster.js';
import { IN_CI } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Seed nodes of the run's Redis Cluster (`host:port,…`), or '' when this machine cannot start one. */
    redisClusterNodes: string;
  }
}

/**
 * One 3-master Redis Cluster for the whole test run, started once (a few hundred ms) rather than per suite;
 * each suite keeps to a key prefix of its own, as on the single Redis. `TEST_REDIS_CLUSTER_NODES` points the
 * run at a cluster that is already up instead.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.TEST_REDIS_CLUSTER_NODES;
  if (given) {
    project.provide('redisClusterNodes', given);
    return undefined;
  }
  if (!(await hasRedisClusterBinaries())) {
    if (IN_CI) throw new Error('redis-server and redis-cli are needed for the Redis Cluster suites under CI');
    project.provide('redisClusterNodes', '');
    return undefined;
  }
  const cluster = await startRedisCluster();
  project.provide('redisClusterNodes', cluster.nodes);
  return () => cluster.stop();
}
