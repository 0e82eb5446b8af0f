import { verifyPackage } from '../../evidence/package/verify.js';
import { flagAnchors, localAnchors, mergeAnchors } from '../../evidence/trust.js';
import { anchorSourceLabel } from '../../evidence/package/check-trust.js';
import type { Config } from '../../schemas/config.js';
import type { PackageReport } from '../../schemas/custody.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { err, out } from './common.js';

export interface VerifyCliOptions {
  json: boolean;
  /** `--tsa-ca` files (PEM or DER). */
  trustAnchorFiles?: string[];
  /** `--signing-key` values: `sha256:<hex>` or public key PEM files. */
  signingKeys?: string[];
  /** The deployment whose trust store, own keys and TSA CAs count as pinned; absent: flags only. */
  local?: Config;
}

/** Exit code of a verdict: 0 verified, 10 UNAUTHENTICATED, 8 INTEGRITY. */
export function verdictExitCode(report: PackageReport): ExitCode {
  return report.verdict === 'verified' ? EXIT.OK : report.verdict === 'unauthenticated' ? EXIT.UNAUTHENTICATED : EXIT.INTEGRITY;
}

/**
 * Verify a package offline (no Redis, no store). Keys and CA certificates in the package are never
 * trusted: anchors come from the flags, the local trust store and this deployment's own keys and
 * TSA CAs. Exit 0 only when verified AND authenticated; 10 when consistent but not authenticated;
 * 8 when a check failed.
 */
export async function verifyAndReport(source: string, opts: VerifyCliOptions): Promise<ExitCode> {
  const anchors = mergeAnchors(
    await flagAnchors({ signingKeys: opts.signingKeys, tsaCaFiles: opts.trustAnchorFiles }),
    ...(opts.local ? [await localAnchors({ trustFile: opts.local.trust.file, keysDir: opts.local.keys.dir, tsaCaFiles: opts.local.tsa.caFiles })] : []),
  );
  const report = await verifyPackage(source, { anchors });
  if (opts.json) {
    out(JSON.stringify(report, null, 2));
  } else {
    const byCheck = new Map<string, number>();
    for (const c of report.checks) if (c.ok) byCheck.set(c.check, (byCheck.get(c.check) ?? 0) + 1);
    out(`Verifying ${report.source}`);
    out(`  case ${report.caseId ?? '?'}; ${report.captureIds.length} capture(s); ${report.custodyEvents} custody events`);
    if (report.share) {
      const sh = report.share;
      out(`  shared by ${sh.from} with ${sh.to}; ${sh.tlp}; legal basis: ${sh.legalBasis}; ${sh.expires ? `until ${sh.expires}${sh.expired ? ' (EXPIRED)' : ''}` : 'no expiry'}`);
      for (const w of sh.withheld) out(`  withheld by the sender: ${w.captureId} ${w.name} (${w.role}, ${w.size} bytes, ${w.sha256})`);
    }
    for (const h of report.handOvers ?? []) {
      out(`${'  '.repeat(h.depth)}received from ${h.from} (${h.originOrganization}, case ${h.originCaseId}, custody head ${h.originHead.seq}, ${h.custodyEvents} events): ${h.verdict}; handed over at event(s) ${h.receivedEvents.join(', ') || 'none'}`);
    }
    for (const [check, n] of [...byCheck.entries()].sort()) out(`  ✓ ${check} (${n})`);
    for (const f of report.failures) out(`  ✗ ${f.item}: ${f.check}: ${f.message}`);
    for (const line of report.trust.summary.split('\n').slice(1)) out(`  ${line}`);
    const pinnedBy = [...new Set([...report.trust.signingKeys, ...report.trust.tsaRoots].filter((x) => x.pinned).map((x) => x.source))];
    if (report.verdict === 'verified') {
      out(`VERIFIED: all ${report.checks.length} checks passed; signer and TSA authenticated (pinned: ${pinnedBy.map((s) => anchorSourceLabel(s)).join(', ')})`);
    } else if (report.verdict === 'unauthenticated') {
      const unpinned = [report.trust.signingKeys.some((k) => !k.pinned) ? 'the signing key' : null, report.trust.tsaRoots.some((t) => !t.pinned) ? 'the TSA root' : null].filter(Boolean);
      const what = unpinned.length ? `${unpinned.join(' and ')} ${unpinned.length > 1 ? 'are' : 'is'}` : 'its signer is';
      out(`UNAUTHENTICATED: all ${report.checks.length} checks passed, so the package is internally consistent, but ${what} not pinned: it is not shown to come from who it claims. Confirm the fingerprints above out of band and pin them.`);
    } else {
      out(`NOT VERIFIED: ${report.failures.length} of ${report.checks.length} checks failed`);
    }
  }
  if (report.verdict === 'failed' && !opts.json) err('exhibit: the package does not verify');
  return verdictExitCode(report);
}
