import { readFile } from 'node:fs/promises';
import { verifyPackage } from '../../evidence/verify.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { err, out } from './common.js';

/**
 * Verify a package offline (nothing of ours is trusted but this code; no Redis, no store).
 * Exit 0 only if every check passed; otherwise INTEGRITY, naming each failing item.
 */
export async function verifyAndReport(source: string, opts: { json: boolean; trustAnchorFiles?: string[]; signingKeys?: string[] }): Promise<ExitCode> {
  const trustAnchors = opts.trustAnchorFiles?.length ? await Promise.all(opts.trustAnchorFiles.map((f) => readFile(f, 'utf8'))) : undefined;
  const report = await verifyPackage(source, { ...(trustAnchors ? { trustAnchors } : {}), ...(opts.signingKeys?.length ? { signingKeys: opts.signingKeys } : {}) });
  if (opts.json) {
    out(JSON.stringify(report, null, 2));
  } else {
    const byCheck = new Map<string, number>();
    for (const c of report.checks) if (c.ok) byCheck.set(c.check, (byCheck.get(c.check) ?? 0) + 1);
    out(`Verifying ${report.source}`);
    out(`  case ${report.caseId ?? '?'}; ${report.captureIds.length} capture(s); ${report.custodyEvents} custody events; TSA trust anchors from the ${report.trustAnchors === 'package' ? 'package itself (pin your own with --tsa-ca)' : 'files you pinned'}`);
    for (const [check, n] of [...byCheck.entries()].sort()) out(`  ✓ ${check} (${n})`);
    for (const f of report.failures) out(`  ✗ ${f.item}: ${f.check}: ${f.message}`);
    out(report.ok ? `VERIFIED: all ${report.checks.length} checks passed` : `NOT VERIFIED: ${report.failures.length} of ${report.checks.length} checks failed`);
  }
  if (!report.ok && !opts.json) err('exhibit: the package does not verify');
  return report.ok ? EXIT.OK : EXIT.INTEGRITY;
}
