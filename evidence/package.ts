/**
 * Certified packages: a BagIt 1.0 bag (RFC 8493) in a zip, built streaming from the evidence store.
 *
 * Steps: sign (and timestamp) the custody head first, so the bag carries the log up to that head
 * and the head's signature; stream every payload file once into the zip while computing SHA-256
 * and SHA-512 (artifacts are checked against their manifest digests on the way — a mismatch aborts
 * with IntegrityError HASH_MISMATCH); then write the tag files (bagit.txt, bag-info.txt, payload
 * and tag manifests); finally, with the zip's own SHA-256 known, append the `packaged` custody
 * event (which, necessarily, is not inside the package it describes).
 *
 * Zip layout: one top-level directory named after the output file (without `.zip`), holding the bag.
 * See `PACKAGE_LAYOUT_TEXT` (package-layout.ts) for the bag layout.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat, mkdtemp } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import yazl from 'yazl';
import { isoUtc, type Clock } from '../lib/clock.js';
import { IntegrityError, PermanentError } from '../lib/errors.js';
import type { Artifact } from '../schemas/artifact.js';
import type { CustodyActor, CustodyEvent, SignatureRecord, TimestampRecord } from '../schemas/custody.js';
import { CaptureManifest } from '../schemas/manifest.js';
import { sha256Digest } from './canonical.js';
import { renderCertificateHtml, EMBEDDABLE_IMAGE_TYPES, type RenderPdf } from './certificate.js';
import { genesisHash, type CustodyLog, type SignHeadOptions, type StoredHead } from './custody.js';
import { HashingTransform } from './hash.js';
import type { KeyStore } from './keys.js';
import { bagPaths, isSafeRelativeName, PACKAGE_LAYOUT_TEXT } from './package-layout.js';
import { readSealRecords, signatureBytes } from './signing.js';
import { storeKeys, type EvidenceStore } from './store.js';
import { tokenCertificates } from './timestamp.js';
import { verifyInstructions } from './verify-instructions.js';

/** Largest screenshot (bytes) embedded into the certificate as a data: URI. @defaultValue 12 MiB */
export const MAX_EMBEDDED_SCREENSHOT_BYTES = 12 * 1024 * 1024;

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
}

export interface BuiltPackage {
  path: string;
  /** `sha256:` of the zip file. */
  sha256: string;
  size: number;
  bagName: string;
  captureIds: string[];
  /** The signed head the bag ends with. */
  headSeq: number;
  /** The `packaged` custody event appended after writing. */
  event: CustodyEvent;
  /** Layout description (also data/README.txt). */
  layout: string;
}

interface PayloadEntry {
  path: string;
  size: number;
  open: () => Promise<Readable> | Readable;
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
  if (!(await store.stat(key))) throw new PermanentError('NOT_FOUND', `capture ${captureId} has no manifest in case ${caseId}`);
  const manifestBytes = await store.getBytes(key);
  const manifest = CaptureManifest.parse(JSON.parse(manifestBytes.toString('utf8')));
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
  const timestamps = [];
  for (const t of seal.timestamps) timestamps.push({ record: t.record, tsr: await store.getBytes(t.tokenKey) });
  return { captureId, manifest, manifestBytes, digest, signature: seal.signature, timestamps };
}

async function listCaptureIds(store: EvidenceStore, caseId: string): Promise<string[]> {
  const prefix = storeKeys.captures(caseId);
  const ids = (await store.list(prefix)).map((k) => /^[^/]+\/[^/]+\/captures\/([^/]+)\/manifest\.json$/.exec(k)?.[1]).filter((x): x is string => !!x);
  return [...new Set(ids)].sort();
}

async function screenshotUri(store: EvidenceStore, manifest: CaptureManifest): Promise<string | null> {
  const candidates = manifest.artifacts.filter((a) => EMBEDDABLE_IMAGE_TYPES.has(a.mediaType.split(';')[0]!.trim().toLowerCase()));
  const original = candidates.find((a) => a.role === 'screenshot' && !a.derivedFrom);
  const thumb = original && candidates.find((a) => a.role === 'thumbnail' && a.derivedFrom?.source === original.name);
  const pick = original && original.size <= MAX_EMBEDDED_SCREENSHOT_BYTES ? original : thumb;
  if (!pick || pick.size > MAX_EMBEDDED_SCREENSHOT_BYTES) return null;
  const bytes = await store.getBytes(pick.storeKey);
  if (sha256Digest(bytes) !== pick.sha256) throw new IntegrityError('HASH_MISMATCH', `artifact ${pick.name} in the store does not match its manifest digest`);
  return `data:${pick.mediaType.split(';')[0]!.trim().toLowerCase()};base64,${bytes.toString('base64')}`;
}

