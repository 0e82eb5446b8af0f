/**
 * Certified packages: a BagIt 1.0 bag (RFC 8493) in a zip, built streaming from the evidence store.
 *
 * Steps: load the captures' manifests and seal records; start zipping their files at once — each
 * payload file is read once and goes into the zip while its SHA-256 and SHA-512 are computed, and
 * every artifact is checked against its sealed manifest digests on the way (a mismatch aborts with
 * IntegrityError HASH_MISMATCH). Meanwhile: write the content manifest (evidence/package/seal.ts),
 * append the `packaged` custody event naming its digest, then sign AND timestamp a head after that
 * event, so the bag carries the log up to that head (earlier heads without a token are left out: a
 * package never depends on an untimestamped head). Render the certificate (HTML, then a PDF in
 * Chromium — another process, so it overlaps the zipping). Then the files that depend on the head
 * (custody log, heads, keys, TSA certificates, VERIFY.txt, certificate), bagit.txt and
 * bag-info.txt, the package seal over every file (signed and timestamped), and the payload and tag
 * manifests. When no TSA answers, the package is still written but is UNSEALED (`sealed` false).
 *
 * Zip layout: one top-level directory named after the output file (without `.zip`), holding the bag.
 * See `PACKAGE_LAYOUT_TEXT` (package-layout.ts) for the bag layout.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat, mkdtemp } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import sharp from 'sharp';
import yazl from 'yazl';
import { isoUtc, newId, type Clock } from '../lib/clock.js';
import { mapLimit } from '../lib/concurrency.js';
import { IntegrityError, PermanentError } from '../lib/errors.js';
import type { Artifact } from '../schemas/artifact.js';
import type { CustodyActor, CustodyEvent, SignatureRecord, TimestampRecord } from '../schemas/custody.js';
import { StoredCaptureManifest, type CaptureManifest } from '../schemas/manifest.js';
import { sha256Digest } from './canonical.js';
import { contentManifestBytes, sealedCaptureIds, sealPackage } from './package/seal.js';
import { renderCertificateHtml, EMBEDDABLE_IMAGE_TYPES, type RenderPdf } from './certificate.js';
import { genesisHash, readStoredEvents, type CustodyLog, type SignHeadOptions, type StoredEvent, type StoredHead } from './custody.js';
import { HashingTransform, hashBytes } from './hash.js';
import type { KeyStore } from './keys.js';
import { bagPaths, isSafeRelativeName, PACKAGE_LAYOUT_TEXT } from './package-layout.js';
import { parseCaCertificates } from './trust.js';
import { readRotations } from './key-rotation.js';
import { completeHeadTokens } from './custody-heal.js';
import { readSealRecords, signatureBytes } from './signing.js';
import { storeKeys, type EvidenceStore } from './store.js';
import { tokenCertificates } from './timestamp.js';
import { verifyInstructions } from './verify-instructions.js';

/** Largest screenshot (bytes) embedded into the certificate as a data: URI. @defaultValue 12 MiB */
export const MAX_EMBEDDED_SCREENSHOT_BYTES = 12 * 1024 * 1024;

/**
 * Payload files up to this size are read whole (several at once, ahead of the zip writer), checked
 * against their sealed digests and handed to the zip as one buffer; larger ones stream through the
 * hasher. Reading small files one by one, each through a chain of streams, cost ~1.5 ms a file.
 * @defaultValue 4 MiB
 */
export const BUFFERED_ENTRY_MAX_BYTES = 4 * 1024 * 1024;

/** Files read ahead of the zip writer, and the bytes they may hold, at most. */
const READ_AHEAD_FILES = 16;
const READ_AHEAD_BYTES = 32 * 1024 * 1024;

/** Text files are deflated from this size on; below it a zip entry saves next to nothing. */
const COMPRESS_MIN_BYTES = 4 * 1024;

/**
 * Width (px) of a screenshot shown in a multi-capture certificate: 38 mm wide, so 256 px is ~170 dpi.
 * @defaultValue 256
 */
const THUMBNAIL_WIDTH_PX = 256;

/** Certificate thumbnails being made at once (sharp queues the rest; this bounds the buffers held). */
const THUMBNAIL_CONCURRENCY = 8;

/** At most `limit` tasks at once; the rest wait in order. */
class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

export interface PackageProgress {
  phase: 'head' | 'payload' | 'certificate' | 'tags' | 'custody' | 'done';
  bytesDone: number;
  bytesTotal: number;
  detail?: string;
}

export interface BuildPackageOptions {
  caseId: string;
  /** Subset of captures; all captures of the case when absent. */
  captureIds?: string[];
  /** Zip file to write; refused if it exists. */
  outPath: string;
  /** The package's id (a UUID), e.g. the API's package job id. @defaultValue a new UUIDv7 */
  packageId?: string;
  /** Who builds the package (recorded in the `packaged` event and bag-info.txt). */
  actor: CustodyActor;
  store: EvidenceStore;
  custody: CustodyLog;
  keys: KeyStore;
  /** TSAs and their trust for timestamping the custody head. */
  headSigning: Omit<SignHeadOptions, 'keys'>;
  /** Trust anchors of the TSAs (PEM files) copied to data/tsa/ca.pem (config `tsa.caFiles`). */
  tsaCertFiles: string[];
  renderPdf: RenderPdf;
  clock: Clock;
  logger?: Logger;
  /** bag-info.txt Source-Organization. @defaultValue `Exhibit` */
  organization?: string;
  /** Exhibit version for Bag-Software-Agent. @defaultValue `unknown` */
  exhibitVersion?: string;
  onProgress?: (p: PackageProgress) => void;
  /** Payload files up to this size are read whole; larger ones stream. @defaultValue {@link BUFFERED_ENTRY_MAX_BYTES} */
  bufferedEntryMaxBytes?: number;
}

