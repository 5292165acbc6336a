import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '@presence/server';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, skipBrowserSuite } from '../../server/test/support/browser.js';
import { buildDemo } from '../build.mjs';

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-artifacts');
/** Short, so the "offline after the grace" scenario is quick; long enough to tell apart from "at once". */
const GRACE_MS = 1500;
const IDLE_MS = 1500;

const SUITE = 'demo app in Chromium';

type Server = Awaited<ReturnType<typeof startServer>>;
interface Demo {
  users: Array<{ user_id: number; username: string }>;
  conversations: Array<{ conversation_id: number; participant_ids: number[] }>;
}

type DemoUser = Demo['users'][number];

describe.skipIf(skipBrowserSuite(SUITE))(SUITE, () => {
  let browser: Browser;
  let server: Server;
  /** The user whose window watches; each test has its own other user, so no test sees another's leftovers. */
  let viewer: DemoUser;
  let others: DemoUser[];
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    const [, launched, started] = await Promise.all([
      buildDemo().then(() => mkdir(ARTIFACTS, { recursive: true })),
      launchChromium(),
      startServer({
        port: 0,
        udpPort: 0,
        demo: true,
        dataDir: 'memory://',
        disconnectGraceMs: GRACE_MS,
        logLevel: 'silent',
      }),
    ]);
    browser = launched;
    server = started;
    const demo = (await (await fetch(`${server.httpUrl}/api/dev/demo`)).json()) as Demo;
    const ids = demo.conversations[0]?.participant_ids ?? [];
    const participants = demo.users.filter((u) => ids.includes(u.user_id));
    const [first, ...rest] = participants;
    if (!first || rest.length < 4) throw new Error('the demo conversation needs five participants');
    viewer = first;
    others = rest;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close();
  });

  /** The other user of test number `n`. */
  const other = (n: number): DemoUser => {
    const user = others[n];
    if (!user) throw new Error(`no demo user #${n}`);
    return user;
  };

  /** A fresh browser profile signed in as `userId`, with the contact list rendered. */
  async function open(userId: number, query = ''): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${server.httpUrl}/?user=${userId}${query}`);
    await page.locator('#contacts li').first().waitFor();
    return page;
  }

  const contactRow = (page: Page, userId: number, status: string) =>
    page.locator(`#contacts li[data-user-id="${userId}"][data-status="${status}"]`);

  const screenshot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

  it('lets a user be picked with the keyboard, and A sees B come online', async () => {
    const bob = other(0);
    const context = await browser.newContext();
    contexts.push(context);
    const a = await context.newPage();
    await a.goto(server.httpUrl);
    const choice = a.getByRole('button', { name: viewer.username, exact: true });
    await choice.focus();
    await a.keyboard.press('Enter');
    await contactRow(a, bob.user_id, 'offline').waitFor();

    await open(bob.user_id);
    await contactRow(a, bob.user_id, 'online').waitFor();
    expect(await contactRow(a, bob.user_id, 'online').locator('.seen').textContent()).toBe('online');
    await screenshot(a, 'a-sees-b-online');
  });

  it('shows "B is typing…" within a second and clears it when B sends', async () => {
    const bob = other(1);
    const a = await open(viewer.user_id);
    const b = await open(bob.user_id);
    await contactRow(a, bob.user_id, 'online').waitFor();

    const indicator = a.locator('#typing');
    await b.getByRole('textbox', { name: 'Message' }).pressSequentially('hello');
    await indicator.filter({ hasText: `${bob.username} is typing…` }).waitFor({ timeout: 1000 });
    await screenshot(a, 'a-sees-b-typing');

    await b.getByRole('textbox', { name: 'Message' }).press('Enter');
    await indicator.filter({ hasText: /^$/ }).waitFor({ timeout: 1000 });
    expect(await b.locator('#messages li').last().textContent()).toBe(`${bob.username}: hello`);
    await screenshot(a, 'a-sees-typing-cleared');
  });

  it('shows B away after B is idle', async () => {
    const bob = other(2);
    const a = await open(viewer.user_id);
    await open(bob.user_id, `&idle=${IDLE_MS}`);
    await contactRow(a, bob.user_id, 'away').waitFor();
    expect(await contactRow(a, bob.user_id, 'away').locator('.seen').textContent()).toBe('away');
    await screenshot(a, 'a-sees-b-away');
  });

  it('shows the kinds of client a contact is on, and an idle tab never makes an active user away', async () => {
    // The user on several devices is the viewer here: every other demo user has a test of their own.
    const me = viewer;
    const watcher = await open(other(0).user_id);
    const laptop = await browser.newContext();
    const phone = await browser.newContext();
    contexts.push(laptop, phone);
    const openTab = async (context: BrowserContext, query: string) => {
      const page = await context.newPage();
      await page.goto(`${server.httpUrl}/?user=${me.user_id}${query}`);
      await page.locator('#contacts li').first().waitFor();
      return page;
    };
    // Two tabs of one browser are two devices (each tab keeps its own id in sessionStorage).
    const idleTab = await openTab(laptop, `&idle=${IDLE_MS}`);
    const activeTab = await openTab(laptop, '');
    await openTab(phone, '&client=mobile');
    const clientsOf = (value: string) =>
      watcher.locator(`#contacts li[data-user-id="${me.user_id}"] .clients[data-clients="${value}"]`);
    await clientsOf('web:online,mobile:online').waitFor();

    // The idle tab says it is away; what others see stays online.
    await idleTab.locator('#me-status', { hasText: 'away' }).waitFor();
    await idleTab.locator('#me-seen[data-status="online"]').waitFor();
    await activeTab.close();
    // Once the active tab's grace has passed, the only web device left is the idle one.
    await clientsOf('web:away,mobile:online').waitFor();
    expect(await contactRow(watcher, me.user_id, 'online').count()).toBe(1);
    await idleTab.locator('#me-clients[data-clients="web:away,mobile:online"]').waitFor();
    expect(await idleTab.locator('#me-seen').textContent()).toBe('online');
    await screenshot(watcher, 'watcher-sees-devices');
  });

  it('custom status: B sets one with an expiry, A sees it with the expiry as a tooltip, then B clears it', async () => {
    const bob = other(2);
    const a = await open(viewer.user_id);
    const b = await open(bob.user_id);
    await contactRow(a, bob.user_id, 'online').waitFor();
    const shown = a.locator(`#contacts li[data-user-id="${bob.user_id}"] .custom`);
    const shownAs = (value: string) => shown.and(a.locator(`[data-custom="${value}"]`));
    expect(await shown.isHidden()).toBe(true);
    const setButton = b.getByRole('button', { name: 'Set status' });
    const error = b.locator('#custom-error');

    // Neither emoji nor text: the server's 400 is shown as it answered.
    await setButton.click();
    await b.locator('#custom-status[data-state="error"]').waitFor();
    expect(await error.textContent()).toMatch(/^Not saved: \S/);
    // A custom expiry with no date picked is caught before asking.
    await b.getByLabel('Clear after').selectOption('custom');
    await b.getByLabel('Clear at').waitFor();
    await setButton.click();
    await error.filter({ hasText: 'Pick the date and time it should clear at.' }).waitFor();

    await b.getByLabel('Emoji').fill('🍕');
    await b.getByLabel('What’s happening').fill('Lunch');
    await b.getByLabel('Clear after').selectOption('1h');
    expect(await b.getByLabel('Clear at').isHidden()).toBe(true);
    const before = Date.now();
    await setButton.click();
    await b.locator('#custom-status[data-state="saved"]').waitFor();
    const after = Date.now();
    expect(await error.textContent()).toBe('');
    await b.locator('#me-custom[data-custom="🍕 Lunch"]').waitFor();

    await shownAs('🍕 Lunch').waitFor();
    expect(await shown.textContent()).toBe('🍕 Lunch');
    expect(await shown.getAttribute('title')).toMatch(/^Clears (at|on) .*\d/);
    const expiresAt = Date.parse((await shown.getAttribute('data-expires-at')) ?? '');
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(after + 3_600_000);
    await a.locator('.contacts').screenshot({ path: join(ARTIFACTS, 'a-sees-b-custom-status.png') });
    await b.locator('.me').screenshot({ path: join(ARTIFACTS, 'b-custom-status-editor.png') });

    await b.getByRole('button', { name: 'Clear status' }).click();
    await b.locator('#custom-status[data-state="saved"]').waitFor();
    await shownAs('').waitFor({ state: 'attached' });
    expect(await shown.isHidden()).toBe(true);
    await b.locator('#me-custom[data-custom=""]').waitFor({ state: 'attached' });
    expect(await b.getByLabel('Emoji').inputValue()).toBe('');
  });

  it('shows B offline with a ticking "last seen" once the grace after closing has passed', async () => {
    const bob = other(3);
    const a = await open(viewer.user_id);
    const b = await open(bob.user_id);
    await contactRow(a, bob.user_id, 'online').waitFor();

    const closedAt = Date.now();
    await b.context().close();
    await contactRow(a, bob.user_id, 'offline').waitFor();
    // A lower bound only: the server must have waited for the grace instead of flipping at once.
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(GRACE_MS - 100);
    await expect
      .poll(() => contactRow(a, bob.user_id, 'offline').locator('.seen').textContent())
      .toMatch(/^last seen \d+ seconds? ago$|^last seen now$/);
    await screenshot(a, 'a-sees-b-offline');
  });

  it('privacy settings: B goes invisible and back, then hides last seen, and A sees each at once', async () => {
    // Runs after the "last seen" test, which left B offline: B's window brings B online first.
    const bob = other(3);
    const a = await open(viewer.user_id);
    const b = await open(bob.user_id);
    await contactRow(a, bob.user_id, 'online').waitFor();
    await b.locator('#privacy[data-invisible="false"][data-last-seen="everyone"]').waitFor();

    // Invisible: A sees B offline, "last seen" at B's last activity; B's own window still shows the truth.
    await b.getByLabel('Invisible: others see you offline').check();
    await b.locator('#privacy[data-invisible="true"]').waitFor();
    await contactRow(a, bob.user_id, 'offline').waitFor();
    expect(await contactRow(a, bob.user_id, 'offline').locator('.seen').textContent()).toMatch(/^last seen /);
    expect(await b.locator('#me-seen').textContent()).toBe('online');
    // A window of A opened now never heard of the change: the server alone keeps B's typing from it.
    const later = await open(viewer.user_id);
    await contactRow(later, bob.user_id, 'offline').waitFor();
    // Every text the typing line shows from now on, however briefly (B's typing stop clears it again).
    const recordTyping = (page: Page) =>
      page.evaluate(() => {
        const line = document.getElementById('typing') as HTMLElement;
        const seen: string[] = [];
        (window as unknown as { typingSeen: string[] }).typingSeen = seen;
        new MutationObserver(() => {
          if (line.textContent) seen.push(line.textContent);
        }).observe(line, { childList: true, characterData: true, subtree: true });
      });
    const typingSeen = (page: Page) =>
      page.evaluate(() => (window as unknown as { typingSeen: string[] }).typingSeen);
    await Promise.all([recordTyping(a), recordTyping(later)]);
    // B's typing does not reach A while invisible.
    await b.getByRole('textbox', { name: 'Message' }).pressSequentially('psst');
    await screenshot(a, 'a-sees-invisible-b-offline');

    // Visible again: A sees B online at once. B's typing start went out before it, so had it reached A it
    // would show now.
    await b.getByLabel('Invisible: others see you offline').uncheck();
    await b.locator('#privacy[data-invisible="false"]').waitFor();
    await contactRow(a, bob.user_id, 'online').waitFor();
    await contactRow(later, bob.user_id, 'online').waitFor();
    expect([await typingSeen(a), await typingSeen(later)]).toEqual([[], []]);

    // Last seen hidden: when B signs off, A sees "offline" with no time.
    await b.getByLabel('Who sees when you were last online').selectOption('nobody');
    await b.locator('#privacy[data-last-seen="nobody"]').waitFor();
    await b.getByRole('button', { name: 'Go offline' }).click();
    await contactRow(a, bob.user_id, 'offline').waitFor();
    expect(await contactRow(a, bob.user_id, 'offline').locator('.seen').textContent()).toBe('offline');
    await screenshot(a, 'a-sees-b-without-last-seen');
    // Put B back as the other tests expect a demo user.
    await b.getByLabel('Who sees when you were last online').selectOption('everyone');
    await b.locator('#privacy[data-last-seen="everyone"]').waitFor();
  });
});
