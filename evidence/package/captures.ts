/**
 * The payload files of a package as zip entries: a capture's manifest, seal records and artifacts
 * (each artifact checked against its sealed digests as the zip writer reads it), and the files the
 * package writes itself.
 */
import { Readable } from 'node:stream';
import { IntegrityError, PermanentError } from '../../lib/errors.js';
import type { SignatureRecord, TimestampRecord } from '../../schemas/custody.js';
import { StoredCaptureManifest, type CaptureManifest } from '../../schemas/manifest.js';
import { sha256Digest } from '../canonical.js';
import { readSealRecords, signatureBytes } from '../signing.js';
import { storeKeys, type EvidenceStore } from '../store.js';
import { disclosedView } from './build-share.js';
import type { CertificateImages } from './images.js';
import { bagPaths, isSafeRelativeName } from './layout.js';
import type { PayloadEntry } from './payload-zip.js';

/** Text files are deflated from this size on; below it a zip entry saves next to nothing. */
const COMPRESS_MIN_BYTES = 4 * 1024;
const COMPRESSIBLE = /\.(json|jsonl|txt|html?|pem|mhtml|csv|xml|svg)$/i;

const compressible = (p: string, size: number) => size >= COMPRESS_MIN_BYTES && COMPRESSIBLE.test(p);

/** A file the package writes itself, already in memory. */
export const inMemory = (p: string, bytes: Buffer): PayloadEntry => ({ path: p, size: bytes.length, bytes, open: () => Readable.from([bytes]), compress: compressible(p, bytes.length) });

export const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** Pretty-printed JSON with a final newline, as records are written into the bag. */
export const jsonFile = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

export interface CaptureBundle {
  captureId: string;
  manifest: CaptureManifest;
  manifestBytes: Buffer;
  digest: string;
  signature: SignatureRecord | null;
  timestamps: Array<{ record: TimestampRecord; tsr: Buffer }>;
  /** Names of artifacts a share withholds: their files stay out of the bag (build-share.ts). */
  withheld: Set<string>;
}

export async function loadCapture(store: EvidenceStore, caseId: string, captureId: string): Promise<CaptureBundle> {
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
  return { captureId, manifest, manifestBytes, digest, signature: seal.signature, timestamps, withheld: new Set() };
}

/** Refuses a second payload file at a path already taken. */
export class PathClaims {
  private readonly seen = new Set<string>();
  claim(list: ReadonlyArray<{ path: string }>): void {
    for (const e of list) {
      if (this.seen.has(e.path)) throw new IntegrityError('PACKAGE_INVALID', `two payload files would share the path ${e.path}`);
      this.seen.add(e.path);
    }
  }
}

/** A capture's files, sorted: manifest, seal records and every artifact (checked against the manifest). */
export function captureEntries(c: CaptureBundle, o: { store: EvidenceStore; images: CertificateImages; bufferedMax: number }): PayloadEntry[] {
  const list: PayloadEntry[] = [];
  list.push(inMemory(bagPaths.captureManifest(c.captureId), c.manifestBytes));
  if (c.signature) {
    list.push(inMemory(bagPaths.captureSig(c.captureId), signatureBytes(c.signature)));
    list.push(inMemory(bagPaths.captureSignature(c.captureId), jsonFile(c.signature)));
  }
  c.timestamps.forEach((t, i) => {
    list.push(inMemory(bagPaths.captureToken(c.captureId, i + 1), t.tsr));
    list.push(inMemory(bagPaths.captureTimestamp(c.captureId, i + 1), jsonFile({ ...t.record, token: `${i + 1}.tsr` })));
  });
  const pictured = o.images.pictured(disclosedView(c.manifest, c.withheld));
  for (const a of c.manifest.artifacts) {
    if (c.withheld.has(a.name)) continue;
    list.push({
      path: bagPaths.artifact(c.captureId, a),
      size: a.size,
      ...(a.size <= o.bufferedMax ? { read: () => (a === pictured ? o.images.read(a.storeKey) : o.store.getBytes(a.storeKey)) } : {}),
      open: () => o.store.get(a.storeKey),
      expect: { sha256: a.sha256, sha512: a.sha512, size: a.size },
      compress: compressible(a.name, a.size),
    });
  }
  return list.sort(byPath);
}
