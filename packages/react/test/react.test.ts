import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningServer } from '@presence/server';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, skipBrowserSuite } from '../../server/test/support/browser.js';
import { api, befriend, graph, startEmbedded, TestClient } from '../../server/test/support/server.js';
import { bundlePage, PAGE_HTML } from './page/bundle.js';

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-artifacts');
/** Where the page is served, on the server's own origin so that the SDK's HTTP heartbeats need no CORS. */
const PAGE_PATH = '/react-test-page/';
/**
 * Typing lasts this long on the server and, unless a test shortens it, the page's silence too: then a stop
 * that arrives within a test can only have come from the page itself (an unmount, a stop).
 */
const LONG_MS = 60_000;

const SUITE = 'React bindings in Chromium';

let nextId = 7000;

describe.skipIf(skipBrowserSuite(SUITE))(SUITE, () => {
  let browser: Browser;
  let server: RunningServer;
  let script: string;
  const contexts: BrowserContext[] = [];
  const sockets: TestClient[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    [script, browser, server] = await Promise.all([
      bundlePage(),
      launchChromium([
        // The page comes from request interception, which Chromium places in the public address space; its
        // requests to the server on 127.0.0.1 would then be blocked as a public page reaching the local network.
        '--disable-features=LocalNetworkAccessChecks',
      ]),
      startEmbedded({ typingTtlMs: LONG_MS }),
      mkdir(ARTIFACTS, { recursive: true }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) await socket.close();
    for (const context of contexts.splice(0)) await context.close();
    expect(problems.splice(0)).toEqual([]);
  });

  /** Three users nobody else has touched, mutual friends, sharing a conversation. */
  async function freshUsers() {
    const [me, watched, other, conversation] = [nextId++, nextId++, nextId++, nextId++];
    await befriend(server, me, watched);
    await befriend(server, me, other);
    await graph(server, 'PUT', `conversations/${conversation}`, { participant_ids: [me, watched, other] });
    return { me, watched, other, conversation };
  }

  /**
   * The page signed in as `me`, once it shows the snapshot (so the page's socket is open), and the typing
   * frames it sends, in order.
   */
  async function openPage(
    users: Awaited<ReturnType<typeof freshUsers>>,
    options: { mode?: 'client' | 'options'; silenceMs?: number } = {},
  ): Promise<{ page: Page; typingSent: string[] }> {
    const context = await browser.newContext();
    contexts.push(context);
    await context.route(
      (url) => url.pathname.startsWith(PAGE_PATH),
      (route) => {
        const isScript = new URL(route.request().url()).pathname.endsWith('/app.js');
        return route.fulfill(
          isScript
            ? { contentType: 'text/javascript', body: script }
            : { contentType: 'text/html', body: PAGE_HTML },
        );
      },
    );
    const page = await context.newPage();
    // Shorter than the test's own timeout, so a failure names the step that waited in vain.
    page.setDefaultTimeout(10_000);
    page.on('console', (m) => {
      // The browser logs every 429 as an error; for a heartbeat that is a normal answer (status unchanged).
      if (m.type() === 'error' && !/status of 429/.test(m.text())) problems.push(m.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    const typingSent: string[] = [];
    page.on('websocket', (socket) =>
      socket.on('framesent', ({ payload }) => {
        const type =
          typeof payload === 'string' ? (JSON.parse(payload) as { type?: string }).type : undefined;
        if (type?.startsWith('presence.typing.')) typingSent.push(type);
      }),
    );
    const query = new URLSearchParams({
      token: await server.mintToken(users.me),
      watch: String(users.watched),
      other: String(users.other),
      conversation: String(users.conversation),
      silence: String(options.silenceMs ?? LONG_MS),
      mode: options.mode ?? 'options',
    });
    await page.goto(`${server.httpUrl}${PAGE_PATH}?${query}`);
    await page.locator(`[data-watch="${users.watched}"]:not([data-status="unknown"])`).waitFor();
    await page.locator(`[data-watch="${users.other}"]:not([data-status="unknown"])`).waitFor();
    return { page, typingSent };
  }

  const watch = (page: Page, userId: number, status: string) =>
    page.locator(`[data-watch="${userId}"][data-status="${status}"]`);

  /** How often each component of the page has rendered, read at one instant. */
  const renders = (page: Page): Promise<Record<string, number>> =>
    page
      .locator('[data-probe]')
      .evaluateAll((probes) =>
        Object.fromEntries(
          probes.map((p) => [(p as HTMLElement).dataset.probe, Number((p as HTMLElement).dataset.renders)]),
        ),
      );

  const heartbeat = async (userId: number, status: 'online' | 'away') => {
    const token = await server.mintToken(userId);
    const answer = await api(server, 'POST', '/api/presence/heartbeat/', { token, body: { status } });
    expect(answer.status).toBe(200);
  };

  it("shows B's presence as it changes, re-rendering only the components watching who changed", async () => {
    const users = await freshUsers();
    const { page } = await openPage(users);
    await watch(page, users.watched, 'offline').waitFor();
    const before = await renders(page);

    await heartbeat(users.watched, 'away');
    await watch(page, users.watched, 'away').waitFor();
    // The barrier: the other user's change comes after B's over the same socket, so by the time it shows,
    // any render that B's change could have caused has happened.
    await heartbeat(users.other, 'away');
    await watch(page, users.other, 'away').waitFor();
    await page.locator('#list[data-statuses="away,away"]').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'react-presence.png') });

    const after = await renders(page);
    const watched = `watch-${users.watched}`;
    const other = `watch-${users.other}`;
    expect(after).toEqual({
      ...before,
      [watched]: (before[watched] ?? 0) + 1,
      [other]: (before[other] ?? 0) + 1,
      list: (before.list ?? 0) + 2,
    });
  });

  it("shows who else is typing, and not this user's own typing echoed back by the server", async () => {
    const users = await freshUsers();
    const { page } = await openPage(users);
    const other = await TestClient.connect(server, users.watched);
    sockets.push(other);
    await other.next('presence.snapshot');
    const typists = (who: string) =>
      // An empty paragraph has no box, so wait for it to be in the page rather than visible.
      page.locator(`#typists[data-typists="${who}"]`).waitFor({ state: 'attached' });
    const before = (await renders(page)).typists ?? 0;

    other.send({ type: 'presence.typing.start', conversation_id: users.conversation });
    await typists(String(users.watched));
    other.send({ type: 'presence.typing.stop', conversation_id: users.conversation });
    await typists('nobody');

    await page.getByRole('textbox', { name: 'Message' }).press('h');
    await other.next('presence.typing', (m) => m.user_id === users.me && m.is_typing);
    // The barrier: B starts only after the server has sent the page's own start to all, the page included.
    other.send({ type: 'presence.typing.start', conversation_id: users.conversation });
    await typists(String(users.watched));
    expect((await renders(page)).typists).toBe(before + 3);
  });

  it('notifyTyping sends one start for a burst of keys, and a stop when the composer unmounts', async () => {
    const users = await freshUsers();
    const { page, typingSent } = await openPage(users);
    const other = await TestClient.connect(server, users.watched);
    sockets.push(other);

    await page.getByRole('textbox', { name: 'Message' }).pressSequentially('hello');
    const start = await other.next('presence.typing', (m) => m.user_id === users.me && m.is_typing);
    expect(start.conversation_id).toBe(users.conversation);
    // Neither the page's silence nor the server's typing expiry falls within the test: only the unmount stops.
    await page.getByRole('button', { name: 'Close composer' }).click();
    await other.next('presence.typing', (m) => m.user_id === users.me && !m.is_typing);
    // Frames are reported in the order they went out: once the stop is in, every start before it is too.
    await expect.poll(() => typingSent.at(-1)).toBe('presence.typing.stop');
    expect(typingSent).toEqual(['presence.typing.start', 'presence.typing.stop']);
  });

  it('stops typing after a silence without keystrokes', async () => {
    const users = await freshUsers();
    const { page } = await openPage(users, { silenceMs: 300 });
    const other = await TestClient.connect(server, users.watched);
    sockets.push(other);

    await page.getByRole('textbox', { name: 'Message' }).press('h');
    await other.next('presence.typing', (m) => m.user_id === users.me && m.is_typing);
    await other.next('presence.typing', (m) => m.user_id === users.me && !m.is_typing);
  });

  it('closes the client it made when unmounted', async () => {
    const users = await freshUsers();
    const { page } = await openPage(users, { mode: 'options' });
    expect(await page.evaluate(() => window.presenceClient?.connectionState)).toBe('open');

    await page.getByRole('button', { name: 'Unmount provider' }).click();
    await page.locator('#unmounted').waitFor();
    expect(await page.evaluate(() => window.presenceClient?.connectionState)).toBe('closed');
  });

  it('leaves a client it was given open when unmounted', async () => {
    const users = await freshUsers();
    const { page } = await openPage(users, { mode: 'client' });
    await page.getByRole('button', { name: 'Unmount provider' }).click();
    await page.locator('#unmounted').waitFor();

    // Still connected and still listening: a change made after the unmount reaches the client.
    await heartbeat(users.watched, 'away');
    await page.waitForFunction((id) => window.presenceClient?.get(id)?.status === 'away', users.watched);
    expect(await page.evaluate(() => window.presenceClient?.connectionState)).toBe('open');
  });
});
