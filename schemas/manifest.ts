import { z } from 'zod';
import { Artifact } from './artifact.js';
import { CaptureEnvironment, CaptureOptions, PageFacts } from './capture.js';
import { ActorId, CaseId, CliOperator, IsoUtc, Uuid } from './common.js';
import { Failure } from './errors.js';

export const CAPTURE_STATUSES = ['captured', 'failed'] as const;

/** An optional enrichment step and how it went; failures are recorded here, never only logged. */
export const EnrichmentRecord = z.object({
  artifact: z.string(),
  step: z.enum(['exif', 'ffprobe', 'thumbnail', 'perceptual-hash']),
  status: z.enum(['ok', 'failed', 'skipped']),
  message: z.string().nullable(),
});
export type EnrichmentRecord = z.infer<typeof EnrichmentRecord>;

/**
 * The capture manifest. Serialised canonically (RFC 8785); its SHA-256 is what is signed and
 * timestamped (signature and tokens live beside it, they cannot be inside the bytes they cover).
 */
export const CaptureManifest = z.object({
  schemaVersion: z.literal('exhibit.capture-manifest/1'),
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
  }),
  /** `captured`: the page answered and was recorded; `failed`: what was observed is sealed, with `failure`. */
  status: z.enum(CAPTURE_STATUSES),
  failure: Failure.nullable(),
  page: PageFacts,
  environment: CaptureEnvironment,
  artifacts: z.array(Artifact),
  enrichment: z.array(EnrichmentRecord),
  sealedAt: IsoUtc,
  sealer: z.object({ exhibitVersion: z.string(), hostname: z.string() }),
});
export type CaptureManifest = z.infer<typeof CaptureManifest>;
