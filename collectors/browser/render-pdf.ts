import type { BrowserPool } from './pool.js';

/** Same shape as evidence/certificate.ts `RenderPdf` (collectors do not import evidence/). */
export interface ChromiumPdfRenderer {
  (html: string, outPath: string): Promise<void>;
  /** Launch Chromium now, so the launch overlaps the caller's other work instead of delaying the PDF. */
  prepare(): Promise<void>;
}

/**
 * Render our own certificate HTML to PDF with Chromium. The HTML embeds captured text and images
 * (escaped by its author) so it is treated as untrusted anyway: JavaScript off, offline (images
 * must be data: URIs), a fresh context thrown away afterwards.
 */
export function chromiumPdfRenderer(browsers: BrowserPool): ChromiumPdfRenderer {
  const render = async (html: string, outPath: string) => {
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
        // Page numbers come from the document's own @page margin boxes: Chromium lays out a
        // header/footer template once per page, which for a certificate of many pages costs more.
        displayHeaderFooter: false,
        margin: { top: '14mm', bottom: '16mm', left: '12mm', right: '12mm' },
      });
    } finally {
      await context.close();
    }
  };
  return Object.assign(render, {
    prepare: async () => {
      await browsers.browserInstance();
    },
  });
}
