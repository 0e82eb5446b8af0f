/**
 * Taking in a package from a partner agency (`exhibit import`). The package is copied to a private
 * file first (so what is verified is what is stored), verified against that partner's pins alone,
 * and refused — naming each failing item — unless the verdict is `verified`; a share meant for
 * another agency, or past its expiry, is refused too. Then it is kept byte-identical: the zip itself
 * and, per capture, its signed manifest, signature, tokens and artifacts (never re-signed), with an
 * import record of the provenance (partner, origin organisation, case and capture ids, the origin's
 * signed head, the package digest), and one `received` custody event per capture on the local log.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { isoUtc, type Clock } from '../../lib/clock.js';
import { IntegrityError, PermanentError } from '../../lib/errors.js';
import type { CustodyActor, CustodyEvent, PackageReport } from '../../schemas/custody.js';
import { StoredCaptureManifest } from '../../schemas/manifest.js';
import { ImportRecord } from '../../schemas/share.js';
import type { Partner } from '../../schemas/trust.js';
import { canonicalBytes, sha256Digest } from '../canonical.js';
import type { CustodyLog } from '../custody.js';
import { hashFile } from '../hash-file.js';
import { partnerAnchors } from '../partners.js';
import type { EvidenceStore } from '../store.js';
import { parseBagInfo } from './bag-files.js';
import { bagPaths } from './layout.js';
import { verifyPackage } from './verify.js';
import { openZipBag, RETAIN_ENTRY_BYTES } from './zip-reader.js';

export interface ImportOptions {
  zipPath: string;
  /** The local case the captures join. */
  caseId: string;
  partner: Partner;
  /** This deployment's signing keys: a share that names its recipients must name one of them. */
  ownKeys: string[];
  actor: CustodyActor;
  store: EvidenceStore;
  custody: CustodyLog;
  clock: Clock;
  /** What the zip's entries may add up to when inflated (an upload's bound); 256 GiB when absent. */
  maxTotalBytes?: number;
}

export interface ImportResult {
  record: ImportRecord;
  recordKey: string;
  /** False when this package had already been taken into this case (nothing new was recorded). */
  created: boolean;
  report: PackageReport;
  events: CustodyEvent[];
}

export const receivedKeys = {
  dir: (caseId: string) => `cases/${caseId}/received/`,
  record: (caseId: string, sha256: string) => `cases/${caseId}/received/${sha256.replace(/^sha256:/, '')}/record.json`,
  file: (caseId: string, sha256: string, bagPath: string) => `cases/${caseId}/received/${sha256.replace(/^sha256:/, '')}/${bagPath}`,
} as const;

/** Why a package is refused, naming each failing item (the first 20). */
function refusal(report: PackageReport, partner: Partner): string | null {
  if (report.verdict === 'failed') {
    const items = report.failures.slice(0, 20).map((f) => `${f.item}: ${f.check}: ${f.message}`);
    return `it does not verify (${report.failures.length} failing check(s)): ${items.join('; ')}${report.failures.length > 20 ? '; …' : ''}`;
  }
  if (report.verdict === 'unauthenticated') {
    const keys = report.trust.signingKeys.filter((k) => !k.pinned).map((k) => `signing key ${k.fingerprint}`);
    const roots = report.trust.tsaRoots.filter((k) => !k.pinned).map((k) => `TSA root ${k.fingerprint}${k.subject ? ` (${k.subject})` : ''}`);
    return `it is consistent but not by partner ${partner.name}'s pinned keys and TSAs: ${[...keys, ...roots].join(', ')} ${keys.length + roots.length === 1 ? 'is' : 'are'} not pinned for ${partner.name}`;
  }
  return null;
}

