/**
 * Ed25519 signatures over SHA-256 digests, and sealing a stored manifest (signature + RFC 3161
 * tokens, stored write-once beside it).
 *
 * What is signed: the 32 raw bytes of the SHA-256 digest of the canonical (RFC 8785) bytes, with
 * pure Ed25519 (RFC 8032, no pre-hash). That keeps the check one standard command:
 *
 *     openssl dgst -sha256 -binary manifest.json > manifest.sha256.bin
 *     openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in manifest.sha256.bin -sigfile manifest.sig
 *
 * Store layout beside `cases/<caseId>/captures/<captureId>/manifest.json` (see `sealRecordKeys`):
 * `manifest.signature.json` (SignatureRecord), `timestamps/<n>.tsr` (TimeStampResp as received) and
 * `timestamps/<n>.json` (TimestampRecord), n = 1, 2, … in TSA order.
 */
import { createPublicKey, sign, verify } from 'node:crypto';
import type { Logger } from 'pino';
import { isoUtc, type Clock } from '../lib/clock.js';
import { IntegrityError, PermanentError } from '../lib/errors.js';
import { SignatureRecord, TimestampRecord } from '../schemas/custody.js';
import type { Failure } from '../schemas/errors.js';
import { keyFingerprint, type KeyStore, type SigningKey } from './keys.js';
import type { EvidenceStore } from './store.js';
import { timestampDigest, type TimestampDeps, type TsaEndpoint } from './timestamp.js';

/** `sha256:<hex>` → the 32 raw bytes. */
export function digestBytes(digest: string): Buffer {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new PermanentError('INVALID_INPUT', `expected sha256:<64 hex>, got ${JSON.stringify(digest)}`);
  return Buffer.from(m[1]!, 'hex');
}

/** Sign a `sha256:` digest (its 32 raw bytes) with the given key. */
export function signDigest(digest: string, key: SigningKey, clock: Clock): SignatureRecord {
  const signature = sign(null, digestBytes(digest), key.privateKey);
  return SignatureRecord.parse({
    schemaVersion: 'exhibit.signature/1',
    algorithm: 'Ed25519',
    keyFingerprint: key.fingerprint,
    signedDigest: digest,
    signature: signature.toString('base64'),
    signedAt: isoUtc(clock.now()),
  });
}

/** The raw 64-byte signature (the `.sig` file in packages). */
export function signatureBytes(record: SignatureRecord): Buffer {
  return Buffer.from(record.signature, 'base64');
}

/**
 * Check a signature record: it covers `digest`, names the key `publicKeyPem` holds, and the
 * Ed25519 signature verifies. Throws IntegrityError SIGNATURE_INVALID saying which part failed.
 */
export function verifySignatureRecord(record: SignatureRecord, opts: { digest: string; publicKeyPem: string }): void {
  if (record.signedDigest !== opts.digest) {
    throw new IntegrityError('SIGNATURE_INVALID', `signature covers ${record.signedDigest}, but the bytes hash to ${opts.digest}`);
  }
  let fp: string;
  let key;
  try {
    key = createPublicKey(opts.publicKeyPem);
    fp = keyFingerprint(key);
  } catch (cause) {
    throw new IntegrityError('SIGNATURE_INVALID', 'public key is not a valid Ed25519 key', { cause });
  }
  if (fp !== record.keyFingerprint) throw new IntegrityError('SIGNATURE_INVALID', `signature names key ${record.keyFingerprint}, public key is ${fp}`);
  if (!verify(null, digestBytes(opts.digest), key, signatureBytes(record))) {
    throw new IntegrityError('SIGNATURE_INVALID', `Ed25519 signature does not verify with key ${fp}`);
  }
}

/** Where signatures and timestamps of a capture manifest live in the store. */
export const sealRecordKeys = {
  signature: (caseId: string, captureId: string) => `cases/${caseId}/captures/${captureId}/manifest.signature.json`,
  timestamps: (caseId: string, captureId: string) => `cases/${caseId}/captures/${captureId}/timestamps/`,
  timestampToken: (caseId: string, captureId: string, n: number) => `cases/${caseId}/captures/${captureId}/timestamps/${n}.tsr`,
  timestampRecord: (caseId: string, captureId: string, n: number) => `cases/${caseId}/captures/${captureId}/timestamps/${n}.json`,
} as const;

