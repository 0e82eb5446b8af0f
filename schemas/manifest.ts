import { z } from 'zod';
import { Artifact } from './artifact.js';
import { CaptureEnvironment, CaptureOptions, PageFacts } from './capture.js';
import { ActorId, CaseId, CliOperator, IsoUtc, Uuid, WebUser } from './common.js';
import { Failure } from './errors.js';

export const CAPTURE_STATUSES = ['captured', 'failed'] as const;

/** The capture manifest version this sealer writes. */
export const CAPTURE_MANIFEST_VERSION = 'exhibit.capture-manifest/2';

const ENRICHMENT_STEPS = ['exif', 'ffprobe', 'thumbnail', 'perceptual-hash', 'wacz'] as const;

/**
 * An optional enrichment step and how it went; failures are recorded here, never only logged.
 * `partial`: the step gave a result but part of the input could not be read (the artifact's flags
 * name the part).
 */
export const EnrichmentRecord = z.object({
  artifact: z.string(),
  step: z.enum(ENRICHMENT_STEPS),
  status: z.enum(['ok', 'partial', 'failed', 'skipped']),
  /** Tool and version that ran the step (a chain when a decoder ran first); null when none ran. */
  tool: z.string().nullable(),
  message: z.string().nullable(),
});
export type EnrichmentRecord = z.infer<typeof EnrichmentRecord>;

const manifestFields = {
  captureId: Uuid,
  caseId: CaseId,
  request: z.object({
    url: z.string(),
    requestedBy: ActorId,
    legalBasis: z.string().nullable(),
    submittedAt: IsoUtc,
    options: CaptureOptions,
    /** Submitted on the command line: the name given (`requestedBy`) with the OS user and host that ran it. Absent for web users and in older manifests. */
    operator: CliOperator.optional(),
    /** Submitted through the web app or API: the signed-in user (`requestedBy` is their name). Absent for the command line and in older manifests. */
    user: WebUser.optional(),
  }),
  /** `captured`: the page answered and was recorded; `failed`: what was observed is sealed, with `failure`. */
  status: z.enum(CAPTURE_STATUSES),
  failure: Failure.nullable(),
  page: PageFacts,
  environment: CaptureEnvironment,
  artifacts: z.array(Artifact),
  sealedAt: IsoUtc,
  sealer: z.object({ exhibitVersion: z.string(), hostname: z.string() }),
};

/**
 * The capture manifest. Serialised canonically (RFC 8785); its SHA-256 is what is signed and
 * timestamped (signature and tokens live beside it, they cannot be inside the bytes they cover).
 * Version 2 adds each enrichment step's tool, the `partial` status and the flags' `block`.
 */
export const CaptureManifest = z.object({
  schemaVersion: z.literal(CAPTURE_MANIFEST_VERSION),
  ...manifestFields,
  enrichment: z.array(EnrichmentRecord),
});

/** Version 1, as sealed before enrichment records named their tool. Read, never written. */
export const CaptureManifestV1 = z.object({
  schemaVersion: z.literal('exhibit.capture-manifest/1'),
  ...manifestFields,
  enrichment: z.array(
    z.object({ artifact: z.string(), step: z.enum(ENRICHMENT_STEPS), status: z.enum(['ok', 'failed', 'skipped']), message: z.string().nullable() }),
  ),
});

/**
 * Any manifest a store or package may hold, as written. Readers (verify, package, show) parse with
 * this, so captures sealed under an older version stay readable; the sealer writes {@link CaptureManifest}.
 */
export const StoredCaptureManifest = z.discriminatedUnion('schemaVersion', [CaptureManifest, CaptureManifestV1]);
export type StoredCaptureManifest = z.infer<typeof StoredCaptureManifest>;
export type CaptureManifest = StoredCaptureManifest;
