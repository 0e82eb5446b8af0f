/**
 * Offline verification of a certified package (zip or unzipped directory). Needs no store, no
 * Redis, no network: only the package, and optionally pinned TSA trust anchors.
 *
 * Checks, each reported by the bag-relative path of the item it is about:
 * - the zip (read in place, never extracted): no absolute / `..` / backslash paths, no symlinks, no
 *   duplicate or file-and-folder names, bounded entry count and size, every entry's size and CRC-32
 *   against the central directory;
 * - BagIt: bagit.txt, Payload-Oxum, every payload file against manifest-sha256 and -sha512, no
 *   missing and no extra files, tag manifests;
 * - each capture: manifest parses (CaptureManifest), every artifact present with matching digests
 *   and nothing else in the capture directory, Ed25519 signature (.sig and .signature.json) with the
 *   included key whose fingerprint matches, each `.tsr` (imprint = SHA-256 of manifest.json, CMS
 *   signature, chain to the TSA CA);
 * - each WARC and WACZ artifact record by record (check-records.ts), failures naming the record;
 * - custody: seq 1..n contiguous, prevHash links, hashes recompute, canonical bytes; each signed
 *   head matches the event at its seq, is signed and timestamped; the log does not end before the
 *   last signed head (truncation); every packaged capture appears in the log.
 *
 * - cross-checks against the signed custody log: each capture's manifest digest and signing key
 *   against its `manifest-signed` event, its artifacts against their `artifact-sealed` events, all
 *   covered by a head that is signed and timestamped;
 * - the package seal (package-seal.json): every file listed with its digest, signed and
 *   timestamped; the content manifest recorded in the `packaged` event; a whole-case package holds
 *   every capture the log says was sealed, or names it (check-seal.ts);
 * - data/annotations.json (analyst tags and notes, when present) recomputed from the custody log's
 *   `tag-added`, `tag-removed` and `note-added` events (check-annotations.ts).
 * - derived analysis products (data/analysis/, check-analysis.ts): every capture the case graph's
 *   nodes and edges name is in the package, every assertion it shows is in the package's log.
 *
 * Trust (evidence/trust.ts): keys and CA certificates carried in the package only show that it is
 * internally consistent. The verdict is `verified` only when every signature is by a pinned key (or
 * one a pinned key rotated to) and every token chains to a pinned TSA root; a consistent package
 * without that is `unauthenticated`, naming the fingerprints a recipient must confirm out of band.
 */
import { checkAnnotations } from './check-annotations.js';
import { lstat } from 'node:fs/promises';
import * as path from 'node:path';
import { isoUtc, systemClock, type Clock } from '../../lib/clock.js';
import { PackageReport } from '../../schemas/custody.js';
import { sha256Digest } from '../canonical.js';
import { mergeAnchors, noAnchors, parseCaCertificates, type TrustAnchors } from '../trust.js';
import { dirBag, type BagFiles } from './bag-files.js';
import { checkAnalysis } from './check-analysis.js';
import { checkBagInfo, checkBagit, checkPayloadManifests, checkTagManifests } from './check-bag.js';
import { checkCaptures } from './check-captures.js';
import { checkArchiveRecords } from './check-records.js';
import { bagPaths } from './layout.js';
import { checkCustody } from './check-custody.js';
import { SignatureChecks } from './check-signatures.js';
import { errMsg, Report, type BagContext, type VerifyResult } from './checks.js';
import { crossCheckCustody, verifyPackageSeal } from './check-seal.js';
import { checkReceived } from './check-received.js';
import { checkShare, readWithheld } from './check-share.js';
import { followRotations, TrustTracker } from './check-trust.js';
import { openZipBag, RETAIN_ENTRY_BYTES } from './zip-reader.js';

export interface VerifyOptions {
  /** Pinned signing keys and TSA roots (flags, trust store, the local deployment's own). */
  anchors?: TrustAnchors;
  /** Pinned TSA root certificates (PEM text), as if given with `--tsa-ca`; added to `anchors`. */
  trustAnchors?: string[];
  /** Pinned signing key fingerprints (`sha256:<hex>`), as if given with `--signing-key`; added to `anchors`. */
  signingKeys?: string[];
  /** Refuse zips whose entries add up to more than this. @defaultValue 256 GiB */
  maxTotalBytes?: number;
  /** Refuse zips with more entries than this. @defaultValue 200000 */
  maxEntries?: number;
  /**
   * Zip entries up to this size are kept in memory from the single pass over the zip (at most
   * 64 MiB in all); a larger one that must be parsed is read from the zip again and re-checked.
   * @defaultValue 4 MiB
   */
  retainEntryBytes?: number;
  clock?: Clock;
  /** How deep inside received packages this one is (check-received.ts). @defaultValue 0 */
  depth?: number;
}

