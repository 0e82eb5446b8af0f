/**
 * Certified packages: a BagIt 1.0 bag (RFC 8493) in a zip, built streaming from the evidence store.
 *
 * Steps: load the captures' manifests and seal records; start zipping their files at once — each
 * payload file is read once and goes into the zip while its SHA-256 and SHA-512 are computed, and
 * every artifact is checked against its sealed manifest digests on the way (a mismatch aborts with
 * IntegrityError HASH_MISMATCH). Meanwhile: write the content manifest (seal.ts),
 * append the `packaged` custody event naming its digest, then sign AND timestamp a head after that
 * event, so the bag carries the log up to that head (earlier heads without a token are left out: a
 * package never depends on an untimestamped head). Render the certificate (HTML, then a PDF in
 * Chromium — another process, so it overlaps the zipping). Then the files that depend on the head
 * (custody log, heads, keys, TSA certificates, VERIFY.txt, certificate), bagit.txt and
 * bag-info.txt, the package seal over every file (signed and timestamped), and the payload and tag
 * manifests. When no TSA answers, the package is still written but is UNSEALED (`sealed` false).
 *
 * Zip layout: one top-level directory named after the output file (without `.zip`), holding the bag.
 * See `PACKAGE_LAYOUT_TEXT` (layout.ts) for the bag layout.
 */
