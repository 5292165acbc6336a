import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@presence/protocol': src('protocol'),
      '@presence/server': src('server'),
      '@presence/client/node': fileURLToPath(new URL('./packages/client/src/node.ts', import.meta.url)),
      '@presence/client': src('client'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    // One Redis Cluster for the whole run (the cluster backend of the store suites and the cluster suite).
    globalSetup: ['packages/server/test/support/cluster-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration suites share one PostgreSQL and Redis; each uses its own database or key prefix,
    // but two cores cannot run many at once without starving the timing-sensitive ones.
    maxWorkers: 2,
  },
});