/** Verify a package; never throws for problems in the package (they are failing checks). */
export async function verifyPackage(source: string, opts: VerifyOptions = {}): Promise<PackageReport> {
  const report = new Report();
  const clock = opts.clock ?? systemClock;
  const abs = path.resolve(source);
  let closeZip: (() => Promise<void>) | null = null;
  const result: VerifyResult = { caseId: null, captureIds: [], events: 0 };
  let trust = new TrustTracker(noAnchors());
  try {
    trust = new TrustTracker(
      mergeAnchors(opts.anchors ?? noAnchors(), {
        signingKeys: (opts.signingKeys ?? []).map((fingerprint) => ({ fingerprint, source: 'flag' as const })),
        tsaCas: (opts.trustAnchors ?? []).flatMap((pem) => parseCaCertificates(pem).map((c) => ({ ...c, source: 'flag' as const }))),
      }),
    );
    const st = await lstat(abs).catch(() => null);
    if (!st) {
      report.fail(source, 'exists', 'no such file or directory');
    } else {
      let bag: BagFiles | null | undefined;
      if (st.isFile()) {
        try {
          const z = await openZipBag(abs, { maxTotalBytes: opts.maxTotalBytes ?? 256 * 1024 ** 3, maxEntries: opts.maxEntries ?? 200_000, retainEntryBytes: opts.retainEntryBytes ?? RETAIN_ENTRY_BYTES });
          closeZip = z.close;
          bag = z.bag;
          report.pass(source, 'zip', 'zip read safely: every entry within limits, sizes and CRC-32 checked');
        } catch (err) {
          report.fail(source, 'zip', `refusing the zip: ${errMsg(err)}`);
          bag = undefined;
        }
      } else {
        bag = await dirBag(abs);
      }
      if (bag === null) report.fail('bagit.txt', 'bag', 'no bagit.txt at the top level (or in a single top-level directory)');
      else if (bag) await verifyBag(bag, report, result, trust, { clock, depth: opts.depth ?? 0, verify: (src, depth) => verifyPackage(src, { ...opts, anchors: trust.anchors, trustAnchors: [], signingKeys: [], depth }) });
    }
  } catch (err) {
    report.fail(source, 'verify', `verification stopped: ${errMsg(err)}`);
  } finally {
    if (closeZip) await closeZip();
  }
  const failures = report.checks.filter((c) => !c.ok);
  const consistent = failures.length === 0 && report.checks.length > 0;
  const verdict = trust.verdict(consistent);
  return PackageReport.parse({
    schemaVersion: 'exhibit.verify-report/1',
    ok: verdict === 'verified',
    verdict,
    consistent,
    source,
    caseId: result.caseId,
    captureIds: result.captureIds,
    custodyEvents: result.events,
    trust: trust.report(verdict),
    verifiedAt: isoUtc(clock.now()),
    share: result.share ?? null,
    custodyHead: result.custodyHead ?? null,
    handOvers: result.handOvers ?? [],
    checks: report.checks,
    failures,
  });
}

/** Every check, in order: bag, rotations, captures, custody, then the cross-checks and the package seal. */
async function verifyBag(bag: BagFiles, r: Report, result: VerifyResult, trust: TrustTracker, o: { clock: Clock; depth: number; verify: (source: string, depth: number) => Promise<PackageReport> }): Promise<void> {
  const { clock } = o;
  const { files, unsafe } = bag;
  for (const u of unsafe) r.fail(u, 'file-type', 'not a regular file (symlink or special file)');
  for (const p of bag.problems) r.fail(p.item, p.check, p.message);
  const ctx: BagContext = { files, fileSet: new Set(files), payloadFiles: files.filter((f) => f.startsWith('data/')), read: (p) => bag.read(p), region: (p) => bag.region(p), stream: (p) => bag.stream(p), report: r };
  await checkBagit(ctx);
  const digests = await checkPayloadManifests(ctx, bag);
  const { info, caseId } = await checkBagInfo(ctx, digests, result);
  const [headSeq, headHash] = (info.get('Exhibit-Custody-Head')?.[0] ?? '').split(' ');
  result.custodyHead = headSeq && headHash ? { seq: Number(headSeq), hash: headHash } : null;
  await checkTagManifests(ctx);
  const sigs = await SignatureChecks.open(ctx, trust);
  await followRotations({ fileSet: ctx.fileSet, files, read: ctx.read, report: r, checkSignature: sigs.checkSignature }, trust);
  const withheld = await readWithheld(ctx);
  const { captureDirs, captureFacts } = await checkCaptures(ctx, { caseId, digests, sigs, result, withheld });
  const caseWacz = digests.get(bagPaths.caseWacz);
  if (caseWacz) await checkArchiveRecords(ctx, bagPaths.caseWacz, { role: 'wacz', size: caseWacz.size });
  const custody = await checkCustody(ctx, { caseId, captureDirs, sigs, result });
  if (!custody) return;
  const { events, coveredSeq, elided } = custody;
  crossCheckCustody({ report: r, events, coveredSeq, captures: captureFacts });
  await checkAnnotations(ctx, { caseId, events, captureIds: captureDirs });
  await checkAnalysis(ctx, { captureIds: captureDirs, events });
  const sha256Of = async (p: string): Promise<string> => (digests.get(p)?.sha256 ?? sha256Digest(await ctx.read(p)));
  await verifyPackageSeal({
    files, fileSet: ctx.fileSet, read: ctx.read, sha256Of, report: r, checkSignature: sigs.checkSignature, checkTokens: sigs.checkTokens,
    caseId, events, coveredSeq, elided, captureIds: captureDirs, bagInfo: info,
  });
  result.share = await checkShare(ctx, { sigs, events, coveredSeq, captures: captureFacts, now: clock.now() });
  result.handOvers = await checkReceived(ctx, { events, coveredSeq, trust, depth: o.depth, clock, verify: o.verify });
}
