import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/app.js';
import { AUTH_SECRET, Cluster, SERVICE_KEY } from './support/server.js';
import { hasPostgres, hasRedis } from './support/services.js';

/**
 * The Python example (examples/python) against a real production-mode server: its own unittest suite mints
 * tokens, calls the graph endpoints and the bulk import, and checks its webhook verifier.
 */

// The server checks an issuer and an audience, so the example's tokens are shown to carry them.
const ISSUER = 'chat-app';
const AUDIENCE = 'presence';
const EXAMPLE_DIR = fileURLToPath(new URL('../../../examples/python', import.meta.url));
const available = (await hasRedis()) && (await hasPostgres());

function runPython(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-m', 'unittest', '-v'], {
      cwd: EXAMPLE_DIR,
      // No bytecode files left in the example folder.
      env: { ...process.env, ...env, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (data) => {
      output += data;
    });
    child.stderr.on('data', (data) => {
      output += data;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe.skipIf(!available)('the Python example against a production-mode server', () => {
  const cluster = new Cluster();
  let server: RunningServer;

  beforeAll(async () => {
    server = await cluster.start({ authIssuer: ISSUER, authAudience: AUDIENCE });
  });
  afterAll(() => cluster.stop());

  it('passes its unittest suite', async () => {
    const { code, output } = await runPython({
      PRESENCE_URL: server.httpUrl,
      PRESENCE_AUTH_SECRET: AUTH_SECRET,
      PRESENCE_SERVICE_KEY: SERVICE_KEY,
      PRESENCE_TOKEN_ISSUER: ISSUER,
      PRESENCE_TOKEN_AUDIENCE: AUDIENCE,
    });
    if (code !== 0) console.log(output);
    expect(code, output).toBe(0);
    // Every server test ran: none was skipped for want of the environment.
    expect(output).not.toContain('skipped');
    expect(output).toMatch(/^Ran \d+ tests/m);
  });
});
