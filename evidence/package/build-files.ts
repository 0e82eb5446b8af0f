/**
 * Build steps after the signed head (see build.ts for the order): the files that depend on the head,
 * the certificate (HTML, then its PDF rendered alongside the zipping), and the tag files with the
 * package seal.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { isoUtc } from '../../lib/clock.js';
import type { Artifact } from '../../schemas/artifact.js';
import type { CustodyEvent } from '../../schemas/custody.js';
import type { PostDocument } from '../../schemas/post.js';
import { sha256Digest } from '../canonical.js';
import { annotationsDocument } from '../annotations.js';
import { genesisHash } from '../custody.js';
import { signatureBytes } from '../signing.js';
import { BAGIT_TXT, bagInfoText, payloadManifestText, tagManifestText } from './bag-files.js';
import type { HeadPart, KeysPart, PackageContent } from './build-content.js';
import type { BuildState } from './build-types.js';
import { byPath, inMemory, jsonFile, type CaptureBundle } from './captures.js';
import { renderCertificateHtml } from './certificate.js';
import type { CertificateImage } from './images.js';
import { bagPaths, PACKAGE_LAYOUT_TEXT } from './layout.js';
import type { PayloadEntry } from './payload-zip.js';
import { replayFolderEntries } from './replay-folder.js';
import { sealPackage } from './seal.js';
import { verifyInstructions } from './verify-instructions.js';

/** What VERIFY.txt is written from; a package always names the key and TSA roots of its seal. */
type VerifyTextInput = Parameters<typeof verifyInstructions>[0] & { seal: NonNullable<Parameters<typeof verifyInstructions>[0]['seal']> };

/** The PDF being rendered, and the folder it is written into (removed when the build ends). */
export interface Rendering {
  done: Promise<void>;
  tmpDir: string | null;
}

/** The custody log and its carried heads, as bag files. */
function custodyEntries(head: HeadPart): PayloadEntry[] {
  const list: PayloadEntry[] = [inMemory(bagPaths.events, Buffer.concat(head.lines.flatMap((l) => [l, Buffer.from('\n')])))];
  for (const h of head.heads) {
    const seq = h.head.seq;
    list.push(inMemory(bagPaths.head(seq), h.headBytes));
    list.push(inMemory(bagPaths.headSig(seq), signatureBytes(h.signature)));
    list.push(inMemory(bagPaths.headSignature(seq), jsonFile(h.signature)));
    const toks = head.headTokens.get(seq) ?? [];
    h.tokens.forEach((t, i) => {
      list.push(inMemory(bagPaths.headToken(seq, i + 1), toks[i]!));
      list.push(inMemory(bagPaths.headTimestamp(seq, i + 1), jsonFile({ ...t.record, token: path.posix.basename(bagPaths.headToken(seq, i + 1)) })));
    });
  }
  return list;
}

/** 5. The files that depend on the head: content manifest, custody, keys, rotations, TSA certificates, VERIFY.txt, README. */
export function caseFiles(b: BuildState, pc: PackageContent, head: HeadPart, keys: KeysPart, captures: CaptureBundle[]): { entries: PayloadEntry[]; verifyInput: VerifyTextInput } {
  const entries: PayloadEntry[] = [inMemory(bagPaths.contentManifest, pc.content.bytes), ...custodyEntries(head)];
  for (const k of keys.keyFiles) entries.push(inMemory(k.path, Buffer.from(k.pem)));
  for (const r of keys.rotations) {
    entries.push(inMemory(bagPaths.rotation(r.rotation.next), r.bytes));
    entries.push(inMemory(bagPaths.rotationSig(r.rotation.next), signatureBytes(r.signature)));
    entries.push(inMemory(bagPaths.rotationSignature(r.rotation.next), jsonFile(r.signature)));
  }
  if (pc.share) {
    entries.push(inMemory(bagPaths.shareRecord, pc.share.bytes));
    entries.push(inMemory(bagPaths.shareRecordSig, signatureBytes(pc.share.signature)));
    entries.push(inMemory(bagPaths.shareRecordSignature, jsonFile(pc.share.signature)));
  }
  entries.push(inMemory(bagPaths.tsaCa, Buffer.from(pc.caPem)));
  entries.push(inMemory(bagPaths.tsaCerts, Buffer.from(keys.tsaPem)));
  const { signed } = head;
  const verifyInput: VerifyTextInput = {
    caseId: b.caseId,
    captures: captures.map((c) => ({ captureId: c.captureId, keyFingerprint: c.signature?.keyFingerprint ?? null, tokens: c.timestamps.length })),
    head: { seq: signed.head.seq, keyFingerprint: signed.signature.keyFingerprint, tokens: signed.tokens.length },
    genesisHash: genesisHash(b.caseId),
    seal: { keyFingerprint: pc.activeKey.fingerprint, tsaRoots: keys.tsaRoots.map((r) => ({ fingerprint: r.fingerprint, subject: r.subject })) },
    caseGraph: pc.caseGraph,
  };
  entries.push(inMemory(bagPaths.verifyTxt, Buffer.from(verifyInstructions(verifyInput))));
  entries.push(inMemory(bagPaths.readme, Buffer.from(PACKAGE_LAYOUT_TEXT)));
  entries.push(...replayFolderEntries(captures));
  // Apart from the evidence, and always present (an empty list says no capture was annotated).
  entries.push(inMemory(bagPaths.annotations, jsonFile(annotationsDocument(b.caseId, head.events.map((e) => e.event), b.captureIds))));
  return { entries, verifyInput };
}

