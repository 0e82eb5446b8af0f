import { z } from 'zod';
import { CaseId, IsoUtc, Sha256Digest, Uuid } from './common.js';
import { Failure } from './errors.js';
import { AnchorSource } from './trust.js';

/**
 * What happened, in the custody log. Closed vocabulary: a new kind of event is a schema change.
 * `head-signed` is available to callers that want the periodic head signing itself on record
 * (evidence/custody.ts `signHead` does not append it, since that would move the head it just signed).
 * `package-failed` follows a `packaged` event whose package could not be completed (the package id
 * it names does not exist).
 * `identity-asserted`: an analyst states that two accounts are the same person or linked (details:
 * schemas/graph.ts `IdentityAssertionDetails`); the case graph shows it as asserted, never as observed.
 * `shared`: a package was built for a partner agency (details: share id, partner, legal basis, TLP,
 * expiry, captures disclosed, artifacts withheld, the share record's digest). `received`: a package
 * from a partner was verified and its captures taken into this case (details: partner, package
 * digest, origin case and capture ids).
 * `tag-added`, `tag-removed`, `note-added`: an analyst's annotation of a sealed capture (details:
 * schemas/annotation.ts); the capture's evidence is never changed by them.
 * `store-tampered`: an integrity finding — a newer version or a delete marker lies over a sealed
 * object in the versioned store (details: code, kind, key, sealedVersionId, above); reads still
 * serve the sealed version.
 */
export const CUSTODY_ACTIONS = [
  'request-submitted',
  'capture-started',
  'capture-finished',
  'capture-failed',
  'artifact-sealed',
  'manifest-signed',
  'timestamped',
  'seal-failed',
  'packaged',
  'package-failed',
  'exported',
  'verified',
  'viewed',
  'downloaded',
  'watch-triggered',
  'head-signed',
  'identity-asserted',
  'shared',
  'received',
  'tag-added',
  'tag-removed',
  'note-added',
  'store-tampered',
] as const;
export const CustodyAction = z.enum(CUSTODY_ACTIONS);
export type CustodyAction = z.infer<typeof CustodyAction>;

export const ACTOR_TYPES = ['operator', 'service', 'user'] as const;

/** Who acted: a human operator or user, or a service together with the human who authorised it. */
export const CustodyActor = z.object({
  type: z.enum(ACTOR_TYPES),
  id: z.string().min(1).max(200),
  role: z.string().min(1).max(200),
  /** For services (seal worker, watchlist): the human on whose authority they act. */
  authorisedBy: z.string().min(1).max(200).optional(),
  /** For `operator` (a command-line run): the OS account and host that ran the command; `id` is the name given. Absent in older events. */
  osUser: z.string().min(1).max(200).optional(),
  host: z.string().min(1).max(255).optional(),
});
export type CustodyActor = z.infer<typeof CustodyActor>;

/**
 * One custody event, as stored (canonical RFC 8785 bytes, write-once at
 * `cases/<caseId>/custody/<seq, 12 digits>.json`).
 *
 * `hash` is `sha256:` of the canonical bytes of the event *without* its `hash` field;
 * `prevHash` is the `hash` of event `seq - 1`, and for `seq` 1 the genesis hash
 * `sha256("exhibit.custody-genesis/1\n" + caseId)` (see evidence/custody.ts `genesisHash`).
 */
export const CustodyEvent = z.object({
  schemaVersion: z.literal('exhibit.custody-event/1'),
  caseId: CaseId,
  seq: z.number().int().positive(),
  eventId: Uuid,
  time: IsoUtc,
  actor: CustodyActor,
  action: CustodyAction,
  subject: z.object({
    captureId: Uuid.optional(),
    digests: z.array(z.string()).optional(),
  }),
  details: z.record(z.string(), z.unknown()),
  /** The caller's key that makes a retried append a no-op, e.g. `seal:<captureId>:artifact:<sha256>`. */
  idempotencyKey: z.string().max(500).optional(),
  prevHash: Sha256Digest,
  hash: Sha256Digest,
});
export type CustodyEvent = z.infer<typeof CustodyEvent>;