export interface BuiltPackage {
  path: string;
  packageId: string;
  /** `sha256:` of data/package-content.json, recorded in the `packaged` custody event. */
  contentManifestDigest: string;
  /**
   * True when the head covering the `packaged` event and the package seal both carry a TSA token.
   * False: the package was written but is UNSEALED (no TSA answered) and will not verify.
   */
  sealed: boolean;
  /** Why the package is unsealed (TSA failures), when it is. */
  unsealedReason: string | null;
  /** Captures the log records as sealed that a whole-case package leaves out, and why. */
  omitted: Array<{ captureId: string; reason: string }>;
  /** `sha256:` of the zip file. */
  sha256: string;
  size: number;
  bagName: string;
  captureIds: string[];
  /** The signed head the bag ends with. */
  headSeq: number;
  /** The `packaged` custody event (inside the package, covered by the head it ends with). */
  event: CustodyEvent;
  /** The `exported` custody event appended after writing, with the zip's SHA-256 (necessarily outside the zip). */
  exported: CustodyEvent;
  /** Layout description (also data/README.txt). */
  layout: string;
}

interface PayloadEntry {
  path: string;
  size: number;
  /** Bytes already in memory (records, our own text files). */
  bytes?: Buffer;
  /** Where else to read it: the whole file at once (small files) or as a stream. */
  read?: () => Promise<Buffer>;
  open: () => Promise<Readable> | Readable;
  /** The sealed digests the bytes must have (artifacts). */
  expect?: { sha256: string; sha512: string; size: number };
  compress: boolean;
}

interface CaptureBundle {
  captureId: string;
  manifest: CaptureManifest;
  manifestBytes: Buffer;
  digest: string;
  signature: SignatureRecord | null;
  timestamps: Array<{ record: TimestampRecord; tsr: Buffer }>;
}

const COMPRESSIBLE = /\.(json|jsonl|txt|html?|pem|mhtml|csv|xml|svg)$/i;
const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ').trim();
/** RFC 8493 §2.1.3: CR, LF and % in manifest paths are percent-encoded. */
const manifestPath = (p: string) => p.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

async function loadCapture(store: EvidenceStore, caseId: string, captureId: string): Promise<CaptureBundle> {
  const key = storeKeys.manifest(caseId, captureId);
  const manifestBytes = await store.getBytes(key).catch((err: unknown) => {
    if ((err as { code?: unknown } | null)?.code === 'NOT_FOUND') throw new PermanentError('NOT_FOUND', `capture ${captureId} has no manifest in case ${caseId}`, { cause: err });
    throw err;
  });
  const manifest = StoredCaptureManifest.parse(JSON.parse(manifestBytes.toString('utf8')));
  if (manifest.captureId !== captureId || manifest.caseId !== caseId) {
    throw new IntegrityError('PACKAGE_INVALID', `manifest at ${key} names capture ${manifest.captureId} of case ${manifest.caseId}`);
  }
  for (const a of manifest.artifacts) {
    if (!isSafeRelativeName(a.name)) throw new IntegrityError('PACKAGE_INVALID', `capture ${captureId}: unsafe artifact name ${JSON.stringify(a.name)}`);
  }
  const digest = sha256Digest(manifestBytes);
  const seal = await readSealRecords(store, caseId, captureId);
  if (seal.signature && seal.signature.signedDigest !== digest) {
    throw new IntegrityError('SIGNATURE_INVALID', `capture ${captureId}: stored signature covers ${seal.signature.signedDigest}, manifest is ${digest}`);
  }
  const timestamps = await Promise.all(seal.timestamps.map(async (t) => ({ record: t.record, tsr: await store.getBytes(t.tokenKey) })));
  return { captureId, manifest, manifestBytes, digest, signature: seal.signature, timestamps };
}

/** One DER TLV at `off` (definite lengths only, as DER requires). */
function derTlv(b: Uint8Array, off: number): { tag: number; start: number; end: number } {
  const tag = b[off];
  let len = b[off + 1];
  if (tag === undefined || len === undefined || (tag & 0x1f) === 0x1f) throw new Error('unsupported DER');
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new Error('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (b[start + i] ?? Number.NaN);
    start += n;
  }
  const end = start + len;
  if (!Number.isFinite(end) || end > b.length) throw new Error('truncated DER');
  return { tag, start, end };
}

function derChildren(b: Uint8Array, parent: { start: number; end: number }): Array<{ tag: number; start: number; end: number }> {
  const out = [];
  for (let off = parent.start; off < parent.end; ) {
    const c = derTlv(b, off);
    out.push(c);
    off = c.end;
  }
  return out;
}

/**
 * The raw `certificates` field of an RFC 3161 reply's SignedData (empty when it has none):
 * TimeStampResp → ContentInfo → [0] → SignedData → [0] IMPLICIT certificates. Throws on anything else.
 */
export function tokenCertificatesField(tsr: Uint8Array): Uint8Array {
  const resp = derTlv(tsr, 0);
  if (resp.tag !== 0x30) throw new Error('not a TimeStampResp');
  const token = derChildren(tsr, resp)[1];
  if (!token) return new Uint8Array(0);
  const content = derChildren(tsr, token)[1];
  if (token.tag !== 0x30 || content?.tag !== 0xa0) throw new Error('not a ContentInfo');
  const signedData = derChildren(tsr, content)[0];
  if (signedData?.tag !== 0x30) throw new Error('not a SignedData');
  const certs = derChildren(tsr, signedData)[3];
  return certs?.tag === 0xa0 ? tsr.subarray(certs.start, certs.end) : new Uint8Array(0);
}

/**
 * The TSA certificates of many tokens. Every token of one TSA carries the same certificate bytes,
 * and parsing a whole token (pkijs) costs ~7 ms — 1.6 s for 200 captures — so each distinct
 * certificates field is parsed once. A token this reader does not follow is parsed on its own.
 */
