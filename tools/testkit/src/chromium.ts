import { chromium, type Browser } from 'playwright-core';
import { requireCommand } from './require-command.js';

/**
 * Debian's headless Chromium (`/usr/bin/chromium`) through playwright-core,
 * with its own background traffic (updates, sync) turned off, so that every
 * request a test sees comes from the page under test.
 */
export async function launchChromium(purpose: string): Promise<Browser> {
  requireCommand('chromium', purpose);
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