/**
 * A custody event a package does not disclose, reduced to what the hash chain needs: its seq, the
 * hash of the event before it and its own hash (one line of `data/custody/events.jsonl`, canonical
 * bytes). The event's content (actor, action, subject, details) stays with the sender. The next
 * line's `prevHash` must equal `hash`, so the chain still links end to end up to the signed head;
 * the hidden event cannot be recomputed, so its hash is bound by what follows it (see
 * evidence/custody-elide.ts).
 */
export const ElidedCustodyEvent = z
  .object({
    schemaVersion: z.literal('exhibit.custody-elided/1'),
    caseId: CaseId,
    seq: z.number().int().positive(),
    prevHash: Sha256Digest,
    hash: Sha256Digest,
  })
  .strict();
export type ElidedCustodyEvent = z.infer<typeof ElidedCustodyEvent>;

/** An Ed25519 signature over a 32-byte SHA-256 digest, stored as JSON beside what it signs. */
export const SignatureRecord = z.object({
  schemaVersion: z.literal('exhibit.signature/1'),
  algorithm: z.literal('Ed25519'),
  /** `sha256:<hex of the raw 32-byte Ed25519 public key>`. */
  keyFingerprint: Sha256Digest,
  /** The digest whose 32 raw bytes were signed (pure Ed25519, no pre-hash): the SHA-256 of the canonical bytes. */
  signedDigest: Sha256Digest,
  /** 64-byte signature, base64. */
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'expected a base64 64-byte signature'),
  signedAt: IsoUtc,
});
export type SignatureRecord = z.infer<typeof SignatureRecord>;

/** What we learnt from one RFC 3161 token, checked on receipt; stored as JSON beside the `.tsr`. */
export const TimestampRecord = z.object({
  schemaVersion: z.literal('exhibit.timestamp/1'),
  tsaUrl: z.string(),
  /** The digest that was timestamped (the message imprint), `sha256:<hex>`. */
  digest: Sha256Digest,
  genTime: IsoUtc,
  /** Local clock when the response arrived. */
  localTime: IsoUtc,
  /** `localTime - genTime` in ms: positive when the local clock is ahead of the TSA. */
  clockSkewMs: z.number().int(),
  /** Token serial number, lowercase hex. */
  serialNumber: z.string().regex(/^[0-9a-f]+$/),
  /** TSA policy OID under which the token was issued. */
  policy: z.string(),
  /** The TSA's name from the token (tsa field), else the signer certificate subject. */
  tsaName: z.string().nullable(),
  /** Signer certificate subject and SHA-256 fingerprint of its DER. */
  signerSubject: z.string(),
  signerCertSha256: Sha256Digest,
  /** Nonce we sent, lowercase hex. */
  nonce: z.string().regex(/^[0-9a-f]+$/),
  /** Where the token bytes (the TimeStampToken, DER CMS ContentInfo) are, relative to this record. */
  token: z.string(),
  /** `sha256:` of the token bytes. */
  tokenSha256: Sha256Digest,
});
export type TimestampRecord = z.infer<typeof TimestampRecord>;

/** The custody log head: latest sequence number and event hash. Signed and timestamped. */
export const CustodyHead = z.object({
  schemaVersion: z.literal('exhibit.custody-head/1'),
  caseId: CaseId,
  seq: z.number().int().nonnegative(),
  hash: Sha256Digest,
  time: IsoUtc,
});
export type CustodyHead = z.infer<typeof CustodyHead>;

/**
 * A signed head as stored at `cases/<caseId>/custody-heads/<seq>.json` is the exact canonical
 * `CustodyHead` bytes; beside it `.signature.json` (SignatureRecord) and `.<n>.tsr` + `.<n>.json`
 * (TimestampRecord). This is the in-memory view of the set.
 */
export const SignedHead = z.object({
  head: CustodyHead,
  signature: SignatureRecord,
  timestamps: z.array(TimestampRecord),
  timestampFailures: z.array(z.object({ tsaUrl: z.string(), failure: Failure })),
});
export type SignedHead = z.infer<typeof SignedHead>;

