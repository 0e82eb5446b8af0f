import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../../app/api/server.js';
import { startXssSite, type XssSite } from '../../fixtures/xss-site/server.js';
import { startHarness, type Harness } from '../api/harness.js';
import { launchUiBrowser, signIn } from '../../support/web-ui.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const SHOTS = path.join(ROOT, 'test-results', 'ui');
const CASE = 'C-UI-001';

/**
 * The web app in Debian Chromium against the running server: the analyst's path (submit, watch,
 * review with screenshot and right-to-left Arabic), the prosecutor's (package, download, verify),
 * and a hostile page whose script and markup must stay inert in every view.
 */
describe('web app in Chromium (real server, Redis, MinIO, TSA)', () => {
  let h: Harness;
  let xss: XssSite;
  let browser: Browser;
  let server: { url: string; close(): Promise<void> };
  let tmp: string;
  const ids: { sample?: string; hostile?: string } = {};

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'exhibit-ui-'));
    xss = await startXssSite();
    h = await startHarness([
      { name: 'analyst-ui', role: 'analyst', cases: [CASE] },
      { name: 'prosecutor-ui', role: 'prosecutor', cases: [CASE] },
      { name: 'admin-ui', role: 'admin', cases: [] },
    ]);
    server = await listen(h.api, '127.0.0.1', 0);
    browser = await launchUiBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await h?.close();
    await xss?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** A signed-in page that records CSP violations and any payload that ran. */
  async function signedIn(name: string): Promise<{ ctx: BrowserContext; page: Page }> {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    await ctx.addInitScript(() => {
      const w = window as unknown as { __csp: string[] };
      w.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));
    });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page, server.url, name, h.tokens[name]!);
    return { ctx, page };
  }

  const ready = (page: Page, route: string) => page.waitForSelector(`main#view[data-ready="${route}"]`, { timeout: 30_000 });

  /** No payload ran, no CSP violation, no markup from captured data became elements. */
  async function assertInert(page: Page, where: string): Promise<void> {
    const state = await page.evaluate(() => {
      const w = window as unknown as { __xss?: unknown; __csp: string[] };
      return {
        xss: w.__xss ?? null,
        csp: w.__csp,
        badImgs: document.querySelectorAll('img[src="x"], svg, script:not([src])').length,
        jsLinks: Array.from(document.querySelectorAll('a')).filter((a) => !/^(https?:|#|\/)/.test(a.getAttribute('href') ?? '#')).length,
        inlineHandlers: Array.from(document.querySelectorAll('*')).filter((el) => Array.from(el.attributes).some((a) => a.name.startsWith('on'))).length,
      };
    });
    expect(state, where).toEqual({ xss: null, csp: [], badImgs: 0, jsLinks: 0, inlineHandlers: 0 });
  }

  it("analyst: submits the sample post and a hostile page, watches live progress, sees them sealed", async () => {
    const { ctx, page } = await signedIn('analyst-ui');
    await ready(page, '/');
    await page.click(`a[href="#/cases/${CASE}"]`);
    await ready(page, `/cases/${CASE}`);
    await page.fill('#submit-urls', `${h.site.url}/post/1\n${xss.url}/post\njavascript:alert(1)`);
    await page.fill('#submit-basis', 'Test warrant 9/2026');
    await page.click('#submit-form button[type=submit]');
    await page.waitForSelector('#submit-progress li[data-capture-id]');
    // Live progress: at least one intermediate state is shown before both are sealed.
    await page.waitForSelector('#submit-progress li[data-state]', { timeout: 60_000 });
    await page.screenshot({ path: path.join(SHOTS, '01-analyst-submit-progress.png'), fullPage: true });
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#submit-progress li[data-capture-id]')).every((li) => (li as HTMLElement).dataset.state === 'sealed'), null, { timeout: 170_000 });
    expect(await page.textContent('#submit-progress')).toContain('UNSUPPORTED_SCHEME');
    const liIds = await page.$$eval('#submit-progress li[data-capture-id]', (lis) => lis.map((li) => (li as HTMLElement).dataset.captureId!));
    [ids.sample, ids.hostile] = liIds;
    // The list refreshes after the stream ends: both rows with their thumbnails.
    await page.waitForFunction(() => document.querySelectorAll('#capture-table tbody tr').length === 2 && Array.from(document.querySelectorAll('img.thumb')).every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0), null, { timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, '02-analyst-case.png'), fullPage: true });
    await assertInert(page, 'case view');
    await ctx.close();
  });

  it('analyst: the capture view shows the screenshot, the Arabic text right-to-left, metadata with a map link, digests and custody', async () => {
    const { ctx, page } = await signedIn('analyst-ui');
    await page.goto(`${server.url}/ui/#/cases/${CASE}/captures/${ids.sample}`);
    await ready(page, `/cases/${CASE}/captures/${ids.sample}`);
    await page.waitForFunction(() => {
      const img = document.getElementById('screenshot') as HTMLImageElement | null;
      return !!img && img.complete && img.naturalWidth > 0;
    });
    const ar = page.locator('#page-text p', { hasText: 'دمشق' }).first();
    expect(await ar.getAttribute('dir')).toBe('rtl');
    expect(await ar.getAttribute('lang')).toBe('ar');
    expect(await ar.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
    const en = page.locator('#page-text p', { hasText: 'Morning at the old market' }).first();
    expect(await en.evaluate((el) => getComputedStyle(el).direction)).toBe('ltr');
    const map = page.locator('#metadata a.map-link').first();
    expect(await map.getAttribute('href')).toMatch(/^https:\/\/www\.openstreetmap\.org\/\?mlat=33\.513\d*&mlon=36\.276\d*/);
    expect(await page.locator('#artifacts tbody tr').count()).toBeGreaterThan(5);
    expect(await page.textContent('table.custody')).toContain('analyst-ui');
    await page.screenshot({ path: path.join(SHOTS, '03-analyst-capture.png'), fullPage: true });
    await assertInert(page, 'sample capture view');
    await ctx.close();
  });

  it('stored XSS: the hostile capture shows its script and markup as text, and nothing runs', async () => {
    const { ctx, page } = await signedIn('analyst-ui');
    await page.goto(`${server.url}/ui/#/cases/${CASE}/captures/${ids.hostile}`);
    await ready(page, `/cases/${CASE}/captures/${ids.hostile}`);
    // The payloads are there, as text.
    // The heading names the post's author (here a payload from JSON-LD); the page title is under it.
    expect(await page.textContent('#capture-title')).toContain(`<svg onload="window.__xss='ld-author'">`);
    expect(await page.textContent('#page-title')).toContain("<script>window.__xss='title'</script>");
    expect(await page.textContent('#page-text')).toContain(`<img src=x onerror="window.__xss='p'">`);
    const metadata = await page.textContent('#metadata');
    expect(metadata).toContain("window.__xss='exif-description'");
    if (await page.locator('#post-text').count()) expect(await page.textContent('#post-text')).toContain('window.__xss');
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(SHOTS, '04-xss-capture.png'), fullPage: true });
    await assertInert(page, 'hostile capture view');
    await page.goto(`${server.url}/ui/#/cases/${CASE}`);
    await ready(page, `/cases/${CASE}`);
    await assertInert(page, 'case view with the hostile capture');
    // Opening a captured HTML artifact directly never renders it in our origin: it downloads.
    const dl = page.waitForEvent('download');
    await page.evaluate((href) => {
      const a = document.createElement('a');
      a.href = href;
      document.body.append(a);
      a.click();
    }, `/api/cases/${CASE}/captures/${ids.hostile}/artifacts/dom.html`);
    expect((await dl).suggestedFilename()).toBe('dom.html');
    await assertInert(page, 'after opening dom.html');
    await ctx.close();
  });

  it('prosecutor: builds the package with progress, downloads it, and sees it verify item by item', async () => {
    const { ctx, page } = await signedIn('prosecutor-ui');
    await page.goto(`${server.url}/ui/#/cases/${CASE}`);
    await ready(page, `/cases/${CASE}`);
    expect(await page.locator('#submit-form').count()).toBe(0);
    await page.click('#package-case');
    await page.waitForSelector('#package-progress progress, #package-ready', { timeout: 30_000 });
    await page.waitForSelector('#package-ready', { timeout: 170_000 });
    await page.screenshot({ path: path.join(SHOTS, '05-prosecutor-package.png'), fullPage: true });
    const download = page.waitForEvent('download');
    await page.click('#package-download');
    const file = path.join(tmp, (await download).suggestedFilename());
    await (await download).saveAs(file);
    await assertInert(page, 'package builder');
    await page.click('a[href="#/verify"]');
    await ready(page, '/verify');
    await page.setInputFiles('#verify-file', file);
    await page.click('#verify-form button[type=submit]');
    await page.waitForSelector('#verify-verdict', { timeout: 120_000 });
    expect(await page.textContent('#verify-verdict')).toMatch(/^VERIFIED: all \d+ checks passed/);
    expect(await page.locator('#verify-checks tbody tr.ok').count()).toBeGreaterThan(20);
    expect(await page.locator('#verify-checks tbody tr.bad').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, '06-prosecutor-verify.png'), fullPage: true });
    await assertInert(page, 'verification page');
    const log = (await h.s.custody.readLog(CASE)).map((e) => e.event);
    expect(log.some((e) => e.action === 'packaged' && e.actor.id === 'prosecutor-ui')).toBe(true);
    expect(log.some((e) => e.action === 'downloaded' && e.actor.id === 'prosecutor-ui')).toBe(true);
    expect(log.some((e) => e.action === 'verified' && e.actor.id === 'prosecutor-ui')).toBe(true);
    await ctx.close();
  });

  it('admin: manages users (and sees no evidence)', async () => {
    const { ctx, page } = await signedIn('admin-ui');
    await ready(page, '/admin');
    await page.fill('#new-user-name', 'auditor-ui');
    await page.selectOption('#new-user-role', 'auditor');
    await page.fill('#new-user-cases', CASE);
    await page.click('#new-user button[type=submit]');
    await page.waitForSelector('#users td:text("auditor-ui")');
    await page.screenshot({ path: path.join(SHOTS, '07-admin-users.png'), fullPage: true });
    await page.goto(`${server.url}/ui/#/cases/${CASE}/captures/${ids.sample}`);
    await ready(page, `/cases/${CASE}/captures/${ids.sample}`);
    expect(await page.textContent('main#view')).toContain('FORBIDDEN');
    await assertInert(page, 'admin pages');
    await ctx.close();
  });
});