export function certificatesOfTokens(tokens: readonly Uint8Array[], parse: (tsr: Uint8Array) => string[] = tokenCertificates): string[] {
  const byField = new Map<string, string[]>();
  const pems = new Set<string>();
  for (const tsr of tokens) {
    let key: string | null;
    try {
      key = createHash('sha256').update(tokenCertificatesField(tsr)).digest('hex');
    } catch {
      key = null;
    }
    let certs = key === null ? undefined : byField.get(key);
    if (!certs) {
      certs = parse(tsr);
      if (key !== null) byField.set(key, certs);
    }
    for (const c of certs) pems.add(c);
  }
  return [...pems];
}

async function listCaptureIds(store: EvidenceStore, caseId: string): Promise<string[]> {
  const prefix = storeKeys.captures(caseId);
  const ids = (await store.list(prefix)).map((k) => /^[^/]+\/[^/]+\/captures\/([^/]+)\/manifest\.json$/.exec(k)?.[1]).filter((x): x is string => !!x);
  return [...new Set(ids)].sort();
}

/**
 * The sealed image a certificate shows for a capture: for one capture, the screenshot itself (or its
 * thumbnail when the screenshot is too large to embed); for several, the thumbnail (or, lacking one,
 * a small enough screenshot).
 */
export function certificateImageArtifact(manifest: CaptureManifest, multi: boolean): Artifact | undefined {
  const candidates = manifest.artifacts.filter((a) => EMBEDDABLE_IMAGE_TYPES.has(a.mediaType.split(';')[0]!.trim().toLowerCase()));
  const original = candidates.find((a) => a.role === 'screenshot' && !a.derivedFrom);
  const thumb = original && candidates.find((a) => a.role === 'thumbnail' && a.derivedFrom?.source === original.name);
  const pick = multi ? (thumb ?? original) : original && original.size <= MAX_EMBEDDED_SCREENSHOT_BYTES ? original : thumb;
  return pick && pick.size <= MAX_EMBEDDED_SCREENSHOT_BYTES ? pick : undefined;
}

async function screenshotUri(manifest: CaptureManifest, read: (key: string) => Promise<Buffer>): Promise<string | null> {
  const pick = certificateImageArtifact(manifest, false);
  if (!pick) return null;
  const bytes = await read(pick.storeKey);
  if (sha256Digest(bytes) !== pick.sha256) throw new IntegrityError('HASH_MISMATCH', `artifact ${pick.name} in the store does not match its manifest digest`);
  return `data:${pick.mediaType.split(';')[0]!.trim().toLowerCase()};base64,${bytes.toString('base64')}`;
}

/**
 * The image of a capture in a multi-capture certificate: its sealed thumbnail (or, lacking one, the
 * screenshot itself when small enough), checked against its digest and re-encoded as a small JPEG —
 * Chromium embeds a JPEG in the PDF as it is, while a WebP or PNG is decoded and re-compressed
 * (~9 ms an image). An image sharp cannot read is left out, not fatal: the file is still in the package.
 */
async function thumbnailUri(manifest: CaptureManifest, read: (key: string) => Promise<Buffer>): Promise<{ uri: string | null; from: string | null }> {
  const pick = certificateImageArtifact(manifest, true);
  if (!pick) return { uri: null, from: null };
  const bytes = await read(pick.storeKey);
  if (sha256Digest(bytes) !== pick.sha256) throw new IntegrityError('HASH_MISMATCH', `artifact ${pick.name} in the store does not match its manifest digest`);
  try {
    const jpeg = await sharp(bytes)
      .resize({ width: THUMBNAIL_WIDTH_PX, withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 80 })
      .toBuffer();
    return { uri: `data:image/jpeg;base64,${jpeg.toString('base64')}`, from: pick.name };
  } catch {
    return { uri: null, from: null };
  }
}