/** One check made by the verifier. `item` is a path inside the bag (or `bag`). */
export const VerifyCheck = z.object({
  item: z.string(),
  check: z.string(),
  ok: z.boolean(),
  message: z.string(),
});
export type VerifyCheck = z.infer<typeof VerifyCheck>;

/**
 * What `verify` concludes. `verified`: every check passed AND every signature is by a pinned key
 * (or one a pinned key authenticated by a signed rotation) AND every timestamp token chains to a
 * pinned TSA root. `unauthenticated`: every check passed, but a signer or a TSA is not pinned, so
 * the package is only shown to be internally consistent (anyone can make such a package with their
 * own key and a public TSA). `failed`: a check failed.
 */
export const VERDICTS = ['verified', 'unauthenticated', 'failed'] as const;
export const Verdict = z.enum(VERDICTS);
export type Verdict = z.infer<typeof Verdict>;

/** A signing key or TSA root a package relies on, and whether the verifier had it pinned. */
export const TrustedParty = z.object({
  /** Signing key: `sha256:` of the raw Ed25519 key; TSA root: `sha256:` of the certificate DER. */
  fingerprint: z.string(),
  /** TSA roots: the certificate subject. */
  subject: z.string().nullable(),
  pinned: z.boolean(),
  /** How it was pinned (null when not). */
  source: AnchorSource.nullable(),
});
export type TrustedParty = z.infer<typeof TrustedParty>;

/** What `verify` reports (`exhibit verify --json` prints exactly this). */
/**
 * One hand-over between custody chains: a package received from a partner, carried whole. A package
 * shared onward lists the hand-overs inside the received ones too, `depth` 2 and more (flat, in order).
 */
export const HandOver = z.object({
  /** 1: received by the agency that built this package; 2: by the agency it received from; … */
  depth: z.number().int().positive(),
  from: z.string(),
  originOrganization: z.string(),
  originCaseId: z.string(),
  originHead: z.object({ seq: z.number().int(), hash: z.string() }),
  packageSha256: z.string(),
  captureIds: z.array(z.string()),
  verdict: Verdict,
  receivedEvents: z.array(z.number().int()),
  custodyEvents: z.number().int(),
});
export type HandOver = z.infer<typeof HandOver>;

export const PackageReport = z.object({
  schemaVersion: z.literal('exhibit.verify-report/1'),
  /** True only for the `verified` verdict: consistent AND authenticated by pinned anchors. */
  ok: z.boolean(),
  verdict: Verdict,
  /** Every check passed (true for both `verified` and `unauthenticated`). */
  consistent: z.boolean(),
  /** Path that was verified (zip or directory). */
  source: z.string(),
  caseId: z.string().nullable(),
  captureIds: z.array(z.string()),
  custodyEvents: z.number().int().nonnegative(),
  /** The signing keys and TSA roots the package relies on, each pinned or not. */
  trust: z.object({
    signingKeys: z.array(TrustedParty),
    tsaRoots: z.array(TrustedParty),
    /** The verdict in words: what is authenticated, by what, and what a recipient must confirm out of band. */
    summary: z.string(),
  }),
  verifiedAt: IsoUtc,
  /** A package shared with a partner agency: what its signed share record states (null: not a share). */
  share: z
    .object({
      shareId: z.string(),
      from: z.string(),
      to: z.string(),
      recipientKeys: z.array(z.string()),
      legalBasis: z.string(),
      tlp: z.string(),
      expires: z.string().nullable(),
      /** The expiry date has passed at verification time. */
      expired: z.boolean(),
      withheld: z.array(z.object({ captureId: z.string(), name: z.string(), role: z.string(), sha256: z.string(), size: z.number() })),
    })
    .nullable()
    .optional(),
  /** The signed custody head the package ends with (bag-info.txt, covered by the seal). */
  custodyHead: z.object({ seq: z.number().int(), hash: z.string() }).nullable().optional(),
  /** Packages received from partners that this one carries (data/received/): each verified on its own, and its hand-over to this log. */
  handOvers: z.array(HandOver).optional(),
  checks: z.array(VerifyCheck),
  /** The failing checks only, for convenience. */
  failures: z.array(VerifyCheck),
});
export type PackageReport = z.infer<typeof PackageReport>;
