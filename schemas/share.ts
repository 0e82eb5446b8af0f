import { z } from 'zod';
import { CaseId, IsoUtc, Sha256Digest, Sha512Digest, Uuid } from './common.js';

/** TLP 2.0 (FIRST) handling markings, as the share record and `--tlp` spell them. */
export const TLP_LEVELS = ['clear', 'green', 'amber', 'amber+strict', 'red'] as const;
export const Tlp = z.enum(TLP_LEVELS);
export type Tlp = z.infer<typeof Tlp>;

/**
 * An artifact a share withholds: exactly what the capture's signed manifest already states of it
 * (its name, role, size and digests), so a later formal disclosure of the file matches it by
 * digest. Nothing more is hidden by a salted commitment, since the signed manifest (which must stay
 * byte-identical for its signature and tokens to verify) already holds the unsalted digests.
 */
export const WithheldItem = z.object({
  captureId: Uuid,
  name: z.string().min(1).max(1000),
  role: z.string(),
  /** Where the file would be in the bag. */
  path: z.string(),
  size: z.number().int().nonnegative(),
  sha256: Sha256Digest,
  sha512: Sha512Digest,
  /** Why: the sender's rule that matched (a role, a name or a path), or the withheld original a derivative was made from. */
  reason: z.string().max(1000),
});
export type WithheldItem = z.infer<typeof WithheldItem>;

/**
 * The record of one share (`data/share/record.json` in the package, canonical RFC 8785 bytes,
 * Ed25519-signed like a manifest; its digest is in the `shared` custody event and it is listed in
 * the content manifest, so the signed, timestamped head covers it).
 */
export const ShareRecord = z.object({
  schemaVersion: z.literal('exhibit.share-record/1'),
  shareId: Uuid,
  packageId: Uuid,
  caseId: CaseId,
  createdAt: IsoUtc,
  sender: z.object({
    organization: z.string().min(1).max(500),
    /** Who shared (operator or user id and role). */
    sharedBy: z.string().min(1).max(500),
    /** The key that signs this record and the package seal. */
    signingKey: Sha256Digest,
  }),
  recipient: z.object({
    /** The partner's name as the sender pinned it. */
    partner: z.string().min(1).max(200),
    /** The partner's signing keys as the sender pinned them: a recipient can tell the share was meant for it. */
    signingKeys: z.array(Sha256Digest),
  }),
  /** The legal basis of the transfer (MLA request, treaty, agreement), as the sender states it. */
  legalBasis: z.string().min(1).max(2000),
  /** TLP 2.0 handling marking. */
  tlp: Tlp,
  /** Last day (UTC, YYYY-MM-DD) the recipient may use the material under this share; null: no expiry. */
  expires: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).nullable(),
  disclosed: z.object({ captureIds: z.array(Uuid), files: z.number().int().nonnegative() }),
  withheld: z.array(WithheldItem),
});
export type ShareRecord = z.infer<typeof ShareRecord>;

/**
 * What a deployment records when it takes in a package from a partner (`exhibit import`), stored
 * write-once at `cases/<localCase>/received/<package sha256 hex>/record.json`; the package zip is
 * kept byte-identical as a content-addressed blob (`package.storeKey`), and each capture's files as
 * they came, never re-signed.
 */
export const ImportRecord = z.object({
  schemaVersion: z.literal('exhibit.import-record/1'),
  caseId: CaseId,
  receivedAt: IsoUtc,
  receivedBy: z.string(),
  /** The partner as pinned here, and the pins the package verified against. */
  partner: z.object({ name: z.string(), signingKeys: z.array(Sha256Digest), tsaRoots: z.array(Sha256Digest) }),
  package: z.object({ sha256: Sha256Digest, sha512: Sha512Digest, size: z.number().int().nonnegative(), packageId: Uuid, storeKey: z.string() }),
  origin: z.object({
    organization: z.string(),
    caseId: CaseId,
    /** The origin's signed custody head the package ends with. */
    head: z.object({ seq: z.number().int().positive(), hash: Sha256Digest }),
    signingKeys: z.array(Sha256Digest),
  }),
  share: z.object({ shareId: Uuid, legalBasis: z.string(), tlp: Tlp, expires: z.string().nullable(), withheld: z.number().int().nonnegative() }).nullable(),
  captures: z.array(
    z.object({
      captureId: Uuid,
      manifestDigest: Sha256Digest,
      /** Store keys of the exact files as received (manifest, signature, tokens) and of each artifact's blob. */
      files: z.array(z.object({ path: z.string(), sha256: Sha256Digest, size: z.number().int().nonnegative(), storeKey: z.string() })),
    }),
  ),
});
export type ImportRecord = z.infer<typeof ImportRecord>;
