/**
 * A package shared with a partner agency (`exhibit share`): the share record is signed by the key
 * that sealed the package, recorded by a `shared` custody event covered by a signed and timestamped
 * head, lists the captures the package holds, and its withheld items are exactly those the content
 * manifest withholds, each absent from the bag and named in its capture's signed manifest with the
 * same digests (so a later formal disclosure of the file is matched by digest).
 */
import type { CustodyEvent, PackageReport } from '../../schemas/custody.js';
import type { CaptureManifest } from '../../schemas/manifest.js';
import { ShareRecord } from '../../schemas/share.js';
import { PackageContentManifest } from '../../schemas/trust.js';
import { canonicalBytes, sha256Digest } from '../canonical.js';
import { errMsg, type BagContext } from './checks.js';
import type { SignatureChecks } from './check-signatures.js';
import { bagPaths } from './layout.js';

/** The withheld items the content manifest names, read before the captures are checked (it is authenticated later, by the seal and the packaged event). */
export async function readWithheld(ctx: BagContext): Promise<Map<string, { sha256: string; size: number }>> {
  const out = new Map<string, { sha256: string; size: number }>();
  if (!ctx.fileSet.has(bagPaths.contentManifest)) return out;
  try {
    const c = PackageContentManifest.parse(JSON.parse((await ctx.read(bagPaths.contentManifest)).toString('utf8')));
    for (const w of c.withheld ?? []) out.set(w.path, { sha256: w.sha256, size: w.size });
  } catch {
    // Reported by the seal checks.
  }
  return out;
}

export async function checkShare(
  ctx: BagContext,
  opts: { sigs: SignatureChecks; events: CustodyEvent[]; coveredSeq: number; captures: Map<string, { manifest: CaptureManifest | null }>; now: Date },
): Promise<NonNullable<PackageReport['share']> | null> {
  const { fileSet, report: r } = ctx;
  const rp = bagPaths.shareRecord;
  let content: PackageContentManifest | null = null;
  try {
    content = PackageContentManifest.parse(JSON.parse((await ctx.read(bagPaths.contentManifest)).toString('utf8')));
  } catch {
    content = null;
  }
  if (!fileSet.has(rp)) {
    if (content?.withheld?.length) r.fail(bagPaths.contentManifest, 'share-record', 'the content manifest withholds artifacts, but the package has no share record saying so');
    return null;
  }
  const bytes = await ctx.read(rp);
  let record: ShareRecord;
  try {
    record = ShareRecord.parse(JSON.parse(bytes.toString('utf8')));
    if (!canonicalBytes(record).equals(bytes)) throw new Error('not in canonical (RFC 8785) form');
  } catch (err) {
    r.fail(rp, 'share-record', `not a share record: ${errMsg(err).slice(0, 500)}`);
    return null;
  }
  const digest = sha256Digest(bytes);
  const signer = await opts.sigs.checkSignature('share record', bagPaths.shareRecordSig, bagPaths.shareRecordSignature, digest);
  if (signer && signer !== record.sender.signingKey) r.fail(rp, 'share-record', `signed by ${signer}, the record names the sender's key ${record.sender.signingKey}`);
  const ev = opts.events.find((e) => e.action === 'shared' && e.details.shareRecordDigest === digest);
  if (!ev) r.fail(rp, 'share-record', `no shared custody event records this share record (${digest}): altered or not recorded`);
  else if (ev.seq > opts.coveredSeq) r.fail(rp, 'share-record', `the shared event ${ev.seq} is not covered by a signed and timestamped custody head`);
  else if (ev.details.shareId !== record.shareId || ev.details.packageId !== record.packageId || ev.details.partner !== record.recipient.partner) r.fail(rp, 'share-record', `the shared event ${ev.seq} names another share, package or partner`);
  else r.pass(rp, 'share-record', `recorded by shared event ${ev.seq}, covered by a signed and timestamped head`);
  if (content) {
    if (content.packageId !== record.packageId || content.caseId !== record.caseId) r.fail(rp, 'share-record', `the record is for package ${record.packageId} of case ${record.caseId}`);
    if (JSON.stringify([...content.captureIds].sort()) !== JSON.stringify(record.disclosed.captureIds)) r.fail(rp, 'share-record', 'the captures the record discloses are not those the package holds');
    if (JSON.stringify(content.withheld ?? []) !== JSON.stringify(record.withheld)) r.fail(rp, 'share-withheld', 'the record and the content manifest list different withheld items');
  }
  for (const w of record.withheld) {
    const m = opts.captures.get(w.captureId)?.manifest;
    const a = m?.artifacts.find((x) => x.name === w.name);
    if (!a) r.fail(w.path, 'share-withheld', `withheld item ${w.name} is not an artifact of capture ${w.captureId}'s signed manifest`);
    else if (a.sha256 !== w.sha256 || a.sha512 !== w.sha512 || a.size !== w.size) r.fail(w.path, 'share-withheld', `withheld item ${w.name} differs from its signed manifest entry (${a.sha256})`);
    else if (fileSet.has(w.path)) r.fail(w.path, 'share-withheld', 'listed as withheld, but the file is in the package');
    else r.pass(w.path, 'share-withheld', `withheld by the sender (${w.reason}); its signed manifest entry: ${w.size} bytes, ${w.sha256}`);
  }
  const expired = record.expires !== null && opts.now.toISOString().slice(0, 10) > record.expires;
  return {
    shareId: record.shareId, from: `${record.sender.organization} (${record.sender.sharedBy})`, to: record.recipient.partner, recipientKeys: record.recipient.signingKeys,
    legalBasis: record.legalBasis, tlp: `TLP:${record.tlp.toUpperCase()}`, expires: record.expires, expired,
    withheld: record.withheld.map((w) => ({ captureId: w.captureId, name: w.name, role: w.role, sha256: w.sha256, size: w.size })),
  };
}
