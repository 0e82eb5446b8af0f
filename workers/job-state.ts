import type { Job } from 'bullmq';
import { TransientError } from '../lib/errors.js';
import { ERROR_CODES, type ErrorCode, type Failure } from '../schemas/errors.js';
import { JobProgress, SealResult } from '../schemas/jobs.js';
import { captureIndexKey, sealJobId } from './queues.js';
import type { Services } from './services.js';

export const CAPTURE_STATES = ['unknown', 'queued', 'capturing', 'sealing', 'sealed', 'unsealed', 'failed'] as const;
export type CaptureState = (typeof CAPTURE_STATES)[number];

export interface CaptureStatus {
  captureId: string;
  state: CaptureState;
  progress: JobProgress | null;
  /** Set once sealed or unsealed. */
  result: SealResult | null;
  /** Why the job failed (state `failed`), or why the page failed (result.status `failed`), or why it is unsealed. */
  failure: Failure | null;
  attempts: number;
  url: string | null;
}

const INTEGRITY_CODES = new Set<ErrorCode>(['HASH_MISMATCH', 'SIGNATURE_INVALID', 'TIMESTAMP_INVALID', 'CUSTODY_CHAIN_BROKEN', 'STORE_CONFLICT']);
/** Codes whose failure may pass (the job ran out of retries, not of hope): a store outage, a TSA, the network. */
const TRANSIENT_CODES = new Set<ErrorCode>(['STORE_ERROR', 'TIMEOUT', 'CONNECTION_FAILED', 'DNS_FAILURE', 'BROWSER_ERROR', 'TIMESTAMP_FAILED', 'RATE_LIMITED', 'INTERNAL', 'UNAVAILABLE']);

/** BullMQ keeps only a message; bindings throw `CODE: message`, so the code survives the trip. */
export function parseFailedReason(reason: string | undefined): Failure {
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(reason ?? '');
  if (m && (ERROR_CODES as readonly string[]).includes(m[1]!)) {
    const code = m[1] as ErrorCode;
    const kind = INTEGRITY_CODES.has(code) ? 'integrity' : TRANSIENT_CODES.has(code) ? 'transient' : 'permanent';
    return { code, kind, message: m[2]! };
  }
  return { code: 'INTERNAL', kind: 'transient', message: reason || 'job failed without a reason' };
}

function progressOf(job: Job): JobProgress | null {
  const p = JobProgress.safeParse(job.progress);
  return p.success ? p.data : null;
}

/** Where one capture is, from its capture and seal jobs. */
export async function captureStatus(s: Services, captureId: string): Promise<CaptureStatus> {
  const jobId = await s.redis.hget(captureIndexKey(s.config.redis.prefix), captureId);
  const base: CaptureStatus = { captureId, state: 'unknown', progress: null, result: null, failure: null, attempts: 0, url: null };
  if (!jobId) return base;
  const [captureJob, sealJob] = await Promise.all([s.queues.capture.getJob(jobId), s.queues.seal.getJob(sealJobId(captureId))]);
  if (!captureJob) return base;
  const url = (captureJob.data as { request?: { url?: string } }).request?.url ?? null;
  if (sealJob) {
    const state = await sealJob.getState();
    if (state === 'completed') {
      const result = SealResult.parse(sealJob.returnvalue);
      const failure = result.sealFailure ?? (result.status === 'failed' ? ((captureJob.returnvalue as { failure?: Failure } | null)?.failure ?? null) : null);
      return { ...base, url, state: result.seal === 'sealed' ? 'sealed' : 'unsealed', progress: progressOf(sealJob), result, failure, attempts: sealJob.attemptsMade };
    }
    if (state === 'failed') return { ...base, url, state: 'failed', progress: progressOf(sealJob), failure: parseFailedReason(sealJob.failedReason), attempts: sealJob.attemptsMade };
    return { ...base, url, state: 'sealing', progress: progressOf(sealJob), attempts: sealJob.attemptsMade };
  }
  const state = await captureJob.getState();
  if (state === 'failed') return { ...base, url, state: 'failed', progress: progressOf(captureJob), failure: parseFailedReason(captureJob.failedReason), attempts: captureJob.attemptsMade };
  if (state === 'active') return { ...base, url, state: 'capturing', progress: progressOf(captureJob), attempts: captureJob.attemptsMade };
  // completed without a seal job yet (handover in progress) counts as sealing.
  if (state === 'completed') return { ...base, url, state: 'sealing', progress: progressOf(captureJob), attempts: captureJob.attemptsMade };
  return { ...base, url, state: 'queued', progress: progressOf(captureJob), attempts: captureJob.attemptsMade };
}

export const isFinal = (s: CaptureState) => s === 'sealed' || s === 'unsealed' || s === 'failed';

/** Poll a capture until it is sealed, unsealed or failed; TransientError TIMEOUT past the deadline. */
export async function waitForFinal(s: Services, captureId: string, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<CaptureStatus> {
  const timeoutMs = opts.timeoutMs ?? 150_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = await captureStatus(s, captureId);
    if (isFinal(st.state)) return st;
    if (Date.now() > deadline) throw new TransientError('TIMEOUT', `capture ${captureId} still ${st.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
  }
}
