import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { authSecrets, ConfigError, loadConfig, timings } from '../src/config.js';

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('takes the contract defaults from an empty environment (demo mode)', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      udpPort: 5555,
      dataDir: './.data',
      demo: true,
      presenceTimeoutMs: 60_000,
      heartbeatMinIntervalMs: 10_000,
      disconnectGraceMs: 5_000,
      typingTtlMs: 3_000,
      presenceTtlS: 300,
      syncIntervalMs: 300_000,
      cleanupIntervalMs: 300_000,
      logLevel: 'info',
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
  });

  it('turns demo mode off by default once a database or Redis is configured', () => {
    const secret = { AUTH_SECRET: 'x'.repeat(32) };
    expect(loadConfig({ ...secret, REDIS_URL: 'redis://127.0.0.1:6379' }).demo).toBe(false);
    expect(loadConfig({ ...secret, DATABASE_URL: 'postgres://u@127.0.0.1/db' }).demo).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://u@127.0.0.1/db', DEMO: '1' }).demo).toBe(true);
  });

  it('reads REDIS_CLUSTER_NODES as seed nodes, exclusive with REDIS_URL, and refuses a bad node by name', () => {
    const secret = { AUTH_SECRET: 'a-secret-of-16-chars' };
    const config = loadConfig({ ...secret, REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-b:7001,[::1]:7002' });
    expect(config.redisClusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-b', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(config.demo).toBe(false);
    expect(loadConfig({}).redisClusterNodes).toBeUndefined();
    const both = errorOf({
      ...secret,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_CLUSTER_NODES: '127.0.0.1:7000',
    });
    expect(both.variable).toBe('REDIS_CLUSTER_NODES');
    expect(both.message).toMatch(/not both/);
    for (const bad of ['127.0.0.1', '127.0.0.1:0', 'redis://127.0.0.1:7000', '127.0.0.1:7000,', 'a:70000']) {
      const error = errorOf({ ...secret, REDIS_CLUSTER_NODES: bad });
      expect(error.variable, bad).toBe('REDIS_CLUSTER_NODES');
      expect(error.message).toMatch(/host:port/);
    }
  });

  it('names the variable and what it expects for a value that is not a number', () => {
    const error = errorOf({ PRESENCE_TIMEOUT_MS: 'soon' });
    expect(error.variable).toBe('PRESENCE_TIMEOUT_MS');
    expect(error.message).toBe(
      'Invalid PRESENCE_TIMEOUT_MS ("soon"): expected a whole number from 1 to 9007199254740991',
    );
  });

  it.each([
    [{ PORT: '70000' }, 'PORT'],
    [{ UDP_PORT: '-1' }, 'UDP_PORT'],
    [{ PORT: '80.5' }, 'PORT'],
    [{ DEMO: 'yes' }, 'DEMO'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, 'REDIS_URL'],
    [{ DATABASE_URL: 'not a url', DEMO: '1' }, 'DATABASE_URL'],
    [{ AUTH_SECRET: 'short' }, 'AUTH_SECRET'],
  ])('rejects %j naming %s', (env, variable) => {
    expect(errorOf(env).variable).toBe(variable);
  });

  it('refuses a timeout not above the heartbeat interval', () => {
    const error = errorOf({ PRESENCE_TIMEOUT_MS: '10000', HEARTBEAT_MIN_INTERVAL_MS: '10000' });
    expect(error.variable).toBe('PRESENCE_TIMEOUT_MS');
    expect(error.message).toContain('above HEARTBEAT_MIN_INTERVAL_MS (10000)');
  });

  it('refuses a Redis TTL not above the timeout', () => {
    const error = errorOf({ PRESENCE_TTL_S: '60' });
    expect(error.variable).toBe('PRESENCE_TTL_S');
    expect(error.message).toContain('PRESENCE_TIMEOUT_MS (60000 ms)');
  });

  it('refuses a close grace not below the timeout', () => {
    const error = errorOf({ PRESENCE_TIMEOUT_MS: '20000', DISCONNECT_GRACE_MS: '20000' });
    expect(error.variable).toBe('DISCONNECT_GRACE_MS');
    expect(error.message).toContain('below PRESENCE_TIMEOUT_MS (20000)');
    expect(loadConfig({ PRESENCE_TIMEOUT_MS: '20000', DISCONNECT_GRACE_MS: '19999' }).disconnectGraceMs).toBe(
      19_999,
    );
  });

  it('derives every timing once, inside the timeout', () => {
    const t = timings(loadConfig({ PRESENCE_TIMEOUT_MS: '60000' }));
    expect(t).toEqual({
      tickMs: 25,
      refreshMs: 20_000,
      sweepMs: 15_000,
      typingSweepMs: 3_000,
      processTtlMs: 40_000,
      pingMs: 30_000,
      cacheTtlMs: 300_000,
      graphVersionTtlMs: 3_600_000,
    });
    const fast = timings(
      loadConfig({
        PRESENCE_TIMEOUT_MS: '1500',
        HEARTBEAT_MIN_INTERVAL_MS: '300',
        DISCONNECT_GRACE_MS: '200',
      }),
    );
    expect(fast).toMatchObject({ refreshMs: 500, sweepMs: 375, processTtlMs: 1_000, pingMs: 1_000 });
  });

  it('takes a Redis command timeout within bounds', () => {
    expect(loadConfig({}).redisCommandTimeoutMs).toBe(2_000);
    expect(loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '500' }).redisCommandTimeoutMs).toBe(500);
    expect(errorOf({ REDIS_COMMAND_TIMEOUT_MS: '10' }).variable).toBe('REDIS_COMMAND_TIMEOUT_MS');
  });

  it('reads WORKERS: 1 by default, a number, or auto (one per core with shared state, else 1)', () => {
    const shared = {
      AUTH_SECRET: 'x'.repeat(32),
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATABASE_URL: 'postgres://u@127.0.0.1/db',
    };
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ ...shared, WORKERS: '3' }).workers).toBe(3);
    expect(loadConfig({ ...shared, WORKERS: 'auto' }).workers).toBe(availableParallelism());
    expect(loadConfig({ WORKERS: 'auto' }).workers).toBe(1);
    expect(
      loadConfig({ AUTH_SECRET: shared.AUTH_SECRET, REDIS_URL: shared.REDIS_URL, WORKERS: 'auto' }).workers,
    ).toBe(1);
    expect(errorOf({ WORKERS: '0' }).variable).toBe('WORKERS');
    expect(errorOf({ WORKERS: 'many' }).variable).toBe('WORKERS');
    expect(errorOf({ WORKERS: '2' }).message).toBe(
      'Invalid WORKERS ("2"): more than one worker needs shared state: set REDIS_URL and DATABASE_URL, or WORKERS=1',
    );
    expect(
      errorOf({ AUTH_SECRET: shared.AUTH_SECRET, DATABASE_URL: shared.DATABASE_URL, WORKERS: '2' }).message,
    ).toContain('set REDIS_URL, or WORKERS=1');
  });

  it('requires AUTH_SECRET outside demo mode', () => {
    expect(errorOf({ REDIS_URL: 'redis://127.0.0.1:6379' }).variable).toBe('AUTH_SECRET');
  });

  it('reads the token settings: several secrets, a JWKS URL, an issuer and an audience', () => {
    const config = loadConfig({
      AUTH_SECRET: 'new-secret-0123456789, old-secret-0123456789',
      AUTH_JWKS_URL: 'https://id.example/.well-known/jwks.json',
      AUTH_ISSUER: 'https://id.example/',
      AUTH_AUDIENCE: 'presence',
    });
    expect(authSecrets(config.authSecret as string)).toEqual([
      'new-secret-0123456789',
      'old-secret-0123456789',
    ]);
    expect(config).toMatchObject({
      authJwksUrl: 'https://id.example/.well-known/jwks.json',
      authIssuer: 'https://id.example/',
      authAudience: 'presence',
    });
    expect(loadConfig({})).toMatchObject({
      authJwksUrl: undefined,
      authIssuer: undefined,
      authAudience: undefined,
    });
  });

  it.each([
    ['a short second secret', { AUTH_SECRET: `${'x'.repeat(20)},short` }, 'AUTH_SECRET'],
    ['an empty entry', { AUTH_SECRET: `${'x'.repeat(20)},` }, 'AUTH_SECRET'],
    ['a JWKS URL that is not http(s)', { AUTH_JWKS_URL: 'ftp://id.example/jwks' }, 'AUTH_JWKS_URL'],
    ['a JWKS URL that is not a URL', { AUTH_JWKS_URL: 'jwks.json' }, 'AUTH_JWKS_URL'],
  ])('refuses %s naming the variable', (_case, env, variable) => {
    expect(errorOf(env).variable).toBe(variable);
  });

  it('never echoes a secret it refuses', () => {
    const error = errorOf({ AUTH_SECRET: 'long-enough-secret-0123456789,hunter2' });
    expect(error.message).toBe(
      'Invalid AUTH_SECRET: expected at least 16 characters in each comma-separated secret',
    );
  });

  it('never echoes a database URL, which may hold a password', () => {
    const error = errorOf({ DATABASE_URL: 'mysql://user:hunter2@db/x', DEMO: '1' });
    expect(error.message).not.toContain('hunter2');
  });
});