export async function importPackage(opts: ImportOptions): Promise<ImportResult> {
  const { store, caseId, partner } = opts;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'exhibit-import-'));
  try {
    const copy = path.join(tmp, 'package.zip');
    await copyFile(opts.zipPath, copy);
    const digests = await hashFile(copy);
    const recordKey = receivedKeys.record(caseId, digests.sha256);
    if (await store.stat(recordKey)) {
      const record = ImportRecord.parse(JSON.parse((await store.getBytes(recordKey)).toString('utf8')));
      const report = await verifyPackage(copy, { anchors: partnerAnchors(partner), clock: opts.clock, ...(opts.maxTotalBytes ? { maxTotalBytes: opts.maxTotalBytes } : {}) });
      return { record, recordKey, created: false, report, events: [] };
    }
    const report = await verifyPackage(copy, { anchors: partnerAnchors(partner), clock: opts.clock, ...(opts.maxTotalBytes ? { maxTotalBytes: opts.maxTotalBytes } : {}) });
    const why = refusal(report, partner);
    const name = path.basename(opts.zipPath);
    if (why) throw new IntegrityError(report.verdict === 'failed' ? 'PACKAGE_INVALID' : 'UNAUTHENTICATED', `refusing ${name} from ${partner.name}: ${why}`);
    const share = report.share ?? null;
    if (share?.expired) throw new PermanentError('INVALID_INPUT', `refusing ${name} from ${partner.name}: the share expired on ${share.expires}`);
    if (share && share.recipientKeys.length && !share.recipientKeys.some((k) => opts.ownKeys.includes(k))) {
      throw new IntegrityError('UNAUTHENTICATED', `refusing ${name} from ${partner.name}: the share record names recipient ${share.to} with key(s) ${share.recipientKeys.join(', ')}, none of them this deployment's`);
    }
    const zip = await openZipBag(copy, { maxTotalBytes: opts.maxTotalBytes ?? 256 * 1024 ** 3, maxEntries: 200_000, retainEntryBytes: RETAIN_ENTRY_BYTES });
    try {
      const bag = zip.bag!;
      const info = parseBagInfo((await bag.read(bagPaths.bagInfo)).toString('utf8'));
      const [headSeq, headHash] = (info.get('Exhibit-Custody-Head')?.[0] ?? '').split(' ');
      const stored = await store.putFile(copy, { expectSha256: digests.sha256, contentType: 'application/zip' });
      const captures: ImportRecord['captures'] = [];
      for (const captureId of report.captureIds) {
        const files: ImportRecord['captures'][number]['files'] = [];
        const manifestBytes = await bag.read(bagPaths.captureManifest(captureId));
        const manifest = StoredCaptureManifest.parse(JSON.parse(manifestBytes.toString('utf8')));
        for (const p of bag.files.filter((f) => f.startsWith(bagPaths.captureDir(captureId)))) {
          const bytes = await bag.read(p);
          const isArtifact = manifest.artifacts.some((a) => bagPaths.artifact(captureId, a) === p);
          // Artifacts join the content-addressed store; the manifest, signature and tokens are kept as received.
          const storeKey = isArtifact ? (await store.putBytes(bytes)).key : receivedKeys.file(caseId, digests.sha256, p);
          if (!isArtifact) await store.putRecord(storeKey, bytes, { contentType: 'application/octet-stream' });
          files.push({ path: p, sha256: sha256Digest(bytes), size: bytes.length, storeKey });
        }
        captures.push({ captureId, manifestDigest: sha256Digest(manifestBytes), files });
      }
      const record = ImportRecord.parse({
        schemaVersion: 'exhibit.import-record/1',
        caseId,
        receivedAt: isoUtc(opts.clock.now()),
        receivedBy: `${opts.actor.id} (${opts.actor.role})`,
        partner: { name: partner.name, signingKeys: partner.signingKeys, tsaRoots: partner.tsaCas.map((c) => c.fingerprint) },
        package: { sha256: digests.sha256, sha512: digests.sha512, size: digests.size, packageId: info.get('Exhibit-Package-Id')?.[0], storeKey: stored.key },
        origin: {
          organization: info.get('Source-Organization')?.[0] ?? 'unknown',
          caseId: report.caseId,
          head: { seq: Number(headSeq), hash: headHash },
          signingKeys: report.trust.signingKeys.map((k) => k.fingerprint),
        },
        share: share ? { shareId: share.shareId, legalBasis: share.legalBasis, tlp: share.tlp.replace(/^TLP:/, '').toLowerCase(), expires: share.expires, withheld: share.withheld.length } : null,
        captures,
      });
      const recordBytes = canonicalBytes(record);
      await store.putRecord(recordKey, recordBytes, { contentType: 'application/json' });
      const recordDigest = sha256Digest(recordBytes);
      const appended = await opts.custody.appendAll(
        captures.map((c) => ({
          caseId,
          actor: opts.actor,
          action: 'received' as const,
          subject: { captureId: c.captureId, digests: [c.manifestDigest] },
          details: {
            from: partner.name, partnerKeys: partner.signingKeys, packageSha256: digests.sha256, packageId: record.package.packageId, shareId: record.share?.shareId ?? null,
            originOrganization: record.origin.organization, originCaseId: record.origin.caseId, originCaptureId: c.captureId, originHead: record.origin.head, manifestDigest: c.manifestDigest,
            importRecord: recordKey, importRecordDigest: recordDigest,
          },
          idempotencyKey: `received:${caseId}:${digests.sha256}:${c.captureId}`,
        })),
      );
      return { record, recordKey, created: true, report, events: appended.map((a) => a.event) };
    } finally {
      await zip.close();
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
