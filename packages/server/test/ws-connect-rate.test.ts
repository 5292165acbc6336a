import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RunningServer } from '../src/app.js';
import { tryUpgrade as attempt, startEmbedded } from './support/server.js';

const SECRET = 'connect-rate-secret-0123456789';

async function refusedCount(server: RunningServer): Promise<number> {
  const metric = await server.metrics.registry.getSingleMetricAsString(
    'presence_ws_connects_rate_limited_total',
  );
  return Number(metric.match(/^presence_ws_connects_rate_limited_total (\d+)$/m)?.[1]);
}

describe('new WebSocket connections per remote address', () => {
  let server: RunningServer;
  const open: WebSocket[] = [];
  afterEach(async () => {
    for (const socket of open.splice(0)) {
      if (socket.readyState === WebSocket.CLOSED) continue;
      socket.close();
      await once(socket, 'close');
    }
    await server.close();
  });

  it('takes a burst, then answers 429 with Retry-After and a JSON error, before looking at the token', async () => {
    server = await startEmbedded({
      demo: false,
      authSecret: SECRET,
      maxConnectsPerAddressPerS: 1,
      maxConnectsPerAddressBurst: 3,
    });
    const token = await server.mintToken(90);
    for (let i = 0; i < 3; i++) {
      const outcome = await attempt(`${server.wsUrl}?token=${token}`);
      expect(outcome.opened).toBe(true);
      if (outcome.opened) open.push(outcome.socket);
    }
    // A good token and a forged one get the same answer: the limit comes before verification.
    for (const url of [`${server.wsUrl}?token=${token}`, `${server.wsUrl}?token=forged`]) {
      const refused = await attempt(url);
      expect(refused).toMatchObject({
        opened: false,
        status: 429,
        body: { error: { code: 'rate_limited', message: expect.any(String) } },
      });
      if (!refused.opened) expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    expect(await refusedCount(server)).toBe(2);
    // The connections taken stay open and served.
    for (const socket of open) expect(socket.readyState).toBe(WebSocket.OPEN);
  });

  it('takes every connection with the limit off (0)', async () => {
    server = await startEmbedded({
      demo: false,
      authSecret: SECRET,
      maxConnectsPerAddressPerS: 0,
      maxConnectsPerAddressBurst: 0,
    });
    const tokens = await Promise.all(Array.from({ length: 30 }, (_, i) => server.mintToken(100 + i)));
    const outcomes = await Promise.all(tokens.map((token) => attempt(`${server.wsUrl}?token=${token}`)));
    for (const outcome of outcomes) if (outcome.opened) open.push(outcome.socket);
    expect(outcomes.filter((o) => o.opened)).toHaveLength(30);
    expect(await refusedCount(server)).toBe(0);
  });
});
