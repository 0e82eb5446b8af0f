import os from 'node:os';
import { importPackage } from '../../evidence/package/import.js';
import { PartnerStore } from '../../evidence/partners.js';
import type { Config } from '../../schemas/config.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { cliOperator, err, out, withServices } from './common.js';

/**
 * Take in a package from a partner agency: verified against that partner's pins alone (refused,
 * naming why, unless verified), kept byte-identical, provenance recorded, `received` on our log.
 */
export async function importCommand(config: Config, zipPath: string, opts: { caseId: string; from: string; operator?: string; json: boolean }): Promise<ExitCode> {
  const partner = await new PartnerStore(config.trust.partnersFile).get(opts.from);
  const operator = cliOperator(opts.operator ?? os.userInfo().username);
  const result = await withServices(config, async (s) =>
    importPackage({
      zipPath,
      caseId: opts.caseId,
      partner,
      ownKeys: (await s.keys.publicKeys()).map((k) => k.fingerprint),
      actor: { type: 'operator', id: operator.name, role: 'prosecutor', osUser: operator.osUser, host: operator.host },
      store: s.store,
      custody: s.custody,
      clock: s.clock,
    }),
  );
  const r = result.record;
  if (opts.json) {
    out(JSON.stringify({ created: result.created, recordKey: result.recordKey, record: r, custodyEvents: result.events.map((e) => e.seq), verdict: result.report.verdict }, null, 2));
  } else {
    if (!result.created) err(`already imported into ${opts.caseId} (${result.recordKey}); nothing new recorded`);
    else err(`received from ${partner.name}: ${r.captures.length} capture(s) of ${r.origin.organization} case ${r.origin.caseId}, verified with ${partner.name}'s pinned keys and TSAs; custody events ${result.events.map((e) => e.seq).join(', ')} on ${opts.caseId}`);
    if (r.share) err(`share ${r.share.shareId}: ${r.share.legalBasis}; TLP:${r.share.tlp.toUpperCase()}${r.share.expires ? `; until ${r.share.expires}` : ''}; ${r.share.withheld} artifact(s) withheld by the sender`);
    out(result.recordKey);
  }
  return EXIT.OK;
}
