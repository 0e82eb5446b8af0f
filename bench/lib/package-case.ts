/**
 * What `exhibit package <case>` runs (app/package-case.ts `packageCase` on the case's services and a
 * one-context Chromium pool), recording when each phase started, for the breakdown.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { BrowserPool } from '../../collectors/browser/pool.js';
import { childLogger, createLogger } from '../../lib/logger.js';
import type { Config } from '../../schemas/config.js';
import type { BuiltPackage, PackageProgress } from '../../evidence/package/build.js';
import { packageCase } from '../../app/package-case.js';
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
      const built = await packageCase(s, browsers, {
        caseId,
        outPath: out,
        actor: { type: 'operator', id: operator, role: 'prosecutor' },
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
