import type { Readable } from 'node:stream';

/** A content-addressed blob as stored: key is `sha256/<hex>`. */
export interface StoredBlob {
  key: string;
  sha256: string;
  sha512: string;
  size: number;
  /** False when an identical blob was already there (idempotent re-seal). */
  created: boolean;
  /** The object version the store gave the sealed bytes (S3 with versioning); absent for the local-dir store, which has no versions. */
  versionId?: string;
}

/**
 * Someone wrote over sealed evidence in a versioned store: a newer version or a delete marker sits
 * above the version written at seal. Reads keep serving the sealed version; the finding is an
 * integrity matter for the custody log (workers/runtime.ts reports it there).
 */
export interface StoreFinding {
  key: string;
  /** The version written at seal, still served. */
  sealedVersionId: string;
  /** What lies above it, newest first. */
  above: Array<{ versionId: string; deleteMarker: boolean }>;
}

/**
 * The evidence store. Two implementations (local directory, S3/MinIO with Object Lock) pass one
 * contract suite. There is no delete and no overwrite: the application cannot destroy evidence.
 */
export interface EvidenceStore {
  readonly kind: 'fs' | 's3';
  /** Human-readable location (directory, or s3://bucket), for messages. */
  readonly location: string;
  /**
   * Stream a local file in once, computing SHA-256 and SHA-512 on the way; store it under
   * `sha256/<hex>`. When `expectSha256` is given and the bytes differ: IntegrityError HASH_MISMATCH.
   */
  putFile(filePath: string, opts?: { expectSha256?: string; contentType?: string }): Promise<StoredBlob>;
  /** Same, for bytes already in memory (manifests, small JSON). */
  putBytes(bytes: Uint8Array, opts?: { contentType?: string }): Promise<StoredBlob>;
  /**
   * Write-once named record (manifests, custody events, signatures). Writing identical bytes again
   * is a no-op (`created: false`); different bytes under an existing key: IntegrityError STORE_CONFLICT.
   */
  putRecord(key: string, bytes: Uint8Array, opts?: { contentType?: string }): Promise<{ created: boolean; versionId?: string }>;
  /**
   * Read a blob or record: always the version written at seal, never a later one (S3). NotFound:
   * PermanentError NOT_FOUND.
   */
  get(key: string): Promise<Readable>;
  getBytes(key: string): Promise<Buffer>;
  /** Size of the object, or null when absent. */
  stat(key: string): Promise<{ size: number } | null>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * Called once per distinct finding this process sees (S3 only: the local-dir store keeps no
   * versions, and refuses overwrites itself).
   */
  onFinding?: (finding: StoreFinding) => void;
  close?(): Promise<void>;
}

/** Store layout: where named records live. One place, so package and verify agree with seal. */
export const storeKeys = {
  blob: (sha256Hex: string) => `sha256/${sha256Hex}`,
  captureDir: (caseId: string, captureId: string) => `cases/${caseId}/captures/${captureId}/`,
  manifest: (caseId: string, captureId: string) => `cases/${caseId}/captures/${captureId}/manifest.json`,
  captures: (caseId: string) => `cases/${caseId}/captures/`,
  custody: (caseId: string) => `cases/${caseId}/custody/`,
  cases: () => 'cases/',
} as const;

/** Zero-padded sequence number used in store keys. */
export const seqName = (seq: number) => String(seq).padStart(12, '0');

/** Where custody records live in the store. */
export const custodyKeys = {
  event: (caseId: string, seq: number) => `${storeKeys.custody(caseId)}${seqName(seq)}.json`,
  heads: (caseId: string) => `cases/${caseId}/custody-heads/`,
  head: (caseId: string, seq: number) => `cases/${caseId}/custody-heads/${seqName(seq)}.json`,
  headSignature: (caseId: string, seq: number) => `cases/${caseId}/custody-heads/${seqName(seq)}.signature.json`,
  headToken: (caseId: string, seq: number, n: number) => `cases/${caseId}/custody-heads/${seqName(seq)}.timestamp-${n}.tsr`,
  headTimestamp: (caseId: string, seq: number, n: number) => `cases/${caseId}/custody-heads/${seqName(seq)}.timestamp-${n}.json`,
} as const;
const MANIFEST_KEY = /^cases\/([^/]+)\/captures\/([^/]+)\/manifest\.json$/;

/** The case and capture a key names when it is a capture's manifest ({@link storeKeys}.manifest), else null. */
export function manifestKeyParts(key: string): { caseId: string; captureId: string } | null {
  const m = MANIFEST_KEY.exec(key);
  return m ? { caseId: m[1]!, captureId: m[2]! } : null;
}

/** Ids of the captures of a case whose manifest is in the store (sealed, timestamped or not), sorted. */
export async function sealedCaptureIds(store: Pick<EvidenceStore, 'list'>, caseId: string): Promise<string[]> {
  const ids = (await store.list(storeKeys.captures(caseId))).map((k) => manifestKeyParts(k)).filter((p) => p?.caseId === caseId).map((p) => p!.captureId);
  return [...new Set(ids)].sort();
}

/** Every case in the store with the ids of its captures whose manifest is there, cases and ids sorted. */
export async function sealedCapturesByCase(store: Pick<EvidenceStore, 'list'>): Promise<Map<string, string[]>> {
  const byCase = new Map<string, Set<string>>();
  for (const k of await store.list(storeKeys.cases())) {
    const p = manifestKeyParts(k);
    if (!p) continue;
    let ids = byCase.get(p.caseId);
    if (!ids) byCase.set(p.caseId, (ids = new Set()));
    ids.add(p.captureId);
  }
  return new Map([...byCase].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([c, ids]) => [c, [...ids].sort()]));
}