/** Build a certified package. See the module comment for the order of steps. */
export async function buildPackage(opts: BuildPackageOptions): Promise<BuiltPackage> {
  const { caseId, store, clock } = opts;
  const outPath = path.resolve(opts.outPath);
  if (await stat(outPath).catch(() => null)) throw new PermanentError('INVALID_INPUT', `${outPath} exists; refusing to overwrite a package`);
  const bagName = path.basename(outPath).replace(/\.zip$/i, '') || caseId;
  const progress = (p: PackageProgress) => opts.onProgress?.(p);
  const log = opts.logger?.child({ context: 'package', caseId });
  const bufferedMax = opts.bufferedEntryMaxBytes ?? BUFFERED_ENTRY_MAX_BYTES;
  // A browser launch takes ~0.5 s: start it now, alongside loading the captures and signing the head.
  const preparing = opts.renderPdf.prepare?.();
  preparing?.catch(() => undefined);

  const captureIds = opts.captureIds?.length ? [...new Set(opts.captureIds)] : await listCaptureIds(store, caseId);
  if (captureIds.length === 0) throw new PermanentError('NOT_FOUND', `case ${caseId} has no captures to package`);
  const multi = captureIds.length > 1;
  if (opts.captureIds?.length) {
    // Chosen captures must exist before anything is signed on their behalf.
    const missing = (await Promise.all(captureIds.map(async (id) => ((await store.stat(storeKeys.manifest(caseId, id))) ? null : id)))).filter((x) => x !== null);
    if (missing.length) throw new PermanentError('NOT_FOUND', `capture ${missing[0]} has no manifest in case ${caseId}`);
  }
  // Stored custody events never change: those already stored are read while the captures load.
  const earlyEvents = readStoredEvents(store, caseId, new Set());
  earlyEvents.catch(() => undefined);

  const compressible = (p: string, size: number) => size >= COMPRESS_MIN_BYTES && COMPRESSIBLE.test(p);
  const inMemory = (p: string, bytes: Buffer): PayloadEntry => ({ path: p, size: bytes.length, bytes, open: () => Readable.from([bytes]), compress: compressible(p, bytes.length) });
  const byPath = (a: PayloadEntry, b: PayloadEntry) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
  // The image a certificate shows is read once, by whichever needs it first (the certificate or the
  // zip), and let go when every reader registered for it has taken it (a content-addressed image may
  // be pictured by several captures). The zip writer still checks those bytes against both sealed
  // digests, like any other entry.
  const imageReads = new Map<string, { bytes: Promise<Buffer> | null; uses: number }>();
  const pictureOf = (c: CaptureBundle): Artifact | undefined => {
    const pic = certificateImageArtifact(c.manifest, multi);
    if (pic) {
      const r = imageReads.get(pic.storeKey) ?? { bytes: null, uses: 0 };
      r.uses += pic.size <= bufferedMax ? 2 : 1;
      imageReads.set(pic.storeKey, r);
    }
    return pic;
  };
  const readImage = (key: string): Promise<Buffer> => {
    const r = imageReads.get(key);
    if (!r) return store.getBytes(key);
    if (!r.bytes) {
      r.bytes = store.getBytes(key);
      r.bytes.catch(() => undefined);
    }
    if (--r.uses <= 0) imageReads.delete(key);
    return r.bytes;
  };
  const seen = new Set<string>();
  const checkPaths = (list: PayloadEntry[]) => {
    for (const e of list) {
      if (seen.has(e.path)) throw new IntegrityError('PACKAGE_INVALID', `two payload files would share the path ${e.path}`);
      seen.add(e.path);
    }
  };
  /** A capture's files, sorted: manifest, seal records and every artifact (checked against the manifest). */
  const captureEntries = (c: CaptureBundle, claimPaths = true): PayloadEntry[] => {
    const list: PayloadEntry[] = [];
    list.push(inMemory(bagPaths.captureManifest(c.captureId), c.manifestBytes));
    if (c.signature) {
      list.push(inMemory(bagPaths.captureSig(c.captureId), signatureBytes(c.signature)));
      list.push(inMemory(bagPaths.captureSignature(c.captureId), Buffer.from(`${JSON.stringify(c.signature, null, 2)}\n`)));
    }
    c.timestamps.forEach((t, i) => {
      list.push(inMemory(bagPaths.captureToken(c.captureId, i + 1), t.tsr));
      list.push(inMemory(bagPaths.captureTimestamp(c.captureId, i + 1), Buffer.from(`${JSON.stringify({ ...t.record, token: `${i + 1}.tsr` }, null, 2)}\n`)));
    });
    const pictured = certificateImageArtifact(c.manifest, multi);
    for (const a of c.manifest.artifacts) {
      list.push({
        path: bagPaths.artifact(c.captureId, a),
        size: a.size,
        ...(a.size <= bufferedMax ? { read: () => (a === pictured ? readImage(a.storeKey) : store.getBytes(a.storeKey)) } : {}),
        open: () => store.get(a.storeKey),
        expect: { sha256: a.sha256, sha512: a.sha512, size: a.size },
        compress: compressible(a.name, a.size),
      });
    }
    list.sort(byPath);
    if (claimPaths) checkPaths(list);
    return list;
  };

  // Phases are reported in their old order (head, certificate, payload, …) for progress bars, though
  // the payload is written from the start: its progress is held back until the certificate phase.
  let payloadShown = false;
  const writer = new PayloadZip({ outPath, bagName, mtime: new Date(isoUtc(clock.now())), bufferedMax, progress: (p) => payloadShown && progress(p) });
  let rendering: Promise<void> = Promise.resolve();
  let recorded: { packageId: string; seq: number } | null = null;
  let tmpDir: string | null = null;
  try {
    // 1. Captures, loaded side by side; then their files go into the zip (in capture id order) while
    // the rest is prepared. Their reads would only slow the loading, which everything else waits for.
    // Each capture's certificate image (sharp, on the thread pool) is started as soon as that capture
    // has loaded, so it overlaps the loading of the others rather than following all of it.
    progress({ phase: 'head', bytesDone: 0, bytesTotal: 0 });
    const imageSlots = new Limiter(THUMBNAIL_CONCURRENCY);
    const startImage = (c: CaptureBundle): Promise<{ uri: string | null; from: string | null }> => {
      const p = multi
        ? imageSlots.run(() => thumbnailUri(c.manifest, readImage))
        : screenshotUri(c.manifest, readImage).then((uri) => ({ uri, from: null }));
      p.catch(() => undefined);
      return p;
    };
    const loaded = await writer.race(
      mapLimit(captureIds, 16, async (id) => {
        const c = await loadCapture(store, caseId, id);
        pictureOf(c);
        return { c, image: startImage(c) };
      }),
    );
    const captures = loaded.map((l) => l.c);
    const imaging = Promise.all(loaded.map((l) => l.image));
    imaging.catch(() => undefined);
    for (const c of [...captures].sort((a, b) => (a.captureId < b.captureId ? -1 : a.captureId > b.captureId ? 1 : 0))) writer.add(captureEntries(c));

    // 2. What the package holds, recorded in the custody log before the head that ends the bag.
    const early = await writer.race(earlyEvents);
    const activeKey = await opts.keys.activeKey();
    const publicKeys = await opts.keys.publicKeys();
    const caPem = (await Promise.all(opts.tsaCertFiles.map((f) => readFile(f, 'utf8')))).map((s) => s.trim() + '\n').join('');
    const operators = [...new Set(captures.flatMap((c) => [c.manifest.environment.operator, c.manifest.request.requestedBy]))].sort();
    const legalBases = [...new Set(captures.map((c) => c.manifest.request.legalBasis).filter((x): x is string => !!x))];
    const held = new Set(captureIds);
    // A whole case holds every capture its log says was sealed; one whose manifest the store does not
    // list (hidden, lost) is named with the reason instead of silently missing.
    const notHeld = opts.captureIds?.length ? [] : sealedCaptureIds(early.map((e) => e.event)).filter((id) => !held.has(id));
    const omitted = await Promise.all(
      notHeld.map(async (captureId) => ({
        captureId,
        reason: (await store.stat(storeKeys.manifest(caseId, captureId))) ? 'sealed after this package listed the captures of the case' : 'the capture manifest is missing from the evidence store',
      })),
    );
    for (const o of omitted) log?.warn({ captureId: o.captureId }, `sealed capture left out of the whole-case package: ${o.reason}`);
    const packageId = opts.packageId ?? newId();
    const contentKeyFps = new Set([activeKey.fingerprint, ...captures.flatMap((c) => (c.signature ? [c.signature.keyFingerprint] : []))]);
    const contentFiles = [
      ...captures.flatMap((c) => captureEntries(c, false)).map((e) => ({ path: e.path, sha256: e.expect?.sha256 ?? sha256Digest(e.bytes!), size: e.size })),
      ...[...contentKeyFps].map((fp) => {
        const pem = publicKeys.find((k) => k.fingerprint === fp)?.pem;
        if (!pem) throw new IntegrityError('SIGNATURE_INVALID', `public key ${fp} is not in the key store ${opts.keys.dir}`);
        return { path: bagPaths.key(fp), sha256: sha256Digest(Buffer.from(pem)), size: Buffer.byteLength(pem) };
      }),
      { path: bagPaths.tsaCa, sha256: sha256Digest(Buffer.from(caPem)), size: Buffer.byteLength(caPem) },
    ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const content = contentManifestBytes({
      schemaVersion: 'exhibit.package-content/1',
      packageId,
      caseId,
      createdAt: isoUtc(clock.now()),
      selection: opts.captureIds?.length ? { kind: 'captures', captureIds: [...captureIds].sort() } : { kind: 'case' },
      captureIds: [...captureIds].sort(),
      omitted,
      sealedThroughSeq: early.reduce((m, e) => Math.max(m, e.event.seq), 0),
      facts: { organization: opts.organization ?? 'Exhibit', legalBases, operators, packagedBy: `${opts.actor.id} (${opts.actor.role})` },
      files: contentFiles,
    });
    // Every capture file is in the zip and matched its sealed digests before packaging is recorded:
    // a store that lies or fails aborts the build with nothing on the log.
    await writer.payloadDone();
    const { event } = await writer.race(
      opts.custody.append({
        caseId,
        actor: opts.actor,
        action: 'packaged',
        subject: { digests: [content.digest] },
        details: { packageId, package: path.basename(outPath), contentManifestDigest: content.digest, captureIds: [...captureIds].sort(), selection: opts.captureIds?.length ? 'captures' : 'case', omitted },
        idempotencyKey: `package:${caseId}:${packageId}`,
      }),
    );
    // 3. A head after the packaged event, signed and timestamped: the bag holds the log up to it.
    recorded = { packageId, seq: event.seq };
    const signed = await writer.race(opts.custody.signHead(caseId, { ...opts.headSigning, keys: opts.keys }));
    const headFailures = signed.timestampFailures.map((f) => `${f.tsaUrl}: ${f.failure.code}: ${f.failure.message}`);
    let unsealedReason: string | null = signed.tokens.length ? null : `custody head ${signed.head.seq} could not be timestamped${headFailures.length ? `: ${headFailures.join('; ')}` : ' (no TSA configured)'}`;
    // With the TSA answering again, earlier heads signed during an outage get their tokens now.
    if (signed.tokens.length) await writer.race(completeHeadTokens(opts.custody, caseId, { store, clock, tsas: opts.headSigning.tsas, timestamp: opts.headSigning.timestamp, ...(log ? { logger: log } : {}) }));
    const late = await writer.race(readStoredEvents(store, caseId, new Set(early.map((e) => e.key))));
    const events = [...early, ...late].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).filter((e) => e.event.seq <= signed.head.seq);
    if (events.length !== signed.head.seq) throw new IntegrityError('CUSTODY_CHAIN_BROKEN', `custody log of ${caseId} in the store has ${events.length} events up to head ${signed.head.seq}`);
    // A head without a token (signed during a TSA outage) is left out: a later timestamped head covers its events.
    const heads: StoredHead[] = (await opts.custody.readHeads(caseId, signed.head.seq)).filter((h) => h.tokens.length > 0 || h.head.seq === signed.head.seq);
    const headTokens = new Map<number, Buffer[]>();
    await Promise.all(heads.map(async (h) => headTokens.set(h.head.seq, await Promise.all(h.tokens.map((t) => store.getBytes(t.tsrKey))))));

    // 4. Keys and TSA certificates.
    const fingerprints = new Set<string>([...contentKeyFps, ...heads.map((h) => h.signature.keyFingerprint)]);
    const keyFiles: Array<{ path: string; pem: string }> = [];
    for (const fp of [...fingerprints].sort()) {
      const k = publicKeys.find((x) => x.fingerprint === fp);
      if (!k) throw new IntegrityError('SIGNATURE_INVALID', `public key ${fp} is not in the key store ${opts.keys.dir}`);
      keyFiles.push({ path: bagPaths.key(fp), pem: k.pem });
    }
    const tsaRoots = caPem.trim() ? parseCaCertificates(caPem) : [];
    // Rotation statements (and the keys they name), so a recipient who pinned an earlier key
    // authenticates the one that signs now.
    const rotations = await readRotations(opts.keys);
    for (const r of rotations) {
      for (const fp of [r.rotation.previous, r.rotation.next]) {
        if (fingerprints.has(fp)) continue;
        fingerprints.add(fp);
        const k = publicKeys.find((x) => x.fingerprint === fp);
        if (k) keyFiles.push({ path: bagPaths.key(fp), pem: k.pem });
      }
    }
    const allTokens = [...captures.flatMap((c) => c.timestamps.map((t) => t.tsr)), ...[...headTokens.values()].flat()];
    const tsaPem = certificatesOfTokens(allTokens).join('');

    // 5. The files that depend on the head.
    const caseEntries: PayloadEntry[] = [];
    caseEntries.push(inMemory(bagPaths.contentManifest, content.bytes));
    caseEntries.push(inMemory(bagPaths.events, Buffer.concat(events.flatMap((e) => [e.bytes, Buffer.from('\n')]))));
    for (const h of heads) {
      const seq = h.head.seq;
      caseEntries.push(inMemory(bagPaths.head(seq), h.headBytes));
      caseEntries.push(inMemory(bagPaths.headSig(seq), signatureBytes(h.signature)));
      caseEntries.push(inMemory(bagPaths.headSignature(seq), Buffer.from(`${JSON.stringify(h.signature, null, 2)}\n`)));
      const toks = headTokens.get(seq) ?? [];
      h.tokens.forEach((t, i) => {
        caseEntries.push(inMemory(bagPaths.headToken(seq, i + 1), toks[i]!));
        caseEntries.push(inMemory(bagPaths.headTimestamp(seq, i + 1), Buffer.from(`${JSON.stringify({ ...t.record, token: path.posix.basename(bagPaths.headToken(seq, i + 1)) }, null, 2)}\n`)));
      });
    }
    for (const k of keyFiles) caseEntries.push(inMemory(k.path, Buffer.from(k.pem)));
    for (const r of rotations) {
      caseEntries.push(inMemory(bagPaths.rotation(r.rotation.next), r.bytes));
      caseEntries.push(inMemory(bagPaths.rotationSig(r.rotation.next), signatureBytes(r.signature)));
      caseEntries.push(inMemory(bagPaths.rotationSignature(r.rotation.next), Buffer.from(`${JSON.stringify(r.signature, null, 2)}\n`)));
    }
    caseEntries.push(inMemory(bagPaths.tsaCa, Buffer.from(caPem)));
    caseEntries.push(inMemory(bagPaths.tsaCerts, Buffer.from(tsaPem)));
    const verifyInput = {
      caseId,
      captures: captures.map((c) => ({ captureId: c.captureId, keyFingerprint: c.signature?.keyFingerprint ?? null, tokens: c.timestamps.length })),
      head: { seq: signed.head.seq, keyFingerprint: signed.signature.keyFingerprint, tokens: signed.tokens.length },
      genesisHash: genesisHash(caseId),
      seal: { keyFingerprint: activeKey.fingerprint, tsaRoots: tsaRoots.map((r) => ({ fingerprint: r.fingerprint, subject: r.subject })) },
    };
    const verifyText = verifyInstructions(verifyInput);
    caseEntries.push(inMemory(bagPaths.verifyTxt, Buffer.from(verifyText)));
    caseEntries.push(inMemory(bagPaths.readme, Buffer.from(PACKAGE_LAYOUT_TEXT)));

    // 5. Certificate HTML now; its PDF renders (in Chromium, another process) while the zip is written.
    progress({ phase: 'certificate', bytesDone: 0, bytesTotal: 0 });
    const generatedAt = isoUtc(clock.now());
    const images = await writer.race(imaging);
    const html = renderCertificateHtml({
      caseId,
      organization: opts.organization ?? 'Exhibit',
      generatedAt,
      generatedBy: opts.actor.id,
      captures: captures.map((c, i) => ({
        manifest: c.manifest,
        manifestDigest: c.digest,
        signature: c.signature,
        timestamps: c.timestamps.map((t) => t.record),
        screenshotDataUri: images[i]!.uri,
        screenshotShownFrom: images[i]!.from,
        bagPathOf: (a: Artifact) => bagPaths.artifact(c.captureId, a),
      })),
      events: events.map((e) => e.event),
      head: { seq: signed.head.seq, hash: signed.head.hash, time: signed.head.time, timestamps: signed.timestamps },
      authenticity: { packageId, contentManifestDigest: content.digest, signingKey: activeKey.fingerprint, tsaRoots: verifyInput.seal.tsaRoots },
      // Many captures: the commands for the first one show the way; VERIFY.txt lists them for all.
      ...(multi
        ? {
            verifyText: verifyInstructions({ ...verifyInput, captures: verifyInput.captures.slice(0, 1) }),
            verifyNote: `Shown with the commands for capture 1 only; ${bagPaths.verifyTxt} in the package gives them for each of the ${captures.length} captures.`,
          }
        : { verifyText }),
    });
    caseEntries.push(inMemory(bagPaths.certificateHtml, Buffer.from(html)));
    const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-package-'));
    tmpDir = dir;
    const pdfPath = path.join(dir, 'certificate.pdf');
    rendering = (async () => {
      await preparing;
      await opts.renderPdf(html, pdfPath);
    })();
    rendering.catch(() => undefined);
    caseEntries.sort(byPath);
    checkPaths([...caseEntries, { path: bagPaths.certificatePdf } as PayloadEntry]);
    writer.add(caseEntries);
    payloadShown = true;
    progress({ phase: 'payload', bytesDone: writer.bytesDone, bytesTotal: writer.bytesTotal });

    // 6. The PDF joins the zip last, when Chromium is done with it.
    await writer.race(rendering);
    const pdfSize = (await stat(pdfPath)).size;
    writer.add([{ path: bagPaths.certificatePdf, size: pdfSize, ...(pdfSize <= bufferedMax ? { read: () => readFile(pdfPath) } : {}), open: () => createReadStream(pdfPath), compress: false }]);
    const digests = await writer.payloadDone();

    // 7. Tag files.
    progress({ phase: 'tags', bytesDone: writer.bytesDone, bytesTotal: writer.bytesTotal });
    const payloadBytes = [...digests.values()].reduce((s, d) => s + d.size, 0);
    const info: Array<[string, string]> = [
      ['Source-Organization', opts.organization ?? 'Exhibit'],
      ['Contact-Name', operators.join(', ')],
      ['External-Identifier', caseId],
      ['External-Description', `Exhibit certified evidence package: ${captures.length} capture(s) of case ${caseId}`],
      ['Bagging-Date', generatedAt.slice(0, 10)],
      ['Payload-Oxum', `${payloadBytes}.${digests.size}`],
      ['Bag-Software-Agent', `Exhibit ${opts.exhibitVersion ?? 'unknown'}`],
      ['Exhibit-Case-Id', caseId],
      ...(legalBases.length ? legalBases.map((b): [string, string] => ['Exhibit-Legal-Basis', b]) : [['Exhibit-Legal-Basis', '(none given)'] as [string, string]]),
      ['Exhibit-Capture-Count', String(captures.length)],
      ['Exhibit-Operators', operators.join(', ')],
      ['Exhibit-Packaged-By', `${opts.actor.id} (${opts.actor.role})`],
      ['Exhibit-Packaged-At', generatedAt],
      ['Exhibit-Custody-Head', `${signed.head.seq} ${signed.head.hash}`],
      ['Exhibit-Package-Id', packageId],
      ['Exhibit-Package-Content', content.digest],
      ['Exhibit-Signing-Key', activeKey.fingerprint],
      ...tsaRoots.map((r): [string, string] => ['Exhibit-TSA-Root', r.fingerprint]),
      ['Exhibit-Selection', opts.captureIds?.length ? 'chosen captures' : omitted.length ? `whole case; ${omitted.length} sealed capture(s) left out, named in ${bagPaths.contentManifest}` : 'whole case'],
    ];
    const tags = new Map<string, Buffer>();
    tags.set(bagPaths.bagit, Buffer.from('BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n'));
    tags.set(bagPaths.bagInfo, Buffer.from(info.map(([k, v]) => `${k}: ${oneLine(v)}\n`).join('')));
    // The seal lists every file so far (payload, bagit.txt, bag-info.txt); the manifests come after it.
    const sealFiles = [...[...digests.entries()].map(([p, d]) => ({ path: p, sha256: d.sha256, size: d.size })), ...[...tags.entries()].map(([p, b]) => ({ path: p, sha256: sha256Digest(b), size: b.length }))].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const sealed = await writer.race(
      sealPackage(
        { packageId, caseId, contentManifestDigest: content.digest, packagedEventSeq: event.seq, headSeq: signed.head.seq, files: sealFiles },
        { key: activeKey, clock, tsas: opts.headSigning.tsas, timestamp: opts.headSigning.timestamp, ...(log ? { logger: log } : {}) },
      ),
    );
    if (sealed.tokens === 0 && !unsealedReason) unsealedReason = `the package seal could not be timestamped: ${sealed.failures.map((f) => `${f.tsaUrl}: ${f.failure.code}: ${f.failure.message}`).join('; ') || 'no TSA configured'}`;
    const sorted = [...digests.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    tags.set(bagPaths.manifest('sha256'), Buffer.from(sorted.map(([p, d]) => `${d.sha256.slice(7)}  ${manifestPath(p)}\n`).join('')));
    tags.set(bagPaths.manifest('sha512'), Buffer.from(sorted.map(([p, d]) => `${d.sha512.slice(7)}  ${manifestPath(p)}\n`).join('')));
    for (const [p, b] of sealed.files) tags.set(p, b);
    const tagList = [...tags.entries()];
    const hex = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');
    tags.set(bagPaths.tagmanifest('sha256'), Buffer.from(tagList.map(([p, b]) => `${hex('sha256', b)}  ${p}\n`).join('')));
    tags.set(bagPaths.tagmanifest('sha512'), Buffer.from(tagList.map(([p, b]) => `${hex('sha512', b)}  ${p}\n`).join('')));
    const { sha256, size: zipSize } = await writer.finish(tags);
    progress({ phase: 'custody', bytesDone: writer.bytesDone, bytesTotal: writer.bytesTotal });
    // The zip's own digest can only be known after it is written: the file a download or an
    // uploaded verification names (by that digest) is tied to its package id on the log.
    const { event: exported } = await opts.custody.append({
      caseId,
      actor: opts.actor,
      action: 'exported',
      subject: { digests: [sha256] },
      details: { packageId, package: path.basename(outPath), packageSha256: sha256, size: zipSize, sealed: unsealedReason === null, packagedEvent: event.seq, headSeq: signed.head.seq },
      idempotencyKey: `package-exported:${caseId}:${packageId}`,
    });
    if (unsealedReason) log?.warn({ path: outPath, packageId, reason: unsealedReason }, 'package written UNSEALED: it will not verify');
    else log?.info({ path: outPath, sha256, size: zipSize, captures: captureIds.length, headSeq: signed.head.seq, packageId }, 'package built');
    progress({ phase: 'done', bytesDone: writer.bytesDone, bytesTotal: writer.bytesTotal });
    return {
      path: outPath, packageId, contentManifestDigest: content.digest, sealed: unsealedReason === null, unsealedReason, omitted,
      sha256, size: zipSize, bagName, captureIds, headSeq: signed.head.seq, event, exported, layout: PACKAGE_LAYOUT_TEXT,
    };
  } catch (err) {
    await writer.discard();
    // The log already says this package was being built: it must also say it never was.
    if (recorded) {
      const { packageId, seq } = recorded;
      await opts.custody
        .append({ caseId, actor: opts.actor, action: 'package-failed', subject: {}, details: { packageId, packagedEvent: seq, failure: err instanceof Error ? err.message.slice(0, 1000) : String(err) }, idempotencyKey: `package-failed:${caseId}:${packageId}` })
        .catch((e: unknown) => log?.error({ err: e, packageId }, 'could not record the failed packaging on the custody log'));
    }
    throw err;
  } finally {
    // Chromium may still be writing into tmpDir when the build failed early.
    await rendering.catch(() => undefined);
    if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
  }
}

/**
 * The zip being written: payload files are added in batches as they become known and written in
 * the order added; each is hashed on the way (both digests) and checked against the sealed digests
 * it carries. Files up to `bufferedMax` are read whole, ahead of the writer (bounded); larger ones
 * stream. The first failure aborts everything: `race` lets the caller stop waiting on other work.
 */
class PayloadZip {
  readonly digests = new Map<string, { sha256: string; sha512: string; size: number }>();
  bytesDone = 0;
  bytesTotal = 0;
  private readonly zip = new yazl.ZipFile();
  private readonly partial: string;
  private readonly written: Promise<void>;
  private readonly zipHash = createHash('sha256');
  private zipSize = 0;
  private firstError: unknown = null;
  private abort!: (err: unknown) => void;
  private readonly aborted: Promise<never>;
  private readonly hashed: Array<Promise<void>> = [];
  private readonly entries: PayloadEntry[] = [];
  private readonly reads = new Map<PayloadEntry, Promise<Buffer>>();
  private readCursor = 0;
  private readBytes = 0;

  constructor(private readonly o: { outPath: string; bagName: string; mtime: Date; bufferedMax: number; progress: (p: PackageProgress) => void }) {
    this.partial = `${o.outPath}.partial-${process.pid}`;
    this.aborted = new Promise<never>((_, reject) => (this.abort = reject));
    this.aborted.catch(() => undefined);
    this.zip.on('error', (err: unknown) => this.failWith(err));
    const counter = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.zipHash.update(chunk);
        this.zipSize += chunk.length;
        cb(null, chunk);
      },
    });
    this.written = pipeline(this.zip.outputStream as unknown as Readable, counter, createWriteStream(this.partial, { flags: 'wx' }));
    this.written.catch((err: unknown) => this.failWith(err));
  }

  /** The first failure stops the build: later entries may never be read once yazl has failed. */
  private failWith(err: unknown): void {
    this.firstError ??= err;
    this.abort(this.firstError);
  }

  /** `p`, or the build's first failure if that comes first. */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.aborted]);
  }

  add(list: PayloadEntry[]): void {
    for (const e of list) {
      this.bytesTotal += e.size;
      this.entries.push(e);
      this.addEntry(e, this.entries.length - 1);
    }
    this.readAhead(this.readCursor);
  }

  /** Whole-file reads run ahead of the zip writer (bounded in files and bytes), so the store's
   * latency overlaps the writing instead of adding up file after file. */
  private readAhead(from: number): void {
    this.readCursor = Math.max(this.readCursor, from);
    while (this.readCursor < this.entries.length && this.readCursor < from + READ_AHEAD_FILES && (this.reads.size === 0 || this.readBytes < READ_AHEAD_BYTES)) {
      const e = this.entries[this.readCursor++]!;
      if (!e.read) continue;
      this.readBytes += e.size;
      const p = e.read();
      p.catch(() => undefined);
      this.reads.set(e, p);
    }
  }

  private takeRead(e: PayloadEntry): Promise<Buffer> | undefined {
    const ahead = this.reads.get(e);
    if (ahead) {
      this.reads.delete(e);
      this.readBytes -= e.size;
      return ahead;
    }
    return e.read?.();
  }

  /** Record an entry's digests; false (and the build fails) when they are not the sealed ones. */
  private done(e: PayloadEntry, d: { sha256: string; sha512: string; size: number }): boolean {
    this.digests.set(e.path, d);
    this.bytesDone += d.size;
    this.o.progress({ phase: 'payload', bytesDone: this.bytesDone, bytesTotal: this.bytesTotal, detail: e.path });
    if (e.expect && (d.sha256 !== e.expect.sha256 || d.sha512 !== e.expect.sha512 || d.size !== e.expect.size)) {
      this.failWith(new IntegrityError('HASH_MISMATCH', `${e.path}: the store returned bytes that do not match the manifest (${d.sha256}, expected ${e.expect.sha256})`));
      return false;
    }
    return true;
  }

  private addEntry(e: PayloadEntry, index: number): void {
    let settle!: () => void;
    this.hashed.push(new Promise<void>((r) => (settle = r)));
    this.zip.addReadStreamLazy(`${this.o.bagName}/${e.path}`, { compress: e.compress, mtime: this.o.mtime, mode: 0o100644 }, (cb) => {
      const whole = e.bytes ? Promise.resolve(e.bytes) : this.takeRead(e);
      this.readAhead(index + 1);
      if (whole) {
        whole.then(
          (bytes) => {
            // What goes into the zip is exactly the buffer just checked against the sealed digests.
            const ok = this.done(e, hashBytes(bytes));
            settle();
            if (ok) cb(null, Readable.from([bytes], { objectMode: false }));
            else cb(this.firstError as Error, Readable.from([]));
          },
          (err: unknown) => {
            this.failWith(err);
            settle();
            cb(err as Error, Readable.from([]));
          },
        );
        return;
      }
      Promise.resolve(e.open()).then(
        (src) => {
          const hasher = new HashingTransform({ sizeHint: e.size });
          const out = new PassThrough();
          pipeline(src, hasher, out).catch((err: unknown) => {
            this.failWith(err);
            settle();
          });
          hasher.digests().then(
            (d) => {
              this.done(e, d);
              settle();
            },
            () => settle(),
          );
          cb(null, out);
        },
        (err: unknown) => {
          this.failWith(err);
          settle();
          cb(err as Error, Readable.from([]));
        },
      );
    });
  }

  /** Every payload file added so far is in the zip and matched its digests. */
  async payloadDone(): Promise<Map<string, { sha256: string; sha512: string; size: number }>> {
    await this.race(Promise.all(this.hashed));
    if (this.firstError) throw this.firstError;
    return this.digests;
  }

  /** Add the tag files, close the zip and move it into place. */
  async finish(tags: Map<string, Buffer>): Promise<{ sha256: string; size: number }> {
    for (const [p, b] of tags) this.zip.addBuffer(b, `${this.o.bagName}/${p}`, { compress: true, mtime: this.o.mtime, mode: 0o100644 });
    this.zip.end();
    await this.race(this.written);
    await rename(this.partial, this.o.outPath);
    return { sha256: `sha256:${this.zipHash.digest('hex')}`, size: this.zipSize };
  }

  /** After a failure: stop writing and leave no partial file behind. */
  async discard(): Promise<void> {
    (this.zip.outputStream as unknown as Readable).destroy();
    await this.written.catch(() => undefined);
    await rm(this.partial, { force: true });
  }
}
