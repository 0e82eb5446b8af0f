/**
 * A Chromium-backed `RenderPdf` for tests: the same renderer the CLI uses, on its own browser pool.
 */
import { BrowserPool } from '../../collectors/browser/pool.js';
import { chromiumPdfRenderer } from '../../collectors/browser/render-pdf.js';
import type { RenderPdf } from '../../evidence/package/certificate.js';
import { createLogger } from '../../lib/logger.js';

/** A renderer with its own browser; `close()` when done. */
export async function startPdfRenderer(executablePath = process.env.EXHIBIT_CHROMIUM ?? '/usr/bin/chromium'): Promise<{ renderPdf: RenderPdf; close(): Promise<void> }> {
  const pool = new BrowserPool({ chromiumPath: executablePath, concurrency: 1, logger: createLogger('warn') });
  return { renderPdf: chromiumPdfRenderer(pool), close: () => pool.close() };
}
