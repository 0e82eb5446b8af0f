import { z } from 'zod';
import { SpoolFile } from './artifact.js';
import { CaptureEnvironment, CaptureRequest, PageFacts } from './capture.js';
import { IsoUtc, Sha256Digest, Uuid } from './common.js';
import { Failure } from './errors.js';

/** Payload of a `capture` job. */
export const CapturePayload = z.object({
  captureId: Uuid,
  submittedAt: IsoUtc,
  request: CaptureRequest,
});
export type CapturePayload = z.infer<typeof CapturePayload>;

/** What a collector hands back: files in its spool dir plus the facts it observed. */
export const CollectorOutput = z.object({
  status: z.enum(['captured', 'failed']),
  failure: Failure.nullable(),
  page: PageFacts,
  environment: CaptureEnvironment,
  files: z.array(SpoolFile),
});
export type CollectorOutput = z.infer<typeof CollectorOutput>;

/** Result of a `capture` job; also the payload of the `seal` job that follows it. */
export const SealPayload = z.object({
  captureId: Uuid,
  submittedAt: IsoUtc,
  request: CaptureRequest,
  spoolDir: z.string(),
  output: CollectorOutput,
});
export type SealPayload = z.infer<typeof SealPayload>;

/** Result of a `seal` job. */
export const SealResult = z.object({
  captureId: Uuid,
  caseId: z.string(),
  status: z.enum(['captured', 'failed']),
  /** `sha256:` of the canonical manifest bytes. */
  manifestDigest: Sha256Digest,
  manifestKey: z.string(),
  artifactCount: z.number().int(),
  /** `sealed`: signed and timestamped; `unsealed`: stored but signing or timestamping failed (see reason). */
  seal: z.enum(['sealed', 'unsealed']),
  sealFailure: Failure.nullable(),
});
export type SealResult = z.infer<typeof SealResult>;

/** Progress reported by jobs (BullMQ `updateProgress`), rendered by the CLI and the API. */
export const JobProgress = z.object({
  stage: z.enum(['queued', 'launching', 'loading', 'settling', 'recording', 'collecting-media', 'hashing', 'enriching', 'storing', 'signing', 'timestamping', 'done']),
  percent: z.number().min(0).max(100),
  detail: z.string().optional(),
});
export type JobProgress = z.infer<typeof JobProgress>;
