import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RunningServer } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { startEmbedded } from './support/server.js';

const ALLOWED = 'https://chat.example.com';

describe('browser apps on another origin (CORS_ORIGINS) and security headers', () => {
  let server: RunningServer;
  let open: RunningServer;
  beforeAll(async () => {
    [server, open] = await Promise.all([
      startEmbedded({ demo: false, authSecret: 'cors-secret-0123456789', corsOrigins: [ALLOWED] }),
      startEmbedded({ demo: false, authSecret: 'cors-secret-0123456789' }),
    ]);
  });
  afterAll(() => Promise.all([server.close(), open.close()]));

  it('answers a preflight from an allowed origin, and only from it', async () => {
    const preflight = (origin: string) =>
      fetch(`${server.httpUrl}/api/presence/heartbeat/`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
    const allowed = await preflight(ALLOWED);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(allowed.headers.get('vary')?.toLowerCase()).toContain('origin');
    const other = await preflight('https://evil.example.net');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('marks answers for an allowed origin, and sends no CORS headers without CORS_ORIGINS', async () => {
    const token = await server.mintToken(80);
    const answer = await fetch(`${server.httpUrl}/api/presence/heartbeat/`, {
      method: 'POST',
      headers: { origin: ALLOWED, authorization: `Bearer ${token}` },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    const plain = await fetch(`${open.httpUrl}/healthz`, { headers: { origin: ALLOWED } });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sends the usual security headers on every answer', async () => {
    for (const path of ['/healthz', '/api/presence/online-friends/', '/nope']) {
      const answer = await fetch(`${open.httpUrl}${path}`);
      expect(answer.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(answer.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(answer.headers.get('x-frame-options'), path).toBe('DENY');
    }
  });

  it('refuses a WebSocket from another origin with 403, and takes the allowed one and non-browsers', async () => {
    const token = await server.mintToken(81);
    const refused = new WebSocket(`${server.wsUrl}?token=${token}`, { origin: 'https://evil.example.net' });
    refused.on('error', () => {});
    const [, response] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(response.statusCode).toBe(403);
    refused.terminate();
    for (const options of [{ origin: ALLOWED }, {}]) {
      const socket = new WebSocket(`${server.wsUrl}?token=${token}`, options);
      const [data] = (await once(socket, 'message')) as [Buffer];
      expect(JSON.parse(String(data)).type).toBe('presence.snapshot');
      socket.close();
      await once(socket, 'close');
    }
  });

  it('refuses a CORS_ORIGINS entry that is not an origin, naming the variable', () => {
    expect(() => loadConfig({ CORS_ORIGINS: 'https://ok.example.com,not an origin' })).toThrow(ConfigError);
    expect(() => loadConfig({ CORS_ORIGINS: 'https://ok.example.com/path' })).toThrow(/CORS_ORIGINS/);
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example.com, http://127.0.0.1:3000' }).corsOrigins).toEqual([
      'https://a.example.com',
      'http://127.0.0.1:3000',
    ]);
  });
});