/** The certificate's HTML. Many captures: the commands for the first one show the way; VERIFY.txt lists them for all. */
function certificateHtml(b: BuildState, pc: PackageContent, head: HeadPart, captures: CaptureBundle[], images: CertificateImage[], posts: Array<PostDocument | null>, verifyInput: VerifyTextInput, generatedAt: string): string {
  const { signed } = head;
  return renderCertificateHtml({
    caseId: b.caseId,
    organization: b.opts.organization ?? 'Exhibit',
    generatedAt,
    generatedBy: b.opts.actor.id,
    captures: captures.map((c, i) => ({
      manifest: c.manifest,
      manifestDigest: c.digest,
      signature: c.signature,
      timestamps: c.timestamps.map((t) => t.record),
      screenshotDataUri: images[i]!.uri,
      screenshotShownFrom: images[i]!.from,
      post: posts[i] ?? null,
      bagPathOf: (a: Artifact) => bagPaths.artifact(c.captureId, a),
    })),
    events: head.events.map((e) => e.event),
    elidedEvents: head.elided.length,
    annotations: annotationsDocument(b.caseId, head.events.map((e) => e.event), b.captureIds),
    head: { seq: signed.head.seq, hash: signed.head.hash, time: signed.head.time, timestamps: signed.timestamps },
    authenticity: { packageId: pc.packageId, contentManifestDigest: pc.content.digest, signingKey: pc.activeKey.fingerprint, tsaRoots: verifyInput.seal.tsaRoots },
    ...(b.multi
      ? {
          verifyText: verifyInstructions({ ...verifyInput, captures: verifyInput.captures.slice(0, 1) }),
          verifyNote: `Shown with the commands for capture 1 only; ${bagPaths.verifyTxt} in the package gives them for each of the ${captures.length} captures.`,
        }
      : { verifyText: verifyInstructions(verifyInput) }),
  });
}

/**
 * Certificate HTML now, into the zip with the case files; its PDF renders (in Chromium, another
 * process) while the zip is written. Returns when the PDF was made (`rendering.done`) and the time
 * the certificate names.
 */
export async function startCertificate(
  b: BuildState,
  parts: { pc: PackageContent; head: HeadPart; captures: CaptureBundle[]; imaging: Promise<CertificateImage[]>; posts: Promise<Array<PostDocument | null>>; caseEntries: PayloadEntry[]; verifyInput: VerifyTextInput; preparing: Promise<void> | undefined },
  rendering: Rendering,
): Promise<{ generatedAt: string; pdfPath: string }> {
  b.progress({ phase: 'certificate', bytesDone: 0, bytesTotal: 0 });
  const generatedAt = isoUtc(b.clock.now());
  const images = await b.writer.race(parts.imaging);
  const posts = await b.writer.race(parts.posts);
  const html = certificateHtml(b, parts.pc, parts.head, parts.captures, images, posts, parts.verifyInput, generatedAt);
  const caseEntries = [...parts.caseEntries, inMemory(bagPaths.certificateHtml, Buffer.from(html))];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-package-'));
  rendering.tmpDir = dir;
  const pdfPath = path.join(dir, 'certificate.pdf');
  rendering.done = (async () => {
    await parts.preparing;
    await b.opts.renderPdf(html, pdfPath);
  })();
  rendering.done.catch(() => undefined);
  caseEntries.sort(byPath);
  b.claims.claim([...caseEntries, { path: bagPaths.certificatePdf }]);
  b.writer.add(caseEntries);
  return { generatedAt, pdfPath };
}

/** 6. The PDF joins the zip last, when Chromium is done with it. */
export async function addCertificatePdf(b: BuildState, rendering: Rendering, pdfPath: string): Promise<void> {
  await b.writer.race(rendering.done);
  const pdfSize = (await stat(pdfPath)).size;
  b.writer.add([{ path: bagPaths.certificatePdf, size: pdfSize, ...(pdfSize <= b.bufferedMax ? { read: () => readFile(pdfPath) } : {}), open: () => createReadStream(pdfPath), compress: false }]);
}

