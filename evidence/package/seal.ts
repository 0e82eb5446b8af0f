/**
 * Sealing a package as a whole.
 *
 * Before the package is built: a canonical content manifest (every capture file, the signing keys
 * and TSA CA file, the facts bag-info.txt states, the selection and what a whole-case package leaves
 * out) whose digest goes into the `packaged` custody event; a head signed and timestamped after that
 * event covers it. Last: package-seal.json, the SHA-256 of every file in the bag (certificate,
 * bag-info.txt, VERIFY.txt, README.txt and the custody files included; only the BagIt manifests and
 * the seal's own signature and tokens are not listed), Ed25519-signed and RFC 3161-timestamped.
 */
import type { Logger } from 'pino';
import { isoUtc, type Clock } from '../../lib/clock.js';
import type { CustodyEvent } from '../../schemas/custody.js';
import type { Failure } from '../../schemas/errors.js';
import { PackageContentManifest, PackageSeal } from '../../schemas/trust.js';
import { canonicalBytes, sha256Digest } from '../canonical.js';
import type { SigningKey } from '../keys.js';
import { bagPaths } from './layout.js';
import { recordBytes, signatureBytes, signDigest } from '../signing.js';
import { timestampDigest, type TimestampDeps, type TsaEndpoint } from '../timestamp.js';

/** Captures the log records as sealed (a `manifest-signed` event), in id order. */
export function sealedCaptureIds(events: readonly CustodyEvent[]): string[] {
  return [...new Set(events.filter((e) => e.action === 'manifest-signed' && e.subject.captureId).map((e) => e.subject.captureId!))].sort();
}

export function contentManifestBytes(m: PackageContentManifest): { bytes: Buffer; digest: string } {
  const bytes = canonicalBytes(PackageContentManifest.parse(m));
  return { bytes, digest: sha256Digest(bytes) };
}

export interface SealOutcome {
  /** package-seal.json, its signature and record, and one token and record per TSA that answered. */
  files: Map<string, Buffer>;
  tokens: number;
  failures: Array<{ tsaUrl: string; failure: Failure }>;
}

/** Sign and timestamp the seal; never throws for TSA failures (they come back, `tokens` 0). */
export async function sealPackage(
  seal: Omit<PackageSeal, 'schemaVersion' | 'sealedAt'>,
  deps: { key: SigningKey; clock: Clock; tsas: TsaEndpoint[]; timestamp: Omit<TimestampDeps, 'clock' | 'logger'>; logger?: Logger },
): Promise<SealOutcome> {
  const files = new Map<string, Buffer>();
  const bytes = canonicalBytes(PackageSeal.parse({ schemaVersion: 'exhibit.package-seal/1', ...seal, sealedAt: isoUtc(deps.clock.now()) }));
  const digest = sha256Digest(bytes);
  files.set(bagPaths.seal, bytes);
  const sig = signDigest(digest, deps.key, deps.clock);
  files.set(bagPaths.sealSig, signatureBytes(sig));
  files.set(bagPaths.sealSignature, recordBytes(sig));
  const outcome = deps.tsas.length ? await timestampDigest(digest, deps.tsas, { ...deps.timestamp, clock: deps.clock, ...(deps.logger ? { logger: deps.logger } : {}) }) : { tokens: [], failures: [] };
  outcome.tokens.forEach((tok, i) => {
    files.set(bagPaths.sealToken(i + 1), tok.tsr);
    files.set(bagPaths.sealTimestamp(i + 1), recordBytes({ ...tok.record, token: bagPaths.sealToken(i + 1) }));
  });
  return { files, tokens: outcome.tokens.length, failures: outcome.failures };
}
