import type { BrowserPool } from './pool.js';

/**
 * Render our own certificate HTML to PDF with Chromium. The HTML embeds captured text and images
 * (escaped by its author) so it is treated as untrusted anyway: JavaScript off, offline (images
 * must be data: URIs), a fresh context thrown away afterwards.
 */
export function chromiumPdfRenderer(browsers: BrowserPool): (html: string, outPath: string) => Promise<void> {
  return async (html, outPath) => {
    const browser = await browsers.browserInstance();
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true, serviceWorkers: 'block', acceptDownloads: false });
    try {
      const page = await context.newPage();
      await page.setContent(html, { waitUntil: 'load', timeout: 60_000 });
      await page.emulateMedia({ media: 'print' });
      await page.pdf({
        path: outPath,
        format: 'A4',
        printBackground: true,
        displayHeaderFooter: true,
        headerTemplate: '<span></span>',
        footerTemplate: '<div style="font-size:7pt;width:100%;text-align:center;color:#555">Page <span class="pageNumber"></span> of <span class="totalPages"></span></div>',
        margin: { top: '14mm', bottom: '16mm', left: '12mm', right: '12mm' },
      });
    } finally {
      await context.close();
    }
  };
}
