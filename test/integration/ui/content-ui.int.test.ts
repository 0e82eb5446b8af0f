import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../../app/api/server.js';
import { SubmitResponse } from '../../../schemas/api.js';
import type { FixtureSite } from '../../fixtures/fixture-server.js';
import { startInstagramFixture } from '../../fixtures/instagram/server.js';
import { startTelegramFixture } from '../../fixtures/telegram/server.js';
import { startHarness, type Harness } from '../api/harness.js';
import { launchUiBrowser, signIn } from '../../support/web-ui.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const SHOTS = path.join(ROOT, 'test-results', 'ui');
const CASE = 'C-UI-CONTENT';
/** Message 102 of the Telegram fixture channel, as served. */
const ARABIC_102 = 'فيديو قصير من السوق بعد الظهر';

/**
 * Content first, in Debian Chromium against the running server: an Arabic Telegram post, the
 * channel page (a list capture) and an Instagram post behind the login wall, submitted by a
 * signed-in analyst. The case list names who said what, in its direction, and filters; the channel
 * capture shows each of its posts; the prosecutor's multi-capture certificate names authors and
 * texts and words the login wall as what the platform showed.
 */
describe('web app: content first (real server, Redis, MinIO, TSA, platform fixtures)', () => {
  let h: Harness;
  let tg: FixtureSite;
  let ig: FixtureSite;
  let browser: Browser;
  let server: { url: string; close(): Promise<void> };
  let tmp: string;
  const ids: { post?: string; channel?: string; login?: string } = {};

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'exhibit-content-ui-'));
    [tg, ig] = await Promise.all([startTelegramFixture(), startInstagramFixture()]);
    h = await startHarness(
      [
        { name: 'analyst-cui', role: 'analyst', cases: [CASE] },
        { name: 'prosecutor-cui', role: 'prosecutor', cases: [CASE] },
      ],
      {},
      { collectors: { telegram: { hosts: [tg.host] }, instagram: { hosts: [ig.host] } } },
    );
    server = await listen(h.api, '127.0.0.1', 0);
    browser = await launchUiBrowser();
    const urls = [`${tg.url}/s/sahel_news/102`, `${tg.url}/s/sahel_news`, `${ig.url}/p/C4LoGiNwAll/`];
    const r = await fetch(`${server.url}/api/cases/${CASE}/captures`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${h.tokens['analyst-cui']}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ urls, legalBasis: 'Warrant 2026/14' }),
    });
    const body = SubmitResponse.parse(await r.json());
    expect(body.rejected).toEqual([]);
    [ids.post, ids.channel, ids.login] = body.accepted.map((a) => a.captureId);
    for (const id of Object.values(ids)) expect((await h.waitFinal(id!, 170_000)).state).toBe('sealed');
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await h?.close();
    await Promise.all([tg?.close(), ig?.close()]);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function signedIn(name: string): Promise<{ ctx: BrowserContext; page: Page; errors: string[] }> {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page, server.url, name, h.tokens[name]!);
    return { ctx, page, errors };
  }
  const ready = (page: Page, route: string) => page.waitForSelector(`main#view[data-ready="${route}"]`, { timeout: 30_000 });
  const row = (page: Page, id: string) => page.locator(`#capture-table tr[data-capture-id="${id}"]`);

  it('the submission is recorded with the signed-in user as a web user, not a command-line operator', async () => {
    const log = (await h.s.custody.readLog(CASE)).map((e) => e.event);
    const submitted = log.filter((e) => e.action === 'request-submitted');
    expect(submitted.length).toBeGreaterThan(0);
    for (const e of submitted) expect(e.actor).toEqual({ type: 'user', id: 'analyst-cui', role: 'analyst' });
  });

  it('analyst: the case list shows who said what, in its direction, with visibility in words, and filters', async () => {
    const { ctx, page, errors } = await signedIn('analyst-cui');
    await page.goto(`${server.url}/ui/#/cases/${CASE}`);
    await ready(page, `/cases/${CASE}`);
    await page.waitForFunction(() => document.querySelectorAll('#capture-table tbody tr').length === 3);
    const post = row(page, ids.post!);
    expect(await post.locator('.author-name').textContent()).toBe('Sahel News');
    expect(await post.locator('.author-handle').textContent()).toBe('@sahel_news');
    const excerpt = post.locator('p.excerpt');
    expect(await excerpt.textContent()).toContain(ARABIC_102);
    expect(await excerpt.getAttribute('dir')).toBe('rtl');
    expect(await excerpt.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
    expect(await post.textContent()).toContain('telegram');
    expect(await post.locator('td.time').first().textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    expect(await row(page, ids.channel!).textContent()).toMatch(/list page, \d+ posts/);
    const login = row(page, ids.login!);
    expect(await login.locator('.shown').textContent()).toBe('login wall');
    expect(await login.textContent()).not.toMatch(/NOT_VISIBLE|page failed/);
    await page.screenshot({ path: path.join(SHOTS, '20-case-list-content.png'), fullPage: true });

    // Filters: platform, status, author; then back to all.
    await page.selectOption('#filter-platform', 'instagram');
    await page.waitForFunction(() => document.querySelectorAll('#capture-table tbody tr').length === 1);
    expect(await page.locator('#capture-table tbody tr').getAttribute('data-capture-id')).toBe(ids.login);
    await page.selectOption('#filter-platform', '');
    await page.selectOption('#filter-status', 'login wall');
    await page.waitForFunction(() => document.querySelectorAll('#capture-table tbody tr').length === 1);
    await page.selectOption('#filter-status', '');
    await page.fill('#filter-author', '@sahel_news');
    await page.waitForFunction(() => document.querySelectorAll('#capture-table tbody tr').length === 2);
    expect(await page.textContent('#capture-count')).toBe('2 of 3 capture(s) shown');
    await page.fill('#filter-author', '');
    await page.selectOption('#sort', 'author');
    await page.waitForFunction(() => document.querySelectorAll('#capture-table tbody tr').length === 3);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('analyst: a channel capture shows each of its posts with its media, not only the page', async () => {
    const { ctx, page, errors } = await signedIn('analyst-cui');
    await page.goto(`${server.url}/ui/#/cases/${CASE}/captures/${ids.channel}`);
    await ready(page, `/cases/${CASE}/captures/${ids.channel}`);
    expect(await page.textContent('#capture-title')).toMatch(/^Sahel News @sahel_news — telegram channel, \d+ posts$/);
    const cards = page.locator('#listed-posts article.post-card');
    expect(await cards.count()).toBeGreaterThanOrEqual(2);
    const arabic = page.locator('#listed-posts .post-text', { hasText: ARABIC_102 });
    expect(await arabic.getAttribute('dir')).toBe('rtl');
    // The page is not the post: no language is given that the platform did not state.
    expect(await arabic.getAttribute('lang')).toBeNull();
    expect(await page.locator('#listed-posts .post-media img, #listed-posts .post-media a').count()).toBeGreaterThan(0);
    expect(await page.textContent('#capture-facts')).toContain('analyst-cui — signed-in web user (analyst)');
    await page.screenshot({ path: path.join(SHOTS, '21-channel-capture-posts.png'), fullPage: true });
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('prosecutor: the multi-capture certificate names authors and texts, and words the login wall as the platform showed it', async () => {
    const { ctx, page } = await signedIn('prosecutor-cui');
    await page.goto(`${server.url}/ui/#/cases/${CASE}`);
    await ready(page, `/cases/${CASE}`);
    await page.click('#package-case');
    await page.waitForSelector('#package-ready', { timeout: 170_000 });
    const download = page.waitForEvent('download');
    await page.click('#package-download');
    const zip = path.join(tmp, (await download).suggestedFilename());
    await (await download).saveAs(zip);
    const listing = execFileSync('unzip', ['-Z1', zip], { encoding: 'utf8' }).split('\n');
    const certPath = listing.find((p) => p.endsWith('data/certificate.html'))!;
    expect(listing.some((p) => p.endsWith('data/certificate.pdf'))).toBe(true);
    const html = execFileSync('unzip', ['-p', zip, certPath], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const certFile = path.join(tmp, 'certificate.html');
    writeFileSync(certFile, html);

    const cert = await ctx.newPage();
    await cert.goto(`file://${certFile}`);
    expect(await cert.locator('section.entry').count()).toBe(3);
    const rtl = cert.locator('p.excerpt[dir="rtl"]', { hasText: ARABIC_102 }).first();
    expect(await rtl.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
    expect(await cert.locator('section.entry .aname', { hasText: 'Sahel News' }).count()).toBeGreaterThanOrEqual(2);
    expect(await cert.locator('section.entry .ahandle', { hasText: '@sahel_news' }).count()).toBeGreaterThanOrEqual(2);
    const body = (await cert.textContent('body')) ?? '';
    expect(body).toContain('the platform showed a login wall');
    expect(body).not.toContain('CAPTURE FAILED');
    expect(body).toContain('analyst-cui — signed-in web user (analyst)');
    // Custody: one line per event kind per capture, under a heading per capture.
    expect(await cert.locator('table.ctable tr.group').count()).toBeGreaterThanOrEqual(3);
    await cert.setViewportSize({ width: 900, height: 1300 });
    await cert.locator('h2', { hasText: 'Captures in this package' }).scrollIntoViewIfNeeded();
    await cert.screenshot({ path: path.join(SHOTS, '22-certificate-authors-texts.png'), fullPage: false });
    await cert.screenshot({ path: path.join(SHOTS, '23-certificate-full.png'), fullPage: true });

    // The verify page leads with the verdict, folds passing groups, and shows no server path.
    await page.click('a[href="#/verify"]');
    await ready(page, '/verify');
    await page.setInputFiles('#verify-file', zip);
    await page.click('#verify-form button[type=submit]');
    await page.waitForSelector('#verify-verdict', { timeout: 120_000 });
    expect(await page.textContent('#verify-verdict')).toMatch(/^(VERIFIED|UNAUTHENTICATED): all \d+ checks passed/);
    expect(await page.locator('#verify-failures').count()).toBe(0);
    const groups = page.locator('#verify-checks details.check-group');
    expect(await groups.count()).toBeGreaterThan(1);
    expect(await page.locator('#verify-checks details.check-group[open]').count()).toBe(0);
    const text = (await page.textContent('#view')) ?? '';
    expect(text).not.toContain(os.tmpdir());
    expect(text).not.toContain(h.stateDir);
    await page.screenshot({ path: path.join(SHOTS, '24-verify-grouped.png'), fullPage: true });
    await ctx.close();
  });
});