/** JSON as we write records: pretty, trailing newline (records other than canonical documents). */
export function recordBytes(value: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
}

export interface AttestDeps {
  store: EvidenceStore;
  keys: KeyStore;
  clock: Clock;
  logger?: Logger;
  tsas: TsaEndpoint[];
  /** Passed to the TSA client (trust anchors, timeouts, attempts). */
  timestamp: Omit<TimestampDeps, 'clock' | 'logger'>;
}

export interface AttestResult {
  signature: SignatureRecord;
  timestamps: TimestampRecord[];
  timestampFailures: Array<{ tsaUrl: string; failure: Failure }>;
  /** True when signed and at least one TSA token is stored; else the capture is `unsealed`. */
  sealed: boolean;
}

/** Read the signature and timestamp records already stored for a capture (empty when none). */
export async function readSealRecords(store: EvidenceStore, caseId: string, captureId: string): Promise<{ signature: SignatureRecord | null; timestamps: Array<{ record: TimestampRecord; tokenKey: string }> }> {
  const sigKey = sealRecordKeys.signature(caseId, captureId);
  const readSignature = async (): Promise<SignatureRecord | null> => ((await store.stat(sigKey)) ? SignatureRecord.parse(JSON.parse((await store.getBytes(sigKey)).toString('utf8'))) : null);
  const readTimestamps = async (): Promise<Array<{ record: TimestampRecord; tokenKey: string }>> => {
    const keys = await store.list(sealRecordKeys.timestamps(caseId, captureId));
    const nums = keys.map((k) => /\/(\d+)\.json$/.exec(k)?.[1]).filter((n): n is string => !!n).map(Number).sort((a, b) => a - b);
    return Promise.all(
      nums.map(async (n) => ({
        record: TimestampRecord.parse(JSON.parse((await store.getBytes(sealRecordKeys.timestampRecord(caseId, captureId, n))).toString('utf8'))),
        tokenKey: sealRecordKeys.timestampToken(caseId, captureId, n),
      })),
    );
  };
  const [signature, timestamps] = await Promise.all([readSignature(), readTimestamps()]);
  return { signature, timestamps };
}

/**
 * Sign and timestamp a stored manifest digest and store the records write-once beside it.
 * Idempotent: an existing signature is kept; TSAs are asked only when no token is stored yet.
 * Never throws for TSA failures (they come back in `timestampFailures`, `sealed` false).
 */
export async function attestManifest(caseId: string, captureId: string, manifestDigest: string, deps: AttestDeps): Promise<AttestResult> {
  const existing = await readSealRecords(deps.store, caseId, captureId);
  let signature = existing.signature;
  if (signature && signature.signedDigest !== manifestDigest) {
    throw new IntegrityError('SIGNATURE_INVALID', `capture ${captureId} already has a signature over ${signature.signedDigest}, not ${manifestDigest}`);
  }
  let storingSignature: Promise<unknown> = Promise.resolve();
  if (!signature) {
    signature = signDigest(manifestDigest, await deps.keys.activeKey(), deps.clock);
    storingSignature = deps.store.putRecord(sealRecordKeys.signature(caseId, captureId), recordBytes(signature), { contentType: 'application/json' });
  }
  if (existing.timestamps.length > 0) {
    await storingSignature;
    return { signature, timestamps: existing.timestamps.map((t) => t.record), timestampFailures: [], sealed: true };
  }
  // The TSA round trip and the signature's store write overlap; both must succeed.
  const [outcome] = await Promise.all([timestampDigest(manifestDigest, deps.tsas, { ...deps.timestamp, clock: deps.clock, ...(deps.logger ? { logger: deps.logger } : {}) }), storingSignature]);
  const timestamps = outcome.tokens.map((tok, i) => TimestampRecord.parse({ ...tok.record, token: `${i + 1}.tsr` }));
  // Per token the reply goes first: a retry takes a stored record as proof its token is there.
  await Promise.all(
    outcome.tokens.map(async (tok, i) => {
      await deps.store.putRecord(sealRecordKeys.timestampToken(caseId, captureId, i + 1), tok.tsr, { contentType: 'application/timestamp-reply' });
      await deps.store.putRecord(sealRecordKeys.timestampRecord(caseId, captureId, i + 1), recordBytes(timestamps[i]!), { contentType: 'application/json' });
    }),
  );
  return { signature, timestamps, timestampFailures: outcome.failures, sealed: timestamps.length > 0 };
}
