import os from 'node:os';
import path from 'node:path';
import { BrowserPool } from '../../collectors/browser/pool.js';
import { childLogger } from '../../lib/logger.js';
import type { Config } from '../../schemas/config.js';
import type { BuiltPackage } from '../../evidence/package/build.js';
import { packageCase as buildCasePackage } from '../package-case.js';
import type { ShareSpec } from '../../evidence/package/build-share.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { progressView } from '../progress.js';
import { cliOperator, err, out, withServices } from './common.js';
import { usableOutputPath, writeErrorsAsInput } from './output-path.js';

export interface PackageCliOptions {
  captureIds?: string[];
  share?: ShareSpec;
  outPath: string;
  operator: string;
  quiet: boolean;
  /** Also carry one WACZ of the whole case (data/case.wacz). */
  caseWacz?: boolean;
  /** Include the case graph (data/analysis/). */
  graph?: boolean;
}

/** Build a certified package (BagIt zip) of a case or of chosen captures; recorded as a custody event. */
export async function packageCase(config: Config, caseId: string, opts: PackageCliOptions): Promise<BuiltPackage> {
  const outPath = path.resolve(opts.outPath);
  usableOutputPath(outPath);
  return withServices(config, async (s) => {
    const browsers = BrowserPool.fromConfig({ ...config.capture, concurrency: 1 }, childLogger(s.logger, 'browser'));
    const view = opts.quiet ? null : progressView();
    try {
      return await writeErrorsAsInput(outPath, () => buildCasePackage(s, browsers, {
        caseId,
        captureIds: opts.captureIds,
        outPath,
        ...(opts.caseWacz ? { caseWacz: true } : {}),
        graph: Boolean(opts.graph),
        actor: ((o) => ({ type: 'operator' as const, id: o.name, role: 'prosecutor', osUser: o.osUser, host: o.host }))(cliOperator(opts.operator)),
        ...(opts.share ? { share: opts.share } : {}),
        onProgress: (p) => view?.update(caseId, p.bytesTotal ? (100 * p.bytesDone) / p.bytesTotal : 0, p.phase, p.detail ?? undefined),
      }));
    } finally {
      view?.stop();
      await browsers.close();
    }
  });
}

export async function packageCommand(config: Config, caseId: string, opts: { captureIds?: string[]; out?: string; operator?: string; json: boolean; caseWacz?: boolean; graph?: boolean }): Promise<ExitCode> {
  const built = await packageCase(config, caseId, {
    captureIds: opts.captureIds,
    caseWacz: Boolean(opts.caseWacz),
    graph: Boolean(opts.graph),
    outPath: opts.out ?? `${caseId}.zip`,
    operator: opts.operator ?? os.userInfo().username,
    quiet: opts.json,
  });
  if (opts.json) {
    out(JSON.stringify({ path: built.path, packageId: built.packageId, sealed: built.sealed, unsealedReason: built.unsealedReason, sha256: built.sha256, size: built.size, captureIds: built.captureIds, omitted: built.omitted, contentManifestDigest: built.contentManifestDigest, headSeq: built.headSeq, custodyEvent: built.event.seq }, null, 2));
  } else {
    for (const o of built.omitted) err(`left out: sealed capture ${o.captureId}: ${o.reason} (named in the package's content manifest)`);
    if (built.sealed) err(`packaged ${built.captureIds.length} capture(s) of ${caseId}; recorded as custody event ${built.event.seq}, covered by custody head ${built.headSeq}, signed and timestamped; package sealed`);
    else err(`UNSEALED: the package was written but is NOT sealed and will not verify: ${built.unsealedReason}. Package again when a TSA answers.`);
    err(`package ${built.sha256}  ${built.size} bytes`);
    out(built.path);
  }
  // A package that cannot be verified is not a success, even though the file exists.
  return built.sealed ? EXIT.OK : EXIT.UNSEALED;
}
