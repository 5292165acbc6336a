import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '@presence/server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, skipBrowserSuite } from '../../server/test/support/browser.js';
import { buildDemo } from '../build.mjs';

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-artifacts');

const SUITE = 'demo start page in Chromium';

type Server = Awaited<ReturnType<typeof startServer>>;

describe.skipIf(skipBrowserSuite(SUITE))(SUITE, () => {
  let browser: Browser;
  let server: Server;

  beforeAll(async () => {
    const [, launched, started] = await Promise.all([
      buildDemo().then(() => mkdir(ARTIFACTS, { recursive: true })),
      launchChromium(),
      startServer({ port: 0, udpPort: 0, demo: true, dataDir: 'memory://', logLevel: 'silent' }),
    ]);
    browser = launched;
    server = started;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('shows only the user picker until a user is picked', async () => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    try {
      const page = await context.newPage();
      await page.goto(server.httpUrl);
      // The picker's buttons arrive after the demo users are fetched: the page has settled by then.
      await page.locator('#choices button').first().waitFor();
      await page.screenshot({ path: join(ARTIFACTS, 'start-page.png'), fullPage: true });

      expect(await page.locator('#picker').isVisible()).toBe(true);
      for (const panel of ['#session', '.panel.me', '.panel.contacts', '.panel.conversation']) {
        const box = await page.locator(panel).boundingBox();
        expect({ panel, visible: await page.locator(panel).isVisible(), box }).toEqual({
          panel,
          visible: false,
          box: null,
        });
      }
    } finally {
      await context.close();
    }
  });
});
