import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserPool } from '../../../collectors/browser/pool.js';
import { RecordingProxy } from '../../../collectors/browser/recording-proxy.js';
import { settlePage, type SettleOptions, type SettleResult } from '../../../collectors/browser/settle.js';
import { createLogger } from '../../../lib/logger.js';

/**
 * settlePage against real Chromium and the recording proxy, on pages built for its hard cases:
 * infinite scroll behind a debounced scroll handler, lazy images far down a long page, a page
 * that polls forever, a page that does not scroll, a page that fits the viewport.
 */
const logger = createLogger('silent');
const ITEM = (id: string) => `<div class="item" style="height:400px;border:1px solid #ccc">item ${id}</div>`;

/** Requests per path, to prove which lazy resources were asked for. */
const hits = new Map<string, number>();

const PAGES: Record<string, string> = {
  // Scroll handler debounced 150 ms (a common pattern), then fetches the next 5 items; 3 more pages.
  '/feed': `<!doctype html><meta charset="utf-8"><body><div id="list">${[1, 2, 3, 4, 5].map((i) => ITEM(`0-${i}`)).join('')}</div>
<script>
  var page = 0, loading = false, timer = null;
  window.addEventListener('scroll', function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (loading || page >= 3) return;
      if (window.scrollY + window.innerHeight < document.body.scrollHeight - 300) return;
      loading = true;
      fetch('/more?page=' + (page + 1)).then(function (r) { return r.text(); }).then(function (html) {
        document.getElementById('list').insertAdjacentHTML('beforeend', html);
        page += 1; loading = false;
      });
    }, 150);
  });
</script>`,
  '/lazy': `<!doctype html><meta charset="utf-8"><body>${[1, 2, 3, 4, 5, 6].map((i) => `<div style="height:1500px">section ${i}</div><img loading="lazy" src="/img/${i}.svg" width="100" height="100">`).join('')}`,
  '/busy': `<!doctype html><meta charset="utf-8"><body><p>polls</p><script>setInterval(function () { fetch('/poll?' + Date.now()); }, 80);</script>`,
  '/noscroll': `<!doctype html><meta charset="utf-8"><style>html,body{overflow:hidden;height:100%;margin:0}</style><body><div style="height:5000px">tall but unscrollable</div>`,
  '/short': `<!doctype html><meta charset="utf-8"><body><p>one screen</p>`,
};

let server: http.Server;
let base: string;
let pool: BrowserPool;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    if (PAGES[url.pathname]) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return void res.end(PAGES[url.pathname]);
    }
    if (url.pathname === '/more') {
      const n = Number(url.searchParams.get('page'));
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      // A slow API: the answer comes after 120 ms.
      return void setTimeout(() => res.end([1, 2, 3, 4, 5].map((i) => ITEM(`${n}-${i}`)).join('')), 120);
    }
    if (url.pathname.startsWith('/img/')) {
      res.writeHead(200, { 'Content-Type': 'image/svg+xml' });
      return void res.end('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><rect width="100" height="100" fill="teal"/></svg>');
    }
    res.writeHead(204);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  pool = new BrowserPool({ chromiumPath: '/usr/bin/chromium', concurrency: 1, logger });
});

afterAll(async () => {
  await pool.close();
  await new Promise((r) => server.close(r));
});

async function settle(pathname: string, opts: Partial<SettleOptions> = {}, after?: (page: Page) => Promise<void>): Promise<SettleResult> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-settle-'));
  const proxy = await RecordingProxy.start({ policy: { allowPrivateNetwork: true }, workDir, maxResourceBytes: 1 << 24, maxTotalBytes: 1 << 26, upstreamProxy: null, logger });
  try {
    return await pool.withContext({ viewport: { width: 1000, height: 800 }, locale: 'en-GB', timezoneId: 'UTC', userAgent: null, proxy: { server: proxy.url, bypass: '<-loopback>' } }, async (context) => {
      const page = await context.newPage();
      await page.goto(`${base}${pathname}`, { waitUntil: 'load' });
      const result = await settlePage(page, proxy, { networkQuietMs: 300, settleTimeoutMs: 8000, maxScrollHeight: 50_000, ...opts });
      await after?.(page);
      return result;
    });
  } finally {
    await proxy.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

describe('settlePage on real Chromium', () => {
  it('walks an infinite feed behind a debounced scroll handler to its end, and returns to the top', async () => {
    let items = 0;
    let scrollY = -1;
    const r = await settle('/feed', {}, async (page) => {
      items = await page.locator('.item').count();
      scrollY = await page.evaluate(() => window.scrollY);
    });
    expect(items).toBe(20);
    expect(hits.get('/more')).toBe(3);
    expect(r).toMatchObject({ settled: true, reachedBottom: true, heightCapped: false, reason: null });
    expect(scrollY).toBe(0);
  });

  it('brings in every lazy image of a long page', async () => {
    for (let i = 1; i <= 6; i++) hits.delete(`/img/${i}.svg`);
    let complete: boolean[] = [];
    const r = await settle('/lazy', {}, async (page) => {
      complete = await page.evaluate(() => Array.from(document.images).map((img) => img.complete && img.naturalWidth > 0));
    });
    for (let i = 1; i <= 6; i++) expect(hits.get(`/img/${i}.svg`), `image ${i}`).toBe(1);
    expect(complete).toEqual([true, true, true, true, true, true]);
    expect(r.settled).toBe(true);
    expect(r.scrollSteps).toBeGreaterThanOrEqual(10);
  });

  it('reports a page that never stops polling as not settled, within its budget', async () => {
    const r = await settle('/busy', { settleTimeoutMs: 1500 });
    expect(r.settled).toBe(false);
    expect(r.reason).toMatch(/network still busy after 1500 ms/);
    expect(r.elapsedMs).toBeLessThan(1500 + 2000);
  });

  it('stops the budget short of the bottom and says where', async () => {
    const r = await settle('/lazy', { settleTimeoutMs: 1 });
    expect(r.settled).toBe(false);
    expect(r.reachedBottom).toBe(false);
    expect(r.reason).toMatch(/ran out before the bottom of the page/);
  });

  it('finishes on a page whose scrolling does not move', async () => {
    const r = await settle('/noscroll');
    expect(r).toMatchObject({ settled: true, reachedBottom: true });
    expect(r.scrollSteps).toBeLessThanOrEqual(1);
  });

  it('does not scroll a page that fits the viewport', async () => {
    const r = await settle('/short');
    expect(r).toMatchObject({ settled: true, reachedBottom: true, scrollSteps: 0 });
  });

  it('stops scrolling at maxScrollHeight and says the page is taller', async () => {
    const r = await settle('/lazy', { maxScrollHeight: 3000 });
    expect(r).toMatchObject({ reachedBottom: true, heightCapped: true });
    expect(r.scrollSteps).toBeLessThanOrEqual(4);
  });
});