/** bag-info.txt: the bag's own fields (RFC 8493 §2.2.2) and Exhibit's. A flat list. */
function bagInfo(b: BuildState, pc: PackageContent, head: HeadPart, keys: KeysPart, payload: { bytes: number; files: number }, generatedAt: string): Array<[string, string]> {
  const { opts, caseId } = b;
  const operators = pc.operators.join(', ');
  return [
    ['Source-Organization', opts.organization ?? 'Exhibit'],
    ['Contact-Name', operators],
    ['External-Identifier', caseId],
    ['External-Description', `Exhibit certified evidence package: ${b.captureIds.length} capture(s) of case ${caseId}`],
    ['Bagging-Date', generatedAt.slice(0, 10)],
    ['Payload-Oxum', `${payload.bytes}.${payload.files}`],
    ['Bag-Software-Agent', `Exhibit ${opts.exhibitVersion ?? 'unknown'}`],
    ['Exhibit-Case-Id', caseId],
    ...(pc.legalBases.length ? pc.legalBases.map((l): [string, string] => ['Exhibit-Legal-Basis', l]) : [['Exhibit-Legal-Basis', '(none given)'] as [string, string]]),
    ['Exhibit-Capture-Count', String(b.captureIds.length)],
    ['Exhibit-Operators', operators],
    ['Exhibit-Packaged-By', `${opts.actor.id} (${opts.actor.role})`],
    ['Exhibit-Packaged-At', generatedAt],
    ['Exhibit-Custody-Head', `${head.signed.head.seq} ${head.signed.head.hash}`],
    ['Exhibit-Package-Id', pc.packageId],
    ['Exhibit-Package-Content', pc.content.digest],
    ['Exhibit-Signing-Key', pc.activeKey.fingerprint],
    ...keys.tsaRoots.map((r): [string, string] => ['Exhibit-TSA-Root', r.fingerprint]),
    ...(pc.share
      ? ([
          ['Exhibit-Shared-With', pc.share.record.recipient.partner],
          ['Exhibit-Share-Legal-Basis', pc.share.record.legalBasis],
          ['Exhibit-TLP', `TLP:${pc.share.record.tlp.toUpperCase()}`],
          ['Exhibit-Share-Expires', pc.share.record.expires ?? 'none'],
          ['Exhibit-Withheld-Artifacts', String(pc.share.record.withheld.length)],
        ] as Array<[string, string]>)
      : []),
    ['Exhibit-Selection', opts.captureIds?.length ? 'chosen captures' : pc.omitted.length ? `whole case; ${pc.omitted.length} sealed capture(s) left out, named in ${bagPaths.contentManifest}` : 'whole case'],
  ];
}

/**
 * 7. Tag files: bagit.txt and bag-info.txt, the package seal over every file so far (signed and
 * timestamped), then the payload and tag manifests; the zip is closed and moved into place.
 * Returns the zip's digest and size, and why the package is unsealed when it is.
 */
export async function writeTagFiles(
  b: BuildState,
  parts: { pc: PackageContent; head: HeadPart; keys: KeysPart; event: CustodyEvent; generatedAt: string },
): Promise<{ sha256: string; size: number; unsealedReason: string | null }> {
  const { writer, opts } = b;
  const { pc, head } = parts;
  const digests = await writer.payloadDone();
  b.progress({ phase: 'tags', bytesDone: writer.bytesDone, bytesTotal: writer.bytesTotal });
  const payloadBytes = [...digests.values()].reduce((s, d) => s + d.size, 0);
  const tags = new Map<string, Buffer>();
  tags.set(bagPaths.bagit, Buffer.from(BAGIT_TXT));
  tags.set(bagPaths.bagInfo, Buffer.from(bagInfoText(bagInfo(b, pc, head, parts.keys, { bytes: payloadBytes, files: digests.size }, parts.generatedAt))));
  // The seal lists every file so far (payload, bagit.txt, bag-info.txt); the manifests come after it.
  const sealFiles = [...[...digests.entries()].map(([p, d]) => ({ path: p, sha256: d.sha256, size: d.size })), ...[...tags.entries()].map(([p, t]) => ({ path: p, sha256: sha256Digest(t), size: t.length }))].sort(byPath);
  const sealed = await writer.race(
    sealPackage(
      { packageId: pc.packageId, caseId: b.caseId, contentManifestDigest: pc.content.digest, packagedEventSeq: parts.event.seq, headSeq: head.signed.head.seq, files: sealFiles },
      { key: pc.activeKey, clock: b.clock, tsas: opts.headSigning.tsas, timestamp: opts.headSigning.timestamp, ...(b.log ? { logger: b.log } : {}) },
    ),
  );
  let unsealedReason = head.unsealedReason;
  if (sealed.tokens === 0 && !unsealedReason) unsealedReason = `the package seal could not be timestamped: ${sealed.failures.map((f) => `${f.tsaUrl}: ${f.failure.code}: ${f.failure.message}`).join('; ') || 'no TSA configured'}`;
  const sorted = [...digests.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  tags.set(bagPaths.manifest('sha256'), Buffer.from(payloadManifestText(sorted, 'sha256')));
  tags.set(bagPaths.manifest('sha512'), Buffer.from(payloadManifestText(sorted, 'sha512')));
  for (const [p, t] of sealed.files) tags.set(p, t);
  const tagList = [...tags.entries()];
  tags.set(bagPaths.tagmanifest('sha256'), Buffer.from(tagManifestText(tagList, 'sha256')));
  tags.set(bagPaths.tagmanifest('sha512'), Buffer.from(tagManifestText(tagList, 'sha512')));
  const { sha256, size } = await writer.finish(tags);
  return { sha256, size, unsealedReason };
}
