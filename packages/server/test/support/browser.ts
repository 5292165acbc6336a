import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { IN_CI } from './services.js';

/** Debian's Chromium: no test downloads a browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless, and quiet on a machine with no network but loopback: without the background-networking flags
 * Chromium keeps trying hosts it cannot reach.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Whether a browser suite should skip: only outside CI, when Chromium is missing (with one printed line);
 * under CI a missing browser must fail the run, so the suite runs and fails at launch.
 */
export function skipBrowserSuite(suite: string): boolean {
  if (existsSync(CHROMIUM) || IN_CI) return false;
  console.log(`${suite}: skipped, ${CHROMIUM} not found (apt-get install chromium)`);
  return true;
}

/** Launches Debian's Chromium headless, with any extra flags a suite needs. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}
