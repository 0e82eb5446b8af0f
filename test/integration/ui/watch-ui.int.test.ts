import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../../app/api/server.js';
import { setTelegramChannelState } from '../../fixtures/telegram/server.js';
import { startWatchEnv, type WatchEnv } from '../watch/watch-env.js';
import { launchUiBrowser, signIn } from '../../support/web-ui.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const SHOTS = path.join(ROOT, 'test-results', 'ui');
const CASE = 'C-UI-WATCH';

/**
 * The analyst's watch and spreadsheet paths in Debian Chromium against the running server: add a
 * watch on the Telegram fixture channel, see its first run live, edit a post on the fixture, run
 * again and see old and new side by side with the word diff right-to-left; upload a CSV and see
 * every row answered.
 */
describe('web app: watches and spreadsheets in Chromium (real server, Redis, MinIO, TSA)', () => {
  let env: WatchEnv;
  let browser: Browser;
  let server: { url: string; close(): Promise<void> };
  let watchId = '';

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    env = await startWatchEnv([{ name: 'analyst-wui', role: 'analyst', cases: [CASE] }]);
    await setTelegramChannelState(env.site, 1);
    server = await listen(env.api, '127.0.0.1', 0);
    browser = await launchUiBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await env?.close();
  });

  async function signedIn(name: string): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    await ctx.addInitScript(() => {
      const w = window as unknown as { __csp: string[] };
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page, server.url, name, env.tokens[name]!);
    return { ctx, page, errors };
  }
  const ready = (page: Page, route: string) => page.waitForSelector(`main#view[data-ready="${route}"]`, { timeout: 30_000 });
  const noViolations = async (page: Page) => expect(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).toEqual([]);

  it('analyst adds a watch, sees its first run live, then an edit side by side with its word diff', async () => {
    const { ctx, page, errors } = await signedIn('analyst-wui');
    await page.click('#nav-watches');
    await ready(page, '/watches');
    expect(await page.textContent('#no-watches')).toContain('No watches');
    await page.fill('#watch-url', `${env.site.url}/s/sahel_news`);
    await page.selectOption('#watch-case', CASE);
    await page.fill('#watch-every', '15m');
    await page.fill('#watch-basis', 'Warrant 2026/93');
    await page.click('#watch-form button[type=submit]');
    await page.waitForURL(/#\/watches\/[0-9a-f-]{36}$/);
    watchId = page.url().split('/').pop()!;
    // Run 1 happens in the worker; the view follows it live and shows both posts as new once sealed.
    await page.waitForSelector('#watch-timeline .run[data-run="1"]', { timeout: 170_000 });
    await page.waitForFunction(() => document.querySelectorAll('#watch-timeline .run[data-run="1"] .change-new .side[data-state="sealed"]').length === 2, null, { timeout: 170_000 });
    expect(await page.textContent('#watch-facts')).toContain('Warrant 2026/93');
    await page.screenshot({ path: path.join(SHOTS, '10-watch-first-run.png'), fullPage: true });

    // The post is edited on the platform; the analyst runs the watch now.
    await setTelegramChannelState(env.site, 2);
    await page.click('#watch-detail .watch-run');
    await page.waitForSelector('#watch-timeline .run[data-run="2"] .change-edited', { timeout: 170_000 });
    await page.waitForSelector('#watch-timeline .run[data-run="2"] .change-edited .diff', { timeout: 170_000 });
    const edited = page.locator('#watch-timeline .run[data-run="2"] .change-edited');
    const sides = edited.locator('.side-by-side .side');
    expect(await sides.count()).toBe(2);
    expect(await sides.nth(0).locator('.side-text').textContent()).toContain('الوضع هادئ');
    expect(await sides.nth(1).locator('.side-text').textContent()).toContain('تجمّع الناس الآن قرب المسجد');
    // Links to both sealed captures.
    const links = await edited.locator('.side a.capture-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(links).toHaveLength(2);
    expect(new Set(links).size).toBe(2);
    for (const href of links) expect(href).toMatch(new RegExp(`^#/cases/${CASE}/captures/[0-9a-f-]{36}$`));
    // The diff: removed and added words marked, laid out right-to-left.
    const diff = edited.locator('.diff');
    expect(await diff.locator('del').allTextContents()).toEqual([expect.stringContaining('الوضع هادئ')]);
    expect(await diff.locator('ins').allTextContents()).toEqual([expect.stringContaining('تجمّع الناس الآن قرب المسجد')]);
    expect(await diff.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
    expect(await diff.textContent()).toContain('فيديو قصير من السوق');
    await edited.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SHOTS, '11-watch-edit-diff.png'), fullPage: true });
    await noViolations(page);

    // Following a link opens the earlier capture.
    await edited.locator('.side a.capture-link').first().click();
    await page.waitForSelector('#capture-facts', { timeout: 30_000 });

    // The case list marks what the watch made.
    await page.goto(`${server.url}/ui/#/cases/${CASE}`);
    await ready(page, `/cases/${CASE}`);
    await page.waitForSelector('#capture-table .watch-mark');
    expect(await page.locator(`#capture-table a.watch-mark[data-watch-id="${watchId}"]`).count()).toBeGreaterThan(2);
    expect(await page.locator('#capture-table .watch-mark', { hasText: 'edit re-capture' }).count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, '12-case-watch-marks.png'), fullPage: true });
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('analyst uploads a CSV and sees every row accepted or rejected with its reason', async () => {
    const { ctx, page, errors } = await signedIn('analyst-wui');
    await page.goto(`${server.url}/ui/#/cases/${CASE}`);
    await ready(page, `/cases/${CASE}`);
    const file = path.join(env.stateDir, 'targets.csv');
    writeFileSync(file, [`url,legal basis,tags,note`, `${env.site.url}/sahel_news/103,Warrant 7,urgent;road,"closure, main road"`, `javascript:alert(1),,,`, `,,,`, `ftp://x.example/y,,,`].join('\n'));
    await page.setInputFiles('#sheet-file', file);
    await page.click('#sheet-form button[type=submit]');
    await page.waitForSelector('#sheet-rows tbody tr');
    expect(await page.textContent('#sheet-summary')).toMatch(/CSV: 4 rows — 1 accepted, 3 rejected/);
    const statuses = await page.locator('#sheet-rows tbody tr').evaluateAll((trs) => trs.map((tr) => [(tr as HTMLElement).dataset.line, (tr as HTMLElement).dataset.status, tr.textContent]));
    expect(statuses.map(([l, s]) => [l, s])).toEqual([['2', 'accepted'], ['3', 'rejected'], ['4', 'rejected'], ['5', 'rejected']]);
    expect(statuses[1]![2]).toContain('UNSUPPORTED_SCHEME');
    expect(statuses[2]![2]).toContain('no URL in this row');
    expect(statuses[3]![2]).toContain('UNSUPPORTED_SCHEME');
    expect(statuses[0]![2]).toContain('urgent, road');
    expect(await page.textContent('#sheet-annotations')).toMatch(/not applied/);
    await page.screenshot({ path: path.join(SHOTS, '13-csv-intake.png'), fullPage: true });
    // Pasted cells from a spreadsheet (tab-separated).
    await page.setInputFiles('#sheet-file', []);
    await page.fill('#sheet-paste', `${env.site.url}/sahel_news/102\tWarrant 8\nnot a url\t\n`);
    await page.click('#sheet-form button[type=submit]');
    await page.waitForFunction(() => /TSV: 2 rows — 1 accepted, 1 rejected/.test(document.getElementById('sheet-summary')?.textContent ?? ''));
    // Export links point at our own API.
    expect(await page.getAttribute('#export-xlsx', 'href')).toBe(`/api/cases/${CASE}/export?format=xlsx`);
    expect(await page.getAttribute('#export-stix', 'href')).toBe(`/api/cases/${CASE}/export?format=stix&tlp=amber`);
    expect(await page.getAttribute('#export-misp', 'href')).toBe(`/api/cases/${CASE}/export?format=misp&tlp=amber`);
    const dl = page.waitForEvent('download');
    await page.click('#export-csv');
    expect((await dl).suggestedFilename()).toBe(`${CASE}-captures.csv`);
    await noViolations(page);
    expect(errors).toEqual([]);
    await ctx.close();
  });
});
