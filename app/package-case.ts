import type { BrowserPool } from '../collectors/browser/pool.js';
import { chromiumPdfRenderer } from '../collectors/browser/render-pdf.js';
import { isoUtc } from '../lib/clock.js';
import { childLogger, type Logger } from '../lib/logger.js';
import { caseGraphProduct } from '../analysis/graph-package.js';
import type { CustodyActor } from '../schemas/custody.js';
import { buildPackage, type BuiltPackage, type PackageProgress } from '../evidence/package/build.js';
import type { Services } from '../workers/runtime.js';
import type { ShareSpec } from '../evidence/package/build-share.js';

export interface PackageRequest {
  caseId: string;
  /** Subset of captures; the whole case when absent or empty. */
  captureIds?: string[];
  outPath: string;
  /** The package id recorded on the custody log (e.g. the API's job id); a new one when absent. */
  packageId?: string;
  actor: CustodyActor;
  onProgress?: (p: PackageProgress) => void;
  logger?: Logger;
  /** Also carry one WACZ of every packaged capture's WARCs (data/case.wacz). */
  caseWacz?: boolean;
  /** Build it for a partner agency (withheld artifacts, signed share record, `shared` event). */
  share?: ShareSpec;
  /** Include the case graph (data/analysis/: JSON, GraphML, SVG figure), built from the packaged captures only. */
  graph?: boolean;
}

/**
 * Build a certified package with the services' store, custody log, keys and TSAs, and a Chromium
 * from `browsers` for the certificate PDF. The one wiring of buildPackage that the CLI, the API and
 * the benchmarks share. It lives in app/ because only the faces start a build (no queue runs it) and
 * it joins a browser from collectors with the build in evidence, which evidence may not import.
 */
export function packageCase(s: Services, browsers: BrowserPool, req: PackageRequest): Promise<BuiltPackage> {
  return buildPackage({
    caseId: req.caseId,
    ...(req.captureIds?.length ? { captureIds: req.captureIds } : {}),
    outPath: req.outPath,
    ...(req.packageId ? { packageId: req.packageId } : {}),
    actor: req.actor,
    store: s.store,
    custody: s.custody,
    keys: s.keys,
    headSigning: { tsas: s.config.tsa.urls.map((url) => ({ url })), timestamp: { trustAnchors: s.tsaTrustAnchors, timeoutMs: s.config.tsa.timeoutMs, attempts: s.config.tsa.attempts } },
    tsaCertFiles: s.config.tsa.caFiles,
    renderPdf: chromiumPdfRenderer(browsers),
    clock: s.clock,
    logger: req.logger ?? childLogger(s.logger, 'package'),
    exhibitVersion: s.software.exhibitVersion,
    ...(req.onProgress ? { onProgress: req.onProgress } : {}),
    ...(req.caseWacz ? { caseWacz: true } : {}),
    ...(req.share ? { share: req.share } : {}),
    ...(req.graph ? { analysis: async (ids: string[]) => [await caseGraphProduct(s.store, req.caseId, ids, { builtAt: isoUtc(s.clock.now()), builder: `exhibit ${s.software.exhibitVersion}` })] } : {}),
  });
}
