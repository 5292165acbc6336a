import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, hasPostgres, type TestDatabase } from './support/services.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** `presence seed` from source through tsx, as an operator runs it, with stdout and stderr kept apart. */
function runCli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    // Pipes, not a terminal: the CLI must choose plain lines.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const postgres = await hasPostgres();

describe.skipIf(!postgres)('seed progress off a terminal', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('prints plain progress lines on stderr, then the summary on stdout', async () => {
    const users = 3_000;
    const result = await runCli(['seed', '--users', String(users), '--friends', '10'], {
      DATABASE_URL: database.url,
      AUTH_SECRET: 'seed-progress-test-secret',
    });
    expect(result.stderr).not.toContain('\r');
    expect(result.code, result.stderr).toBe(0);

    const lines = result.stderr.trim().split('\n');
    // 3,000 users + 30,000 follows (each of the 5 ring neighbours both ways) + 1,500 conversations.
    const total = '34,500';
    expect(lines[0]).toMatch(/^migrate: 0\/4 migrations \(0%\), applying/);
    expect(lines[1]).toMatch(/^migrate: 4\/4 migrations \(100%\), done in \d+ s, 4 applied/);
    const seedLines = lines.filter((line) => line.startsWith('seed: '));
    expect(seedLines[0]).toBe(`seed: 0/${total} rows (0%)`);
    // One line per tenth of the total crossed (the users' insert crosses none, the follows' the rest), or every
    // 5 s on a slow machine, each with a rate and the time left; then one line when it is done.
    const middle = seedLines.slice(1, -1);
    expect(middle).toEqual(
      expect.arrayContaining([expect.stringMatching(/^seed: 33,000\/34,500 rows \(95%\)/)]),
    );
    for (const line of middle)
      expect(line).toMatch(/^seed: [\d,]+\/34,500 rows \(\d+%\), [\d,]+ rows\/s, about \d+ s left$/);
    expect(seedLines.at(-1)).toMatch(
      new RegExp(`^seed: ${total}/${total} rows \\(100%\\), [\\d,]+ rows/s, done in`),
    );

    expect(result.stdout.trim()).toMatch(
      new RegExp(
        `^seeded ${users} users, 30000 follows, 1500 conversations \\(\\d+ participants\\) in \\d+ ms on postgres$`,
      ),
    );
  });
});
