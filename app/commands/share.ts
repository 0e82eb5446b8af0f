import os from 'node:os';
import { PartnerStore } from '../../evidence/partners.js';
import { PermanentError } from '../../lib/errors.js';
import type { Config } from '../../schemas/config.js';
import { Tlp } from '../../schemas/share.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { err, out } from './common.js';
import { packageCase } from './package.js';

export interface ShareCliOptions {
  to: string;
  captureIds?: string[];
  withhold?: string[];
  legalBasis: string;
  tlp?: string;
  expires?: string;
  out?: string;
  operator?: string;
  json: boolean;
}

/** `--expires`: a real calendar date (YYYY-MM-DD), not already past. */
function expiryDate(v: string | undefined, today: string): string | null {
  if (v === undefined) return null;
  const d = new Date(`${v}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v) throw new PermanentError('INVALID_INPUT', `--expires ${JSON.stringify(v)}: expected a date YYYY-MM-DD`);
  if (v < today) throw new PermanentError('INVALID_INPUT', `--expires ${v} is already past`);
  return v;
}

/**
 * Build a package for a partner agency: a certified package of the chosen captures (custody
 * elided to them), artifacts withheld as asked, and a signed share record; `shared` on our log.
 */
export async function shareCommand(config: Config, caseId: string, opts: ShareCliOptions): Promise<ExitCode> {
  if (!opts.legalBasis.trim()) throw new PermanentError('INVALID_INPUT', '--legal-basis is required: the MLA request, treaty or agreement the transfer rests on');
  const tlp = Tlp.safeParse((opts.tlp ?? 'amber').toLowerCase().replace(/^tlp:/, ''));
  if (!tlp.success) throw new PermanentError('INVALID_INPUT', `--tlp ${opts.tlp}: one of ${Tlp.options.join(', ')} (TLP 2.0)`);
  const expires = expiryDate(opts.expires, new Date().toISOString().slice(0, 10));
  const partner = await new PartnerStore(config.trust.partnersFile).get(opts.to);
  const built = await packageCase(config, caseId, {
    ...(opts.captureIds?.length ? { captureIds: opts.captureIds } : {}),
    outPath: opts.out ?? `${caseId}-to-${partner.name}.zip`,
    operator: opts.operator ?? os.userInfo().username,
    quiet: opts.json,
    share: { partner: partner.name, partnerKeys: partner.signingKeys, legalBasis: opts.legalBasis.trim(), tlp: tlp.data, expires, withhold: opts.withhold ?? [] },
  });
  const share = built.share!;
  if (opts.json) {
    out(JSON.stringify({ path: built.path, sha256: built.sha256, size: built.size, sealed: built.sealed, unsealedReason: built.unsealedReason, packageId: built.packageId, shareId: share.record.shareId, shareRecordDigest: share.digest, sharedEvent: share.event.seq, headSeq: built.headSeq, partner: partner.name, tlp: share.record.tlp, expires: share.record.expires, captureIds: built.captureIds, withheld: share.record.withheld }, null, 2));
  } else {
    for (const w of share.record.withheld) err(`withheld: ${w.captureId} ${w.name} (${w.role}, ${w.size} bytes, ${w.sha256}): ${w.reason}`);
    if (built.sealed) err(`shared ${built.captureIds.length} capture(s) of ${caseId} with ${partner.name} (TLP:${share.record.tlp.toUpperCase()}${share.record.expires ? `, until ${share.record.expires}` : ''}); recorded as custody event ${share.event.seq}; package sealed`);
    else err(`UNSEALED: the package was written but is NOT sealed and will not verify: ${built.unsealedReason}`);
    err(`package ${built.sha256}  ${built.size} bytes`);
    out(built.path);
  }
  return built.sealed ? EXIT.OK : EXIT.UNSEALED;
}
