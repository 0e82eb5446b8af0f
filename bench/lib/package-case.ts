/**
 * What `exhibit package <case>` runs (app/commands/package.ts `packageCase`), wired the same way:
 * the case's services, a one-context Chromium pool for the certificate PDF, buildPackage. Kept here
 * because nothing may import app/; it also records when each phase started, for the breakdown.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { BrowserPool } from '../../collectors/browser/pool.js';
import { chromiumPdfRenderer } from '../../collectors/browser/render-pdf.js';
import { childLogger, createLogger } from '../../lib/logger.js';
import type { Config } from '../../schemas/config.js';
import { buildPackage, type BuiltPackage, type PackageProgress } from '../../evidence/package.js';
import { openServices } from '../../workers/runtime.js';

export async function packageCaseLikeCli(config: Config, caseId: string, outPath: string, operator: string): Promise<{ built: BuiltPackage; phasesMs: Partial<Record<PackageProgress['phase'], number>> }> {
  const out = path.resolve(outPath);
  if (existsSync(out)) throw new Error(`${out} already exists`);
  mkdirSync(path.dirname(out), { recursive: true });
  const t0 = performance.now();
  const phasesMs: Partial<Record<PackageProgress['phase'], number>> = {};
  const s = await openServices(config, createLogger('warn'));
  try {
    const browsers = BrowserPool.fromConfig({ ...config.capture, concurrency: 1 }, childLogger(s.logger, 'browser'));
    try {
      const built = await buildPackage({
        caseId,
        outPath: out,
        actor: { type: 'operator', id: operator, role: 'prosecutor' },
        store: s.store,
        custody: s.custody,
        keys: s.keys,
        headSigning: { tsas: config.tsa.urls.map((url) => ({ url })), timestamp: { trustAnchors: s.tsaTrustAnchors, timeoutMs: config.tsa.timeoutMs, attempts: config.tsa.attempts } },
        tsaCertFiles: config.tsa.caFiles,
        renderPdf: chromiumPdfRenderer(browsers),
        clock: s.clock,
        logger: childLogger(s.logger, 'package'),
        exhibitVersion: s.software.exhibitVersion,
        onProgress: (p) => {
          phasesMs[p.phase] ??= performance.now() - t0;
        },
      });
      return { built, phasesMs };
    } finally {
      await browsers.close();
    }
  } finally {
    await s.close();
  }
}
