/**
 * The bare Playwright baseline: what a capture costs with nothing of Exhibit around it. Same
 * Chromium, same flags, same viewport; per capture: new context, goto (`load`), full-page PNG,
 * `content()`, close. Imports nothing of Exhibit but its Chromium flags (collectors/browser/chromium-args.ts,
 * a module without imports), so its process measures Playwright alone.
 */
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../collectors/browser/chromium-args.js';
import type { ChildIO } from '../lib/child-io.js';

export interface BareParams {
  url: string;
  chromiumPath: string;
  viewport: { width: number; height: number };
}

async function launch(p: BareParams): Promise<Browser> {
  return chromium.launch({ executablePath: p.chromiumPath, args: [...CHROMIUM_ARGS], timeout: 60_000 });
}

/** One bare capture; resolves with the PNG and HTML sizes (so nothing is optimised away). */
export async function bareCapture(browser: Browser, p: BareParams): Promise<{ png: number; html: number }> {
  const context = await browser.newContext({ viewport: p.viewport, deviceScaleFactor: 1 });
  try {
    const page = await context.newPage();
    await page.goto(p.url, { waitUntil: 'load', timeout: 60_000 });
    const png = await page.screenshot({ type: 'png', fullPage: true });
    const html = await page.content();
    return { png: png.length, html: html.length };
  } finally {
    await context.close();
  }
}

/** Latency: `runs` sequential captures after `warmup` unmeasured ones; ms per capture. */
export async function bareLatency(p: BareParams & { runs: number; warmup: number }, io: ChildIO): Promise<{ samplesMs: number[]; pngBytes: number; htmlBytes: number; browserVersion: string }> {
  const browser = await launch(p);
  try {
    let last = { png: 0, html: 0 };
    for (let i = 0; i < p.warmup; i++) last = await bareCapture(browser, p);
    const samplesMs: number[] = [];
    io.mark('start');
    for (let i = 0; i < p.runs; i++) {
      const t0 = performance.now();
      last = await bareCapture(browser, p);
      samplesMs.push(performance.now() - t0);
      io.progress(i + 1, p.runs);
    }
    io.mark('end');
    return { samplesMs, pngBytes: last.png, htmlBytes: last.html, browserVersion: browser.version() };
  } finally {
    await browser.close();
  }
}

/** Throughput: `n` captures with `concurrency` at once (one browser, one context per capture). */
export async function bareThroughput(p: BareParams & { n: number; concurrency: number; warmup: number }, io: ChildIO): Promise<{ elapsedMs: number; ok: number; failed: number; errors: string[] }> {
  const browser = await launch(p);
  try {
    for (let i = 0; i < p.warmup; i++) await bareCapture(browser, p);
    let next = 0;
    let ok = 0;
    let failed = 0;
    const errors: string[] = [];
    io.mark('start');
    const t0 = performance.now();
    const lane = async (): Promise<void> => {
      while (next < p.n) {
        next += 1;
        try {
          await bareCapture(browser, p);
          ok += 1;
        } catch (err) {
          failed += 1;
          if (errors.length < 5) errors.push((err as Error).message.split('\n')[0]!);
        }
        io.progress(ok + failed, p.n);
      }
    };
    await Promise.all(Array.from({ length: p.concurrency }, lane));
    const elapsedMs = performance.now() - t0;
    io.mark('end');
    return { elapsedMs, ok, failed, errors };
  } finally {
    await browser.close();
  }
}
