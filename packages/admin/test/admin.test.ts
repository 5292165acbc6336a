import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningServer } from '@presence/server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { launchChromium, skipBrowserSuite } from '../../server/test/support/browser.js';
import { api, SERVICE_KEY, sendUdp, startEmbedded } from '../../server/test/support/server.js';
import { buildAdmin } from '../build.mjs';

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-artifacts');
/** Heartbeating users of the load, well clear of the demo users' ids. */
const LOAD_USERS = Array.from({ length: 40 }, (_, i) => 5001 + i);
const ROUNDS = 12;
const ROUND_MS = 500;

const SUITE = 'operations page and API docs in Chromium';

describe.skipIf(skipBrowserSuite(SUITE))(SUITE, () => {
  let browser: Browser;
  let server: RunningServer;
  const problems: string[] = [];

  beforeAll(async () => {
    const [, launched, started] = await Promise.all([
      buildAdmin().then(() => mkdir(ARTIFACTS, { recursive: true })),
      launchChromium(),
      startEmbedded({ demo: true }),
    ]);
    browser = launched;
    server = started;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function open(path: string): Promise<Page> {
    problems.length = 0;
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page = await context.newPage();
    // A blocked script or style (the page's content policy) shows up here, not as a failed assertion.
    page.on('console', (m) => {
      // The browser logs every 401 as an error; the key prompt's refusals are meant.
      if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`${path}: ${m.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`${path}: ${error.message}`));
    await page.goto(`${server.httpUrl}${path}`);
    return page;
  }

  /** One round of traffic: every load user flips status (so each heartbeat is accepted and a transition), plus junk. */
  async function round(n: number, tokens: Map<number, string>): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const status = n % 2 === 0 ? 'online' : 'away';
    const users = LOAD_USERS.slice(0, Math.min(LOAD_USERS.length, 10 + n * 5));
    const packets: Array<object | string> = users.map((id) => ({
      user_id: id,
      token: tokens.get(id),
      timestamp: now,
      status,
    }));
    for (let i = 0; i < 1 + (n % 3); i++) packets.push('not json');
    for (let i = 0; i < n % 4; i++) packets.push({ user_id: 5001, token: 'forged', timestamp: now });
    await sendUdp(server, packets);
  }

  it('asks for the service key, then follows the load live', async () => {
    const page = await open('/admin');
    await page.locator('#key-dialog[open]').waitFor();
    await page.fill('#key-input', 'not-the-service-key');
    await page.click('#key-form button');
    await page.locator('#key-refused:not([hidden])').waitFor();
    await page.fill('#key-input', SERVICE_KEY);
    await page.click('#key-form button');
    await page.locator('#stream-status[data-state="live"]').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('presence.admin.serviceKey'))).toBe(SERVICE_KEY);
    const before = Number(await page.locator('#online-users').getAttribute('data-value'));

    const tokens = new Map(
      await Promise.all(LOAD_USERS.map(async (id) => [id, await server.mintToken(id)] as const)),
    );
    const sockets = await Promise.all(
      LOAD_USERS.slice(0, 6).map(async (id) => {
        const socket = new WebSocket(`${server.wsUrl}?token=${tokens.get(id)}`);
        await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
        return socket;
      }),
    );
    for (let n = 0; n < ROUNDS; n++) {
      const started = Date.now();
      await round(n, tokens);
      if (n % 3 === 0) await api(server, 'POST', '/api/presence/heartbeat/', { token: tokens.get(5001) });
      if (n === ROUNDS / 2) sockets.pop()?.close();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, ROUND_MS - (Date.now() - started))));
    }
    await page.locator(`#online-users[data-value="${before + LOAD_USERS.length}"]`).waitFor();
    await page.locator('#ws-connections', { hasText: '5' }).waitFor();
    expect(Number(await page.locator('#online-users').getAttribute('data-value'))).toBe(
      before + LOAD_USERS.length,
    );
    await expect(page.locator('#health-database').getAttribute('data-state')).resolves.toBe('up');
    await expect(page.locator('#health-degraded').getAttribute('data-state')).resolves.toBe('no');
    await page.screenshot({ path: join(ARTIFACTS, 'admin-under-load.png'), fullPage: true });

    // The key lives in the tab: a reload goes straight back to the stream.
    await page.reload();
    await page.locator('#stream-status[data-state="live"]').waitFor();
    expect(await page.locator('#key-dialog[open]').count()).toBe(0);
    for (const socket of sockets) socket.close();
    await page.context().close();
    expect(problems).toEqual([]);
  });

  it('renders the API docs at /docs with the heartbeat endpoint', async () => {
    const page = await open('/docs');
    const heartbeat = page.locator('.opblock-summary-path[data-path="/api/presence/heartbeat"]');
    await heartbeat.waitFor();
    expect(
      await page
        .locator('.opblock-post .opblock-summary-path', { hasText: '/api/presence/heartbeat' })
        .count(),
    ).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, 'api-docs.png') });
    await page.context().close();
    expect(problems).toEqual([]);
  });
});
