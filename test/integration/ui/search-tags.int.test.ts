/**
 * The web app in Debian Chromium: an analyst searches an Arabic word typed without diacritics and
 * finds the post (shown right-to-left, as recorded); tags the capture and filters the case list by
 * the tag; writes a note. A prosecutor sees the tags and notes but cannot add any. Screenshots go
 * to test-results/ui/.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../../../app/api/server.js';
import type { SealedCapture } from '../../support/sealed-capture.js';
import { startSearchEnv, type SearchEnv } from '../search/setup.js';
import { launchUiBrowser, signIn } from '../../support/web-ui.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const SHOTS = path.join(ROOT, 'test-results', 'ui');
const CASE = 'C-UI-SEARCH';
const OTHER = 'C-UI-OTHER';
const AR_TEXT = 'أُعْلِنَتْ حَالَةُ الطَّوَارِئِ فِي مَدِينَةِ حَلَب <img src=x onerror="window.__xss=1">';

describe('search, tags and notes in the web app (Chromium, real server, Redis, MinIO, TSA)', () => {
  let env: SearchEnv;
  let browser: Browser;
  let server: { url: string; close(): Promise<void> };
  const c: Record<string, SealedCapture> = {};

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    env = await startSearchEnv([
      { name: 'analyst-s', role: 'analyst', cases: [CASE] },
      { name: 'prosecutor-s', role: 'prosecutor', cases: [CASE] },
    ]);
    c.ar = await env.sealPost(CASE, 'telegram', { id: 'aleppo_now/7', author: { id: 'aleppo_now', handle: 'aleppo_now', displayName: 'حلب الآن' }, text: AR_TEXT, hashtags: ['حلب'], published: '2026-04-02T09:30:00Z' });
    c.en = await env.sealPost(CASE, 'mastodon', { id: '1099', author: { id: '5', handle: 'reporter@social.example', displayName: 'Field Reporter' }, text: 'Convoy seen near the old market this morning' });
    c.web = await env.sealPage(CASE, 'https://www.example.org/statement');
    c.other = await env.sealPost(OTHER, 'telegram', { id: 'x/1', author: { id: 'x', handle: 'x', displayName: null }, text: 'حالة الطوارئ في مكان آخر' });
    server = await listen(env.api, '127.0.0.1', 0);
    browser = await launchUiBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await env?.close();
  });

  async function signedIn(name: string): Promise<Page> {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await signIn(page, server.url, name, env.tokens[name]!);
    return page;
  }
  const ready = (page: Page, route: string) => page.waitForSelector(`main#view[data-ready="${route}"]`, { timeout: 30_000 });

  it('analyst: searches an Arabic word typed without diacritics and finds the post, right-to-left and as recorded', async () => {
    const page = await signedIn('analyst-s');
    await page.click('#nav-search');
    await ready(page, '/search');
    await page.fill('#search-q', 'اعلنت حالة الطوارئ'); // no harakat, plain alef, ta marbuta
    await page.click('#search-form button[type=submit]');
    await page.waitForSelector('#search-hits li.search-hit');
    const hits = await page.$$eval('#search-hits li.search-hit', (lis) => lis.map((li) => (li as HTMLElement).dataset.captureId));
    expect(hits).toEqual([c.ar!.captureId]); // never the other case's post
    const text = page.locator('#search-hits .hit-text').first();
    expect(await text.textContent()).toBe(AR_TEXT);
    expect(await text.evaluate((el) => getComputedStyle(el).direction)).toBe('rtl');
    expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss ?? null)).toBeNull();
    expect(await page.locator('#search-hits img').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'search-01-arabic-without-diacritics.png'), fullPage: true });
    // The hit links to the capture.
    await page.click('#search-hits a.hit-link');
    await ready(page, `/cases/${CASE}/captures/${c.ar!.captureId}`);
    const reads = (await env.s.custody.readLog(CASE)).map((e) => e.event).filter((e) => e.action === 'viewed' && e.details.view === 'search');
    expect(reads.map((e) => [e.actor.id, e.details.captureIds])).toEqual([['analyst-s', [c.ar!.captureId]]]);
    expect((await env.s.custody.readLog(OTHER)).some((e) => e.event.details.view === 'search')).toBe(false);
    await page.context().close();
  });

  it('analyst: tags captures, filters the case list by tag, writes a note; a prosecutor sees them but cannot annotate', async () => {
    const page = await signedIn('analyst-s');
    for (const [id, tag] of [[c.ar!.captureId, 'تصعيد'], [c.web!.captureId, 'تصعيد'], [c.en!.captureId, 'convoy']] as const) {
      await page.goto(`${server.url}/ui/#/cases/${CASE}/captures/${id}`);
      await ready(page, `/cases/${CASE}/captures/${id}`);
      await page.fill('#tag-input', tag);
      await page.click('#tag-form button[type=submit]');
      await page.waitForSelector(`#tags li.tag[data-tag="${tag}"]`);
    }
    const NOTE = 'Same convoy as in the Telegram post; check the time. <img src=x onerror="window.__xss=2">';
    await page.fill('#note-input', NOTE);
    await page.click('#note-form button[type=submit]');
    await page.waitForSelector('#notes li');
    expect(await page.textContent('#notes')).toContain('analyst-s');
    // A note is text: its markup shows as written and nothing runs.
    expect(await page.textContent('#notes .note-text')).toBe(NOTE);
    expect(await page.locator('#annotations img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss ?? null)).toBeNull();
    await page.screenshot({ path: path.join(SHOTS, 'search-02-capture-tags-notes.png'), fullPage: true });

    await page.goto(`${server.url}/ui/#/cases/${CASE}`);
    await ready(page, `/cases/${CASE}`);
    expect(await page.locator('#capture-table tbody tr').count()).toBe(3);
    await page.fill('#tag-filter', 'تَصْعِيد'); // typed with harakat: the same tag
    await page.click('#tag-filter-form button[type=submit]');
    await page.waitForSelector('#captures[data-filtered="تَصْعِيد"]');
    const rows = await page.$$eval('#capture-table tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.captureId).sort());
    expect(rows).toEqual([c.ar!.captureId, c.web!.captureId].sort());
    expect(await page.locator('#capture-table td.capture-tags .tag').first().textContent()).toBe('تصعيد');
    await page.screenshot({ path: path.join(SHOTS, 'search-03-case-filtered-by-tag.png'), fullPage: true });
    await page.fill('#tag-filter', 'no-such-tag');
    await page.click('#tag-filter-form button[type=submit]');
    await page.waitForSelector('#captures[data-filtered="no-such-tag"]');
    expect(await page.textContent('#captures')).toContain('No capture has this tag.');

    // Tags are searchable too.
    await page.goto(`${server.url}/ui/#/search?q=${encodeURIComponent('convoy')}`);
    await page.waitForSelector('#search-hits li.search-hit');
    expect(await page.$$eval('#search-hits li.search-hit', (lis) => lis.map((li) => (li as HTMLElement).dataset.captureId))).toEqual([c.en!.captureId]);

    // Removing a tag is another custody event.
    await page.goto(`${server.url}/ui/#/cases/${CASE}/captures/${c.web!.captureId}`);
    await ready(page, `/cases/${CASE}/captures/${c.web!.captureId}`);
    await page.click('#tags li.tag[data-tag="تصعيد"] button.remove-tag');
    await page.waitForSelector('#tags li.muted');
    const log = (await env.s.custody.readLog(CASE)).map((e) => e.event).filter((e) => e.action.startsWith('tag-') || e.action === 'note-added');
    expect(log.map((e) => [e.action, e.actor.id])).toEqual([
      ['tag-added', 'analyst-s'], ['tag-added', 'analyst-s'], ['tag-added', 'analyst-s'], ['note-added', 'analyst-s'], ['tag-removed', 'analyst-s'],
    ]);
    await page.context().close();

    const pros = await signedIn('prosecutor-s');
    await pros.goto(`${server.url}/ui/#/cases/${CASE}/captures/${c.en!.captureId}`);
    await ready(pros, `/cases/${CASE}/captures/${c.en!.captureId}`);
    expect(await pros.textContent('#annotations')).toContain('convoy');
    expect(await pros.textContent('#annotations')).toContain('Same convoy as in the Telegram post');
    expect(await pros.locator('#tag-form, #note-form, button.remove-tag').count()).toBe(0);
    await pros.context().close();
  });
});
