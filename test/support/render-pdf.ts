/**
 * A Chromium-backed `RenderPdf` for tests (evidence/ takes the renderer injected and never imports
 * Playwright). Launches /usr/bin/chromium headless with the project's standard flags.
 */
import { chromium, type Browser } from 'playwright-core';
import type { RenderPdf } from '../../evidence/certificate.js';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A renderer with its own browser; `close()` when done. */
export async function startPdfRenderer(executablePath = process.env.EXHIBIT_CHROMIUM ?? '/usr/bin/chromium'): Promise<{ renderPdf: RenderPdf; close(): Promise<void> }> {
  const browser: Browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  const renderPdf: RenderPdf = async (html, outPath) => {
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
    try {
      const page = await context.newPage();
      await page.setContent(html, { waitUntil: 'load' });
      await page.pdf({ path: outPath, format: 'A4', printBackground: true, margin: { top: '12mm', bottom: '12mm', left: '10mm', right: '10mm' } });
    } finally {
      await context.close();
    }
  };
  return { renderPdf, close: () => browser.close() };
}
