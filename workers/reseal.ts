import { existsSync } from 'node:fs';
import { PermanentError } from '../lib/errors.js';
import { captureStatus, type CaptureStatus } from './job-state.js';
import { sealJobId } from './queues.js';
import { parseSealPayload } from './seal.js';
import type { Services } from './services.js';

/**
 * Seal again a capture whose seal job failed (e.g. the store stayed down past the retry budget),
 * from what was captured: the seal job still holds the collector's output and the spool keeps its
 * files until a seal succeeds. The job is put back with its retry budget renewed; the seal stage is
 * idempotent, so whatever was already stored or logged is not duplicated.
 * @returns the capture's status after re-queueing (`sealing`), or as it is when it needs no reseal.
 * @throws PermanentError NOT_FOUND for an unknown capture or a spool that is gone; INVALID_INPUT when
 *   the capture failed before anything was handed to the seal stage (submit it again instead).
 */
export async function resealCapture(s: Services, captureId: string): Promise<{ requeued: boolean; status: CaptureStatus }> {
  const before = await captureStatus(s, captureId);
  if (before.state === 'unknown') throw new PermanentError('NOT_FOUND', `no capture ${captureId} in ${s.redisTarget.describe}`);
  const job = await s.queues.seal.getJob(sealJobId(captureId));
  if (!job) {
    if (before.state === 'failed') {
      throw new PermanentError('INVALID_INPUT', `capture ${captureId} failed before anything was captured (${before.failure?.code ?? 'INTERNAL'}): there is nothing to seal; submit the URL again with --force`);
    }
    return { requeued: false, status: before };
  }
  if ((await job.getState()) !== 'failed') return { requeued: false, status: before };
  const payload = parseSealPayload(job.data);
  if (!existsSync(payload.spoolDir)) {
    throw new PermanentError('NOT_FOUND', `the captured files of ${captureId} are no longer in ${payload.spoolDir} on this host: the seal cannot be retried here`);
  }
  // A renewed budget: the outage counter lives in the job data (see queues.ts retryDecision).
  await job.updateData({ ...payload });
  await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  return { requeued: true, status: await captureStatus(s, captureId) };
}
