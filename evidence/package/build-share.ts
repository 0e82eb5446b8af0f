/**
 * A package built for a partner agency (`exhibit share`): which artifacts are withheld, and the
 * signed share record. Withholding leaves an artifact's file out of the bag while its capture's
 * signed manifest stays byte-identical (so everything disclosed still verifies against the original
 * signature and tokens); the record lists each withheld item with what the manifest states of it.
 */
import { isoUtc, newId } from '../../lib/clock.js';
import { PermanentError } from '../../lib/errors.js';
import type { SignatureRecord } from '../../schemas/custody.js';
import type { CaptureManifest } from '../../schemas/manifest.js';
import { ShareRecord, type Tlp, type WithheldItem } from '../../schemas/share.js';
import { canonicalBytes, sha256Digest } from '../canonical.js';
import type { SigningKey } from '../keys.js';
import { signDigest } from '../signing.js';
import type { Clock } from '../../lib/clock.js';
import { bagPaths } from './layout.js';

/** What `exhibit share` asks of the build. */
export interface ShareSpec {
  /** The partner's name (partners store). */
  partner: string;
  /** The partner's pinned signing keys, recorded so the recipient can tell the share was meant for it. */
  partnerKeys: string[];
  legalBasis: string;
  tlp: Tlp;
  /** YYYY-MM-DD, or null. */
  expires: string | null;
  /** Artifact roles (`screenshot`, `warc`…), names (`media/001.jpg`) or bag paths to withhold. */
  withhold: string[];
}

/**
 * The artifacts of one capture that `rules` withhold: by role, by name, by `<captureId>/<name>` or by
 * bag path; a derivative of a withheld original is withheld with it (a thumbnail shows what its
 * screenshot shows). Returns each with the rule that matched, and the rules that matched here.
 */
export function withheldArtifacts(m: CaptureManifest, rules: readonly string[]): { items: WithheldItem[]; used: Set<string> } {
  const used = new Set<string>();
  const reasons = new Map<string, string>();
  for (const a of m.artifacts) {
    const path = bagPaths.artifact(m.captureId, a);
    const rule = rules.find((r) => r === a.role || r === a.name || r === `${m.captureId}/${a.name}` || r === path);
    if (rule) {
      used.add(rule);
      reasons.set(a.name, `withheld by the sender (${rule})`);
    }
  }
  // Derivatives of derivatives: follow until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const a of m.artifacts) {
      if (!reasons.has(a.name) && a.derivedFrom && reasons.has(a.derivedFrom.source)) {
        reasons.set(a.name, `derived from withheld ${a.derivedFrom.source}`);
        changed = true;
      }
    }
  }
  const items = m.artifacts
    .filter((a) => reasons.has(a.name))
    .map((a) => ({ captureId: m.captureId, name: a.name, role: a.role, path: bagPaths.artifact(m.captureId, a), size: a.size, sha256: a.sha256, sha512: a.sha512, reason: reasons.get(a.name)! }));
  return { items, used };
}

/** Withheld items of every capture; a rule that matches nothing is refused (a typo must not disclose what was meant to be withheld). */
export function withheldOfAll(manifests: readonly CaptureManifest[], rules: readonly string[]): WithheldItem[] {
  const used = new Set<string>();
  const items = manifests.flatMap((m) => {
    const w = withheldArtifacts(m, rules);
    for (const r of w.used) used.add(r);
    return w.items;
  });
  const unused = rules.filter((r) => !used.has(r));
  if (unused.length) throw new PermanentError('INVALID_INPUT', `--withhold ${unused.map((r) => JSON.stringify(r)).join(', ')} matches no artifact of the shared captures (give an artifact role, name or bag path)`);
  return items;
}

/** The manifest as far as the package discloses it: for choosing the certificate's image. */
export function disclosedView(m: CaptureManifest, withheld: ReadonlySet<string>): CaptureManifest {
  return withheld.size ? { ...m, artifacts: m.artifacts.filter((a) => !withheld.has(a.name)) } : m;
}

/** The share record's canonical bytes, digest and signature. */
export function signShareRecord(
  input: { spec: ShareSpec; packageId: string; caseId: string; organization: string; sharedBy: string; captureIds: string[]; files: number; withheld: WithheldItem[] },
  deps: { key: SigningKey; clock: Clock },
): { record: ShareRecord; bytes: Buffer; digest: string; signature: SignatureRecord } {
  const { spec } = input;
  const record = ShareRecord.parse({
    schemaVersion: 'exhibit.share-record/1',
    shareId: newId(),
    packageId: input.packageId,
    caseId: input.caseId,
    createdAt: isoUtc(deps.clock.now()),
    sender: { organization: input.organization, sharedBy: input.sharedBy, signingKey: deps.key.fingerprint },
    recipient: { partner: spec.partner, signingKeys: [...spec.partnerKeys].sort() },
    legalBasis: spec.legalBasis,
    tlp: spec.tlp,
    expires: spec.expires,
    disclosed: { captureIds: [...input.captureIds].sort(), files: input.files },
    withheld: input.withheld,
  });
  const bytes = canonicalBytes(record);
  const digest = sha256Digest(bytes);
  return { record, bytes, digest, signature: signDigest(digest, deps.key, deps.clock) };
}