/** Build a certified package. See the module comment for the order of steps. */
export async function buildPackage(opts: BuildPackageOptions): Promise<BuiltPackage> {
  const { caseId, store, clock } = opts;
  const outPath = path.resolve(opts.outPath);
  if (await stat(outPath).catch(() => null)) throw new PermanentError('INVALID_INPUT', `${outPath} exists; refusing to overwrite a package`);
  const bagName = path.basename(outPath).replace(/\.zip$/i, '') || caseId;
  const progress = (p: PackageProgress) => opts.onProgress?.(p);
  const log = opts.logger?.child({ context: 'package', caseId });

  // 1. Captures.
  const captureIds = opts.captureIds?.length ? [...new Set(opts.captureIds)] : await listCaptureIds(store, caseId);
  if (captureIds.length === 0) throw new PermanentError('NOT_FOUND', `case ${caseId} has no captures to package`);
  const captures: CaptureBundle[] = [];
  for (const id of captureIds) captures.push(await loadCapture(store, caseId, id));

  // 2. Custody: sign the head now; the bag holds the log up to it.
  progress({ phase: 'head', bytesDone: 0, bytesTotal: 0 });
  const signed = await opts.custody.signHead(caseId, { ...opts.headSigning, keys: opts.keys });
  const events = (await opts.custody.readLog(caseId)).filter((e) => e.event.seq <= signed.head.seq);
  if (events.length !== signed.head.seq) throw new IntegrityError('CUSTODY_CHAIN_BROKEN', `custody log of ${caseId} in the store has ${events.length} events up to head ${signed.head.seq}`);
  const heads: StoredHead[] = await opts.custody.readHeads(caseId, signed.head.seq);
  const headTokens = new Map<number, Buffer[]>();
  for (const h of heads) headTokens.set(h.head.seq, await Promise.all(h.tokens.map((t) => store.getBytes(t.tsrKey))));

  // 3. Keys and TSA certificates.
  const fingerprints = new Set<string>([...captures.flatMap((c) => (c.signature ? [c.signature.keyFingerprint] : [])), ...heads.map((h) => h.signature.keyFingerprint)]);
  const publicKeys = await opts.keys.publicKeys();
  const keyFiles: Array<{ path: string; pem: string }> = [];
  for (const fp of [...fingerprints].sort()) {
    const k = publicKeys.find((x) => x.fingerprint === fp);
    if (!k) throw new IntegrityError('SIGNATURE_INVALID', `public key ${fp} is not in the key store ${opts.keys.dir}`);
    keyFiles.push({ path: bagPaths.key(fp), pem: k.pem });
  }
  const caPem = (await Promise.all(opts.tsaCertFiles.map((f) => readFile(f, 'utf8')))).map((s) => s.trim() + '\n').join('');
  const allTokens = [...captures.flatMap((c) => c.timestamps.map((t) => t.tsr)), ...[...headTokens.values()].flat()];
  const tsaPem = [...new Set(allTokens.flatMap((t) => tokenCertificates(t)))].join('');

  // 4. Small payload files (in memory) and the artifact streams.
  const small = new Map<string, Buffer>();
  const entries: PayloadEntry[] = [];
  const addSmall = (p: string, bytes: Buffer) => {
    small.set(p, bytes);
    entries.push({ path: p, size: bytes.length, open: () => Readable.from([bytes]), compress: COMPRESSIBLE.test(p) });
  };
  for (const c of captures) {
    addSmall(bagPaths.captureManifest(c.captureId), c.manifestBytes);
    if (c.signature) {
      addSmall(bagPaths.captureSig(c.captureId), signatureBytes(c.signature));
      addSmall(bagPaths.captureSignature(c.captureId), Buffer.from(`${JSON.stringify(c.signature, null, 2)}\n`));
    }
    c.timestamps.forEach((t, i) => {
      addSmall(bagPaths.captureToken(c.captureId, i + 1), t.tsr);
      addSmall(bagPaths.captureTimestamp(c.captureId, i + 1), Buffer.from(`${JSON.stringify({ ...t.record, token: `${i + 1}.tsr` }, null, 2)}\n`));
    });
    for (const a of c.manifest.artifacts) {
      entries.push({
        path: bagPaths.artifact(c.captureId, a),
        size: a.size,
        open: () => store.get(a.storeKey),
        expect: { sha256: a.sha256, sha512: a.sha512, size: a.size },
        compress: COMPRESSIBLE.test(a.name),
      });
    }
  }
  addSmall(bagPaths.events, Buffer.concat(events.flatMap((e) => [e.bytes, Buffer.from('\n')])));
  for (const h of heads) {
    const seq = h.head.seq;
    addSmall(bagPaths.head(seq), h.headBytes);
    addSmall(bagPaths.headSig(seq), signatureBytes(h.signature));
    addSmall(bagPaths.headSignature(seq), Buffer.from(`${JSON.stringify(h.signature, null, 2)}\n`));
    const toks = headTokens.get(seq) ?? [];
    h.tokens.forEach((t, i) => {
      addSmall(bagPaths.headToken(seq, i + 1), toks[i]!);
      addSmall(bagPaths.headTimestamp(seq, i + 1), Buffer.from(`${JSON.stringify({ ...t.record, token: path.posix.basename(bagPaths.headToken(seq, i + 1)) }, null, 2)}\n`));
    });
  }
  for (const k of keyFiles) addSmall(k.path, Buffer.from(k.pem));
  addSmall(bagPaths.tsaCa, Buffer.from(caPem));
  addSmall(bagPaths.tsaCerts, Buffer.from(tsaPem));
  const verifyText = verifyInstructions({
    caseId,
    captures: captures.map((c) => ({ captureId: c.captureId, keyFingerprint: c.signature?.keyFingerprint ?? null, tokens: c.timestamps.length })),
    head: { seq: signed.head.seq, keyFingerprint: signed.signature.keyFingerprint, tokens: signed.tokens.length },
    genesisHash: genesisHash(caseId),
  });
  addSmall(bagPaths.verifyTxt, Buffer.from(verifyText));
  addSmall(bagPaths.readme, Buffer.from(PACKAGE_LAYOUT_TEXT));

  // 5. Certificate (HTML + PDF).
  progress({ phase: 'certificate', bytesDone: 0, bytesTotal: 0 });
  const generatedAt = isoUtc(clock.now());
  const html = renderCertificateHtml({
    caseId,
    organization: opts.organization ?? 'Exhibit',
    generatedAt,
    generatedBy: opts.actor.id,
    captures: await Promise.all(
      captures.map(async (c) => ({
        manifest: c.manifest,
        manifestDigest: c.digest,
        signature: c.signature,
        timestamps: c.timestamps.map((t) => t.record),
        screenshotDataUri: await screenshotUri(store, c.manifest),
        bagPathOf: (a: Artifact) => bagPaths.artifact(c.captureId, a),
      })),
    ),
    events: events.map((e) => e.event),
    head: { seq: signed.head.seq, hash: signed.head.hash, time: signed.head.time, timestamps: signed.timestamps },
    verifyText,
  });
  addSmall(bagPaths.certificateHtml, Buffer.from(html));
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-package-'));
  try {
    const pdfPath = path.join(tmpDir, 'certificate.pdf');
    await opts.renderPdf(html, pdfPath);
    const pdfSize = (await stat(pdfPath)).size;
    const { createReadStream } = await import('node:fs');
    entries.push({ path: bagPaths.certificatePdf, size: pdfSize, open: () => createReadStream(pdfPath), compress: false });

    // 6. Zip: payload streamed and hashed, then tag files.
    entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const seen = new Set<string>();
    for (const e of entries) {
      if (seen.has(e.path)) throw new IntegrityError('PACKAGE_INVALID', `two payload files would share the path ${e.path}`);
      seen.add(e.path);
    }
    const bytesTotal = entries.reduce((s, e) => s + e.size, 0);
    let bytesDone = 0;
    const partial = `${outPath}.partial-${process.pid}`;
    let firstError: unknown = null;
    let abort!: (err: unknown) => void;
    const aborted = new Promise<never>((_, reject) => (abort = reject));
    aborted.catch(() => undefined);
    // The first failure stops the build: later entries may never be read once yazl has failed.
    const failWith = (err: unknown) => {
      firstError ??= err;
      abort(firstError);
    };
    const zip = new yazl.ZipFile();
    zip.on('error', (err: unknown) => failWith(err));
    const zipHash = createHash('sha256');
    let zipSize = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        zipHash.update(chunk);
        zipSize += chunk.length;
        cb(null, chunk);
      },
    });
    const written = pipeline(zip.outputStream as unknown as Readable, counter, createWriteStream(partial, { flags: 'wx' }));
    written.catch(() => undefined);
    const mtime = new Date(generatedAt);
    const digests = new Map<string, { sha256: string; sha512: string; size: number }>();
    const hashed: Array<Promise<void>> = [];
    for (const e of entries) {
      let settle!: () => void;
      hashed.push(new Promise<void>((r) => (settle = r)));
      zip.addReadStreamLazy(`${bagName}/${e.path}`, { compress: e.compress, mtime, mode: 0o100644 }, (cb) => {
        Promise.resolve(e.open()).then(
          (src) => {
            const hasher = new HashingTransform({ sizeHint: e.size });
            const out = new PassThrough();
            pipeline(src, hasher, out).catch((err: unknown) => {
              failWith(err);
              settle();
            });
            hasher.digests().then(
              (d) => {
                digests.set(e.path, d);
                bytesDone += d.size;
                progress({ phase: 'payload', bytesDone, bytesTotal, detail: e.path });
                if (e.expect && (d.sha256 !== e.expect.sha256 || d.sha512 !== e.expect.sha512 || d.size !== e.expect.size)) {
                  failWith(new IntegrityError('HASH_MISMATCH', `${e.path}: the store returned bytes that do not match the manifest (${d.sha256}, expected ${e.expect.sha256})`));
                }
                settle();
              },
              () => settle(),
            );
            cb(null, out);
          },
          (err: unknown) => {
            failWith(err);
            settle();
            cb(err, Readable.from([]));
          },
        );
      });
    }
    try {
      await Promise.race([Promise.all(hashed), aborted]);
    } catch {
      // handled below
    }
    if (firstError) {
      (zip.outputStream as unknown as Readable).destroy();
      await written.catch(() => undefined);
      await rm(partial, { force: true });
      throw firstError;
    }

    // Tag files.
    progress({ phase: 'tags', bytesDone, bytesTotal });
    const payloadBytes = [...digests.values()].reduce((s, d) => s + d.size, 0);
    const operators = [...new Set(captures.flatMap((c) => [c.manifest.environment.operator, c.manifest.request.requestedBy]))].sort();
    const legalBases = [...new Set(captures.map((c) => c.manifest.request.legalBasis).filter((x): x is string => !!x))];
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
    ];
    const tags = new Map<string, Buffer>();
    tags.set(bagPaths.bagit, Buffer.from('BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n'));
    tags.set(bagPaths.bagInfo, Buffer.from(info.map(([k, v]) => `${k}: ${oneLine(v)}\n`).join('')));
    const sorted = [...digests.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    tags.set(bagPaths.manifest('sha256'), Buffer.from(sorted.map(([p, d]) => `${d.sha256.slice(7)}  ${manifestPath(p)}\n`).join('')));
    tags.set(bagPaths.manifest('sha512'), Buffer.from(sorted.map(([p, d]) => `${d.sha512.slice(7)}  ${manifestPath(p)}\n`).join('')));
    const tagList = [...tags.entries()];
    const hex = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex');
    tags.set(bagPaths.tagmanifest('sha256'), Buffer.from(tagList.map(([p, b]) => `${hex('sha256', b)}  ${p}\n`).join('')));
    tags.set(bagPaths.tagmanifest('sha512'), Buffer.from(tagList.map(([p, b]) => `${hex('sha512', b)}  ${p}\n`).join('')));
    for (const [p, b] of tags) zip.addBuffer(b, `${bagName}/${p}`, { compress: true, mtime, mode: 0o100644 });
    zip.end();
    await written;
    await rename(partial, outPath);

    // 7. The packaging is itself a custody event.
    const sha256 = `sha256:${zipHash.digest('hex')}`;
    progress({ phase: 'custody', bytesDone, bytesTotal });
    const { event } = await opts.custody.append({
      caseId,
      actor: opts.actor,
      action: 'packaged',
      subject: { digests: [sha256] },
      details: { package: path.basename(outPath), packageSha256: sha256, size: zipSize, captureIds, headSeq: signed.head.seq, headHash: signed.head.hash, payloadFiles: digests.size, payloadBytes },
      idempotencyKey: `package:${caseId}:${sha256}`,
    });
    log?.info({ path: outPath, sha256, size: zipSize, captures: captureIds.length, headSeq: signed.head.seq }, 'package built');
    progress({ phase: 'done', bytesDone, bytesTotal });
    return { path: outPath, sha256, size: zipSize, bagName, captureIds, headSeq: signed.head.seq, event, layout: PACKAGE_LAYOUT_TEXT };
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}