import { stat, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { isoUtc } from '../../lib/clock.js';
import { PermanentError } from '../../lib/errors.js';
import type { CustodyEvent } from '../../schemas/custody.js';
import { readStoredEvents } from '../custody.js';
import { sealedCaptureIds, storeKeys } from '../store.js';
import { describeContent, keysAndCertificates, loadCaptures, recordPackaged, signHeadAfter } from './build-content.js';
import { addCertificatePdf, caseFiles, startCertificate, writeTagFiles, type Rendering } from './build-files.js';
import { BUFFERED_ENTRY_MAX_BYTES, type BuildPackageOptions, type BuildState, type BuiltPackage } from './build-types.js';
import { receivedPackages, type ReceivedPart } from './build-received.js';
import { PathClaims } from './captures.js';
import { buildCaseWacz } from './case-wacz.js';
import { CertificateImages } from './images.js';
import { PACKAGE_LAYOUT_TEXT } from './layout.js';
import { PayloadZip, type PackageProgress } from './payload-zip.js';

export { BUFFERED_ENTRY_MAX_BYTES } from './build-types.js';
export type { BuildPackageOptions, BuiltPackage } from './build-types.js';
export type { PackageProgress } from './payload-zip.js';

/** The captures to package: those chosen (each must exist before anything is signed on its behalf), or every capture of the case. */
async function selectCaptures(opts: BuildPackageOptions): Promise<{ captureIds: string[]; received: ReceivedPart[] }> {
  const { store, caseId } = opts;
  const chosen = opts.captureIds?.length ? [...new Set(opts.captureIds)] : null;
  // Captures received from a partner travel inside the package they came in, never re-signed.
  const received = await receivedPackages(store, caseId, chosen);
  const receivedIds = new Set(received.flatMap((r) => r.record.captures.map((c) => c.captureId)));
  const captureIds = chosen ? chosen.filter((id) => !receivedIds.has(id)) : await sealedCaptureIds(store, caseId);
  if (captureIds.length === 0 && received.length === 0) throw new PermanentError('NOT_FOUND', `case ${caseId} has no captures to package`);
  if (chosen) {
    const missing = (await Promise.all(captureIds.map(async (id) => ((await store.stat(storeKeys.manifest(caseId, id))) ? null : id)))).filter((x) => x !== null);
    if (missing.length) throw new PermanentError('NOT_FOUND', `capture ${missing[0]} has no manifest in case ${caseId}`);
  }
  return { captureIds, received };
}

/** The zip's own digest can only be known after it is written: the `exported` event ties the file a download or an uploaded verification names (by that digest) to its package id on the log. */
async function recordExported(b: BuildState, o: { packageId: string; sha256: string; size: number; unsealedReason: string | null; event: CustodyEvent; headSeq: number }): Promise<CustodyEvent> {
  const { event: exported } = await b.opts.custody.append({
    caseId: b.caseId,
    actor: b.opts.actor,
    action: 'exported',
    subject: { digests: [o.sha256] },
    details: { packageId: o.packageId, package: path.basename(b.outPath), packageSha256: o.sha256, size: o.size, sealed: o.unsealedReason === null, packagedEvent: o.event.seq, headSeq: o.headSeq },
    idempotencyKey: `package-exported:${b.caseId}:${o.packageId}`,
  });
  return exported;
}

/** The log already says this package was being built: it must also say it never was. */
async function recordFailure(b: BuildState, recorded: { packageId: string; seq: number }, err: unknown): Promise<void> {
  const { packageId, seq } = recorded;
  await b.opts.custody
    .append({ caseId: b.caseId, actor: b.opts.actor, action: 'package-failed', subject: {}, details: { packageId, packagedEvent: seq, failure: err instanceof Error ? err.message.slice(0, 1000) : String(err) }, idempotencyKey: `package-failed:${b.caseId}:${packageId}` })
    .catch((e: unknown) => b.log?.error({ err: e, packageId }, 'could not record the failed packaging on the custody log'));
}

/** Build a certified package. See the module comment for the order of steps. */
export async function buildPackage(options: BuildPackageOptions): Promise<BuiltPackage> {
  // A share always names its captures, even all of them: it then discloses their events only, not
  // the case's other packages, shares and reads (custody-elide.ts).
  const opts = options.share && !options.captureIds?.length ? { ...options, captureIds: await sealedCaptureIds(options.store, options.caseId) } : options;
  const { caseId, store, clock } = opts;
  const outPath = path.resolve(opts.outPath);
  if (await stat(outPath).catch(() => null)) throw new PermanentError('INVALID_INPUT', `${outPath} exists; refusing to overwrite a package`);
  const bagName = path.basename(outPath).replace(/\.zip$/i, '') || caseId;
  const progress = (p: PackageProgress) => opts.onProgress?.(p);
  const bufferedMax = opts.bufferedEntryMaxBytes ?? BUFFERED_ENTRY_MAX_BYTES;
  // A browser launch takes ~0.5 s: start it now, alongside loading the captures and signing the head.
  const preparing = opts.renderPdf.prepare?.();
  preparing?.catch(() => undefined);
  const { captureIds, received } = await selectCaptures(opts);
  const multi = captureIds.length > 1;
  // Stored custody events never change: those already stored are read while the captures load.
  const earlyEvents = readStoredEvents(store, caseId, new Set());
  earlyEvents.catch(() => undefined);

  // Phases are reported in their old order (head, certificate, payload, …) for progress bars, though
  // the payload is written from the start: its progress is held back until the certificate phase.
  let payloadShown = false;
  const writer = new PayloadZip({ outPath, bagName, mtime: new Date(isoUtc(clock.now())), bufferedMax, progress: (p) => payloadShown && progress(p) });
  const b: BuildState = {
    opts, caseId, store, clock, outPath, bagName, bufferedMax, captureIds, received, multi, progress, writer,
    log: opts.logger?.child({ context: 'package', caseId }),
    images: new CertificateImages(store, multi, bufferedMax),
    claims: new PathClaims(),
  };
  const rendering: Rendering = { done: Promise.resolve(), tmpDir: null };
  let caseWaczDir: string | null = null;
  let recorded: { packageId: string; seq: number } | null = null;
  try {
    const { captures, imaging, posts } = await loadCaptures(b);
    if (opts.caseWacz) {
      const built = await writer.race(buildCaseWacz(b, captures));
      if (built) {
        caseWaczDir = built.dir;
        b.caseWacz = built.entry;
        b.claims.claim([built.entry]);
        writer.add([built.entry]);
      }
    }
    const early = await writer.race(earlyEvents);
    const pc = await describeContent(b, captures, early);
    const { event, shared } = await recordPackaged(b, pc);
    recorded = { packageId: pc.packageId, seq: event.seq };
    const head = await signHeadAfter(b, early, pc.packageId);
    const keys = await keysAndCertificates(b, pc, captures, head);
    const { entries: caseEntries, verifyInput } = caseFiles(b, pc, head, keys, captures);
    const { generatedAt, pdfPath } = await startCertificate(b, { pc, head, captures, imaging, posts, caseEntries, verifyInput, preparing }, rendering);
    payloadShown = true;
    progress({ phase: 'payload', bytesDone: writer.bytesDone, bytesTotal: writer.bytesTotal });
    await addCertificatePdf(b, rendering, pdfPath);
    const { sha256, size, unsealedReason } = await writeTagFiles(b, { pc, head, keys, event, generatedAt });
    progress({ phase: 'custody', bytesDone: writer.bytesDone, bytesTotal: writer.bytesTotal });
    const headSeq = head.signed.head.seq;
    const exported = await recordExported(b, { packageId: pc.packageId, sha256, size, unsealedReason, event, headSeq });
    if (unsealedReason) b.log?.warn({ path: outPath, packageId: pc.packageId, reason: unsealedReason }, 'package written UNSEALED: it will not verify');
    else b.log?.info({ path: outPath, sha256, size, captures: captureIds.length, headSeq, packageId: pc.packageId }, 'package built');
    progress({ phase: 'done', bytesDone: writer.bytesDone, bytesTotal: writer.bytesTotal });
    return {
      path: outPath, packageId: pc.packageId, contentManifestDigest: pc.content.digest, sealed: unsealedReason === null, unsealedReason, omitted: pc.omitted,
      sha256, size, bagName, captureIds, headSeq, event, exported, layout: PACKAGE_LAYOUT_TEXT,
      share: pc.share && shared ? { record: pc.share.record, digest: pc.share.digest, event: shared } : null,
    };
  } catch (err) {
    await writer.discard();
    if (recorded) await recordFailure(b, recorded, err);
    throw err;
  } finally {
    // Chromium may still be writing into tmpDir when the build failed early.
    await rendering.done.catch(() => undefined);
    if (rendering.tmpDir) await rm(rendering.tmpDir, { recursive: true, force: true });
    if (caseWaczDir) await rm(caseWaczDir, { recursive: true, force: true });
  }
}
