import { chromium, type Browser, type Page } from 'playwright-core';

/** The flags the brief names for Debian Chromium in tests of the web app (no sandbox, no background traffic). */
export const UI_CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Debian Chromium for browser tests of the web app. */
export function launchUiBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: UI_CHROMIUM_ARGS });
}

/** Sign in through the web app's login form, as a user would, and wait for the signed-in header. */
export async function signIn(page: Page, baseUrl: string, name: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/ui/#/login`);
  await page.fill('#login-name', name);
  await page.fill('#login-token', token);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#user-name');
}
