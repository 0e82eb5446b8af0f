import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BrowserPool } from '../../collectors/browser/pool.js';
import { childLogger } from '../../lib/logger.js';
import { PermanentError } from '../../lib/errors.js';
import type { Config } from '../../schemas/config.js';
import type { BuiltPackage } from '../../evidence/package.js';
import { packageCase as buildCasePackage } from '../../workers/package.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { progressView } from '../progress.js';
import { cliOperator, err, out, withServices } from './common.js';

export interface PackageCliOptions {
  captureIds?: string[];
  outPath: string;
  operator: string;
  quiet: boolean;
}

/** Build a certified package (BagIt zip) of a case or of chosen captures; recorded as a custody event. */
export async function packageCase(config: Config, caseId: string, opts: PackageCliOptions): Promise<BuiltPackage> {
  const outPath = path.resolve(opts.outPath);
  if (existsSync(outPath)) throw new PermanentError('INVALID_INPUT', `${outPath} already exists: packages are never overwritten; choose another -o path`);
  mkdirSync(path.dirname(outPath), { recursive: true });
  return withServices(config, async (s) => {
    const browsers = BrowserPool.fromConfig({ ...config.capture, concurrency: 1 }, childLogger(s.logger, 'browser'));
    const view = opts.quiet ? null : progressView();
    try {
      return await buildCasePackage(s, browsers, {
        caseId,
        captureIds: opts.captureIds,
        outPath,
        actor: ((o) => ({ type: 'operator' as const, id: o.name, role: 'prosecutor', osUser: o.osUser, host: o.host }))(cliOperator(opts.operator)),
        onProgress: (p) => view?.update(caseId, p.bytesTotal ? (100 * p.bytesDone) / p.bytesTotal : 0, p.phase, p.detail ?? undefined),
      });
    } finally {
      view?.stop();
      await browsers.close();
    }
  });
}

export async function packageCommand(config: Config, caseId: string, opts: { captureIds?: string[]; out?: string; operator?: string; json: boolean }): Promise<ExitCode> {
  const built = await packageCase(config, caseId, {
    captureIds: opts.captureIds,
    outPath: opts.out ?? `${caseId}.zip`,
    operator: opts.operator ?? os.userInfo().username,
    quiet: opts.json,
  });
  if (opts.json) {
    out(JSON.stringify({ path: built.path, sha256: built.sha256, size: built.size, captureIds: built.captureIds, headSeq: built.headSeq, custodyEvent: built.event.seq }, null, 2));
  } else {
    err(`packaged ${built.captureIds.length} capture(s) of ${caseId}; custody head ${built.headSeq} signed; packaging recorded as custody event ${built.event.seq}`);
    err(`package ${built.sha256}  ${built.size} bytes`);
    out(built.path);
  }
  return EXIT.OK;
}
