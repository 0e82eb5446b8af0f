import { z } from 'zod';
import { CaseId, IsoUtc, Sha256Digest, Uuid } from './common.js';
import { WithheldItem } from './share.js';

/**
 * Where a trust anchor came from. `flag`: the command line (or API request); `trust-store`: the
 * local trust store (`exhibit trust add`); `local-key-store` / `local-tsa-config`: this
 * deployment's own signing keys and configured TSA CA files; `rotation`: a key authenticated by a
 * rotation statement signed by a key that was itself pinned; `partner`: a partner agency's pin set
 * (`exhibit partners add`), used alone when importing a package from that partner.
 */
export const ANCHOR_SOURCES = ['flag', 'trust-store', 'local-key-store', 'local-tsa-config', 'rotation', 'partner'] as const;
export const AnchorSource = z.enum(ANCHOR_SOURCES);
export type AnchorSource = z.infer<typeof AnchorSource>;

/** One entry of the local trust store (JSON file, config `trust.file`). */
export const TrustEntry = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('signing-key'),
    /** `sha256:` of the raw 32-byte Ed25519 public key. */
    fingerprint: Sha256Digest,
    name: z.string().max(200).nullable(),
    addedAt: IsoUtc,
  }),
  z.object({
    kind: z.literal('tsa-ca'),
    /** `sha256:` of the certificate's DER. */
    fingerprint: Sha256Digest,
    subject: z.string(),
    /** The certificate itself (PEM): a TSA root is checked against its bytes, not only its name. */
    pem: z.string(),
    name: z.string().max(200).nullable(),
    addedAt: IsoUtc,
  }),
]);
export type TrustEntry = z.infer<typeof TrustEntry>;

/**
 * A partner agency: a named set of pins (signing keys and TSA roots exchanged out of band). A
 * package imported `--from` a partner must verify against exactly these, not the whole trust store.
 */
export const Partner = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a partner name is letters, digits, . _ - (up to 100)'),
  /** `sha256:` of each raw 32-byte Ed25519 public key the partner signs with. */
  signingKeys: z.array(Sha256Digest).min(1),
  /** The partner's TSA roots (PEM kept: a root is checked against its bytes). */
  tsaCas: z.array(z.object({ fingerprint: Sha256Digest, subject: z.string(), pem: z.string() })),
  addedAt: IsoUtc,
});
export type Partner = z.infer<typeof Partner>;

export const PartnersFile = z.object({
  schemaVersion: z.literal('exhibit.partners/1'),
  partners: z.array(Partner),
});
export type PartnersFile = z.infer<typeof PartnersFile>;

export const TrustStoreFile = z.object({
  schemaVersion: z.literal('exhibit.trust-store/1'),
  entries: z.array(TrustEntry),
});
export type TrustStoreFile = z.infer<typeof TrustStoreFile>;

/**
 * A signing-key rotation, signed by the OUTGOING key (canonical RFC 8785 bytes, signed like a
 * manifest: Ed25519 over their SHA-256). A recipient who pinned `previous` authenticates `next`.
 */
export const KeyRotation = z.object({
  schemaVersion: z.literal('exhibit.key-rotation/1'),
  previous: Sha256Digest,
  next: Sha256Digest,
  time: IsoUtc,
});
export type KeyRotation = z.infer<typeof KeyRotation>;

/** A file a package holds, with its SHA-256 and size. */
export const PackageFileDigest = z.object({ path: z.string(), sha256: Sha256Digest, size: z.number().int().nonnegative() });

/**
 * What a package holds, fixed before the package is built: its digest is recorded in the `packaged`
 * custody event, which a head signed and timestamped after it covers. Lists every capture file, key
 * and TSA certificate, the facts bag-info.txt states, and the selection (a whole case lists each
 * sealed capture it leaves out, and why).
 */
export const PackageContentManifest = z.object({
  schemaVersion: z.literal('exhibit.package-content/1'),
  packageId: Uuid,
  caseId: CaseId,
  createdAt: IsoUtc,
  selection: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('case') }),
    z.object({ kind: z.literal('captures'), captureIds: z.array(Uuid) }),
  ]),
  captureIds: z.array(Uuid),
  /** Captures the signed log records as sealed that this package does not hold, with the reason. */
  omitted: z.array(z.object({ captureId: Uuid, reason: z.string() })),
  /** The last custody event read when the captures were chosen: a whole case holds (or names) every capture sealed up to it. */
  sealedThroughSeq: z.number().int().nonnegative(),
  facts: z.object({
    organization: z.string(),
    legalBases: z.array(z.string()),
    operators: z.array(z.string()),
    packagedBy: z.string(),
  }),
  files: z.array(PackageFileDigest),
  /** Artifacts of the held captures a share withholds (schemas/share.ts); absent or empty: none. */
  withheld: z.array(WithheldItem).optional(),
  /** Packages received from partners that this one carries whole (data/received/), by zip digest, with the captures they hold. */
  received: z.array(z.object({ packageSha256: Sha256Digest, captureIds: z.array(Uuid) })).optional(),
  /** Derived analysis products under data/analysis/ (absent when none): marked as derived, never evidence. */
  analysis: z.array(z.object({ kind: z.enum(['case-graph']), derived: z.literal(true), description: z.string(), files: z.array(z.string()) })).optional(),
});
export type PackageContentManifest = z.infer<typeof PackageContentManifest>;

/**
 * The seal over a whole package (tag file `package-seal.json` at the bag root, canonical bytes):
 * the SHA-256 of every file in the bag except the BagIt manifests and tag manifests and the seal's
 * own signature and token files. Ed25519-signed and RFC 3161-timestamped like a manifest.
 */
export const PackageSeal = z.object({
  schemaVersion: z.literal('exhibit.package-seal/1'),
  packageId: Uuid,
  caseId: CaseId,
  contentManifestDigest: Sha256Digest,
  /** The `packaged` custody event and the signed head that covers it. */
  packagedEventSeq: z.number().int().positive(),
  headSeq: z.number().int().positive(),
  sealedAt: IsoUtc,
  files: z.array(PackageFileDigest),
});
export type PackageSeal = z.infer<typeof PackageSeal>;
