/**
 * Set-up for sharing between agencies: each deployment an EvidenceEnv (its own state dir, store,
 * keys, TSA and Redis prefix); `share` builds a package from one for a partner, as `exhibit share`.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { buildPackage, type BuiltPackage } from '../../evidence/package/build.js';
import type { ShareSpec } from '../../evidence/package/build-share.js';
import { PROSECUTOR, type EvidenceEnv } from './evidence-env.js';

export async function sharePackage(env: EvidenceEnv, caseId: string, spec: Partial<ShareSpec> & { partnerKeys: string[] }, opts: { captureIds?: string[]; name?: string; organization?: string } = {}): Promise<BuiltPackage> {
  return buildPackage({
    caseId,
    ...(opts.captureIds ? { captureIds: opts.captureIds } : {}),
    outPath: path.join(env.dir, `${opts.name ?? `${caseId}-share-${randomUUID().slice(0, 8)}`}.zip`),
    actor: PROSECUTOR,
    store: env.store, custody: env.custody, keys: env.keys,
    headSigning: { tsas: env.tsas, timestamp: env.timestamp },
    tsaCertFiles: [env.tsa.caCertPath],
    renderPdf: env.renderPdf, clock: env.clock,
    organization: opts.organization ?? 'Agency A',
    exhibitVersion: '0.1.0-test',
    share: { partner: 'agency-b', legalBasis: 'MLA request 2026/42 under the bilateral treaty', tlp: 'amber', expires: '2027-06-30', withhold: [], ...spec },
  });
}
