import type { Job, Queue } from 'bullmq';
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

/** BullMQ keeps only a message; bindings throw `CODE: message`, so the code survives the trip. */
export function parseFailedReason(reason: string | undefined): Failure {
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(reason ?? '');
  if (m && (ERROR_CODES as readonly string[]).includes(m[1]!)) {
    const code = m[1] as ErrorCode;
    const kind = code === 'HASH_MISMATCH' || code === 'SIGNATURE_INVALID' || code === 'TIMESTAMP_INVALID' || code === 'CUSTODY_CHAIN_BROKEN' || code === 'STORE_CONFLICT' ? 'integrity' : 'permanent';
    return { code, kind, message: m[2]! };
  }
  return { code: 'INTERNAL', kind: 'transient', message: reason || 'job failed without a reason' };
}

function progressOf(job: Job): JobProgress | null {
  const p = JobProgress.safeParse(job.progress);
  return p.success ? p.data : null;
}

/**
 * The job as of a terminal state just read. A job object read before `getState()` can predate the
 * completion (BullMQ writes the state and the return value or failure reason in one step, but our
 * object is a snapshot): re-read it so a `completed` job comes with its return value.
 */
async function settled(queue: Pick<Queue, 'getJob'>, job: Job, state: string): Promise<Job> {
  if (state !== 'completed' && state !== 'failed') return job;
  return (await queue.getJob(job.id!)) ?? job;
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
    const seal = await settled(s.queues.seal, sealJob, state);
    // Still no return value after the re-read: the completion is being written; report sealing.
    if (state === 'completed' && seal.returnvalue != null) {
      const result = SealResult.parse(seal.returnvalue);
      // The capture job ended before its seal job began, but our snapshot of it may be older.
      const captureResult = result.status === 'failed' ? (captureJob.returnvalue ?? (await s.queues.capture.getJob(jobId))?.returnvalue) : null;
      const failure = result.sealFailure ?? ((captureResult as { failure?: Failure } | null | undefined)?.failure ?? null);
      return { ...base, url, state: result.seal === 'sealed' ? 'sealed' : 'unsealed', progress: progressOf(seal), result, failure, attempts: seal.attemptsMade };
    }
    if (state === 'failed') return { ...base, url, state: 'failed', progress: progressOf(seal), failure: parseFailedReason(seal.failedReason), attempts: seal.attemptsMade };
    return { ...base, url, state: 'sealing', progress: progressOf(seal), attempts: seal.attemptsMade };
  }
  const state = await captureJob.getState();
  if (state === 'failed') {
    const failed = await settled(s.queues.capture, captureJob, state);
    return { ...base, url, state: 'failed', progress: progressOf(failed), failure: parseFailedReason(failed.failedReason), attempts: failed.attemptsMade };
  }
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
