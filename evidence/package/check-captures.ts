/**
 * Capture checks: each capture's manifest parses (StoredCaptureManifest) and names this capture and
 * case, is signed (Ed25519, the included key's fingerprint matching) and timestamped (imprint =
 * SHA-256 of manifest.json), every artifact is present with matching digests, every WARC and WACZ
 * reads record by record (check-records.ts), and nothing else is in the capture's directory.
 */
import { StoredCaptureManifest, type CaptureManifest } from '../../schemas/manifest.js';
import { sha256Digest } from '../canonical.js';
import type { Digests } from '../hash.js';
import { errMsg, type BagContext, type VerifyResult } from './checks.js';
import { checkArchiveRecords, RECORD_CHECKED_ROLES } from './check-records.js';
import type { SignatureChecks } from './check-signatures.js';
import { bagPaths, isSafeRelativeName } from './layout.js';

/** What the custody cross-checks need of a capture. */
export interface CaptureFacts {
  digest: string;
  signer: string | null;
  manifest: CaptureManifest | null;
}

/** The manifest at `mp`, parsed and checked against its directory and case; null when it does not parse. */
function parseCaptureManifest({ report: r }: BagContext, mp: string, id: string, bytes: Buffer, caseId: string | null): CaptureManifest | null {
  let manifest: CaptureManifest | null = null;
  try {
    manifest = StoredCaptureManifest.parse(JSON.parse(bytes.toString('utf8')));
    if (manifest.captureId !== id) r.fail(mp, 'capture-manifest', `manifest is for capture ${manifest.captureId}, found in directory ${id}`);
    else if (caseId && manifest.caseId !== caseId) r.fail(mp, 'capture-manifest', `manifest is for case ${manifest.caseId}, package is case ${caseId}`);
    else r.pass(mp, 'capture-manifest', `capture of ${manifest.request.url}`);
  } catch (err) {
    r.fail(mp, 'capture-manifest', `does not parse as a capture manifest: ${errMsg(err).slice(0, 500)}`);
  }
  return manifest;
}

/** Each artifact the manifest lists against the file in the bag; their paths join `accounted`. */
async function checkArtifacts(ctx: BagContext, mp: string, id: string, manifest: CaptureManifest, digests: Map<string, Digests>, accounted: Set<string>, withheld: Map<string, { sha256: string; size: number }>): Promise<void> {
  const r = ctx.report;
  for (const a of manifest.artifacts) {
    if (!isSafeRelativeName(a.name)) {
      r.fail(mp, 'artifact', `unsafe artifact name ${JSON.stringify(a.name)}`);
      continue;
    }
    const ap = bagPaths.artifact(id, a);
    accounted.add(ap);
    const d = digests.get(ap);
    const w = withheld.get(ap);
    if (!d && w && w.sha256 === a.sha256 && w.size === a.size) r.pass(ap, 'artifact', `withheld by the sender (${a.role}): not in this package, named in the share record`);
    else if (!d) r.fail(ap, 'artifact', `artifact ${a.name} listed in the manifest is missing`);
    else if (d.sha256 !== a.sha256 || d.sha512 !== a.sha512 || d.size !== a.size) r.fail(ap, 'artifact', `artifact ${a.name} does not match its manifest entry (${d.sha256}, manifest says ${a.sha256})`);
    else r.pass(ap, 'artifact', `matches manifest (${a.role})`);
    // Also when the digests differ: the record check names where the archive was changed.
    if (d && RECORD_CHECKED_ROLES.has(a.role)) await checkArchiveRecords(ctx, ap, a);
  }
}

/** One capture directory; null when it has no manifest. */
async function checkCapture(ctx: BagContext, id: string, caseId: string | null, digests: Map<string, Digests>, sigs: SignatureChecks, withheld: Map<string, { sha256: string; size: number }>): Promise<CaptureFacts | null> {
  const { fileSet, read, payloadFiles, report: r } = ctx;
  const mp = bagPaths.captureManifest(id);
  const accounted = new Set<string>([mp, bagPaths.captureSig(id), bagPaths.captureSignature(id)]);
  if (!fileSet.has(mp)) {
    r.fail(mp, 'capture-manifest', 'missing');
    return null;
  }
  const bytes = await read(mp);
  const digest = sha256Digest(bytes);
  const manifest = parseCaptureManifest(ctx, mp, id, bytes, caseId);
  const signer = await sigs.checkSignature(`capture ${id} manifest`, bagPaths.captureSig(id), bagPaths.captureSignature(id), digest);
  const facts = { digest, signer, manifest };
  const tokens = payloadFiles.filter((f) => f.startsWith(`data/captures/${id}/timestamps/`) && f.endsWith('.tsr')).sort();
  for (const t of tokens) {
    accounted.add(t);
    accounted.add(t.replace(/\.tsr$/, '.json'));
  }
  await sigs.checkTokens(tokens, digest, mp, (t) => t.replace(/\.tsr$/, '.json'));
  if (manifest) await checkArtifacts(ctx, mp, id, manifest, digests, accounted, withheld);
  for (const f of payloadFiles.filter((p) => p.startsWith(bagPaths.captureDir(id)))) {
    if (!accounted.has(f)) r.fail(f, 'capture-file', 'file is not part of the capture manifest, its signature or its timestamps');
  }
  return facts;
}

/** Every capture directory under data/captures/ (their ids go into `result` first). */
export async function checkCaptures(
  ctx: BagContext,
  opts: { caseId: string | null; digests: Map<string, Digests>; sigs: SignatureChecks; result: VerifyResult; withheld?: Map<string, { sha256: string; size: number }> },
): Promise<{ captureDirs: string[]; captureFacts: Map<string, CaptureFacts> }> {
  const captureDirs = [...new Set(ctx.payloadFiles.map((f) => /^data\/captures\/([^/]+)\//.exec(f)?.[1]).filter((x): x is string => !!x))].sort();
  opts.result.captureIds = captureDirs;
  const received = ctx.payloadFiles.some((f) => f.startsWith('data/received/'));
  if (captureDirs.length === 0 && !received) ctx.report.fail('data/captures/', 'captures', 'the package holds no capture');
  const captureFacts = new Map<string, CaptureFacts>();
  for (const id of captureDirs) {
    const facts = await checkCapture(ctx, id, opts.caseId, opts.digests, opts.sigs, opts.withheld ?? new Map());
    if (facts) captureFacts.set(id, facts);
  }
  return { captureDirs, captureFacts };
}
