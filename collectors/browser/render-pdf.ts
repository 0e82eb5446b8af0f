import type { BrowserPool } from './pool.js';

/**
 * Render our own certificate HTML to PDF with Chromium. The HTML embeds captured text and images
 * (escaped by its author), so it is treated as untrusted anyway: JavaScript off, every network
 * request refused (images must be data: URIs), a fresh context that is thrown away afterwards.
 */
export function chromiumPdfRenderer(browsers: BrowserPool): (html: string, outPath: string) => Promise<void> {
  return async (html, outPath) => {
    await browsers.withContext({ viewport: { width: 1240, height: 1754 }, locale: 'en-GB', timezoneId: 'UTC', userAgent: null }, async (context) => {
      await context.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort('blockedbyclient')));
      const page = await context.newPage();
      await page.setContent(html, { waitUntil: 'load', timeout: 60_000 });
      await page.emulateMedia({ media: 'print' });
      await page.pdf({ path: outPath, format: 'A4', printBackground: true, margin: { top: '16mm', bottom: '16mm', left: '14mm', right: '14mm' } });
    });
  };
}
