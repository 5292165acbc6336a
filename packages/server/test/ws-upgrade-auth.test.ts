import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RunningServer } from '../src/app.js';
import { startEmbedded } from './support/server.js';

describe('WebSocket upgrade authentication', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startEmbedded({ demo: false, authSecret: 'upgrade-secret-0123456789' });
  });
  afterAll(() => server.close());

  it('takes the Authorization header when the token parameter is present but empty', async () => {
    const token = await server.mintToken(60);
    const socket = new WebSocket(`${server.wsUrl}?token=`, { headers: { authorization: `Bearer ${token}` } });
    const [data] = (await once(socket, 'message')) as [Buffer];
    expect(JSON.parse(String(data))).toMatchObject({ type: 'presence.snapshot', self: { user_id: 60 } });
    socket.close();
    await once(socket, 'close');
  });

  it.each([
    ['an empty device', 'device='],
    ['a device with a space', 'device=a%20b'],
    ['a device over 64 characters', `device=${'x'.repeat(65)}`],
    ['an unknown client kind', 'client=tv'],
  ])('refuses %s with 400 before the upgrade', async (_case, query) => {
    const token = await server.mintToken(61);
    const socket = new WebSocket(`${server.wsUrl}?token=${token}&${query}`);
    socket.on('error', () => {});
    const [, response] = (await once(socket, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(response.statusCode).toBe(400);
    socket.terminate();
  });

  it('still refuses an empty token parameter with no header', async () => {
    const socket = new WebSocket(`${server.wsUrl}?token=`);
    socket.on('error', () => {});
    const [, response] = (await once(socket, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(response.statusCode).toBe(401);
    socket.terminate();
  });
});
