import { createHash } from 'node:crypto';
import { Queue, QueueEvents, type JobsOptions, type WorkerOptions } from 'bullmq';
import type { Config } from '../schemas/config.js';
import type { RedisTarget } from './redis.js';

/** Queue names (kebab-case, no `:`); job name = stage name. */
export const CAPTURE_QUEUE = 'capture';
export const SEAL_QUEUE = 'seal';

/**
 * Default options. Completed and failed jobs are kept: they are how a resubmitted request is
 * recognised (deterministic job id) and how `status` answers later; they are small.
 */
export function captureJobOptions(config: Config): JobsOptions {
  return { attempts: config.capture.attempts, backoff: { type: 'exponential', delay: 2_000 }, removeOnComplete: false, removeOnFail: false };
}
export const SEAL_JOB_OPTIONS: JobsOptions = { attempts: 5, backoff: { type: 'exponential', delay: 2_000 }, removeOnComplete: false, removeOnFail: false };

/**
 * Deterministic capture job id: the same URL into the same case is one job, so a resubmitted
 * request does not capture twice. `force` adds the capture id, making a new job.
 */
export function captureJobId(caseId: string, normalisedUrl: string, forceCaptureId?: string): string {
  const h = createHash('sha256').update(`${caseId}\n${normalisedUrl}`).digest('hex').slice(0, 40);
  return forceCaptureId ? `capture-${h}-${forceCaptureId}` : `capture-${h}`;
}
export const sealJobId = (captureId: string) => `seal-${captureId}`;

/**
 * Lock and stalled-job settings every worker binding uses. A worker renews its job's lock every
 * half `lockDurationMs`; when the process dies the lock expires and the next stalled-job check of any
 * worker puts the job back in the queue, so another worker takes it over within seconds. A job is run
 * at least once, and may run twice (a worker stalled rather than dead), so every stage is idempotent:
 * custody events carry idempotency keys, store objects are write-once and content-addressed, and the
 * seal job id is the capture id.
 */
export function workerLockOptions(config: Config): Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'> {
  return { lockDuration: config.queue.lockDurationMs, stalledInterval: config.queue.stalledIntervalMs, maxStalledCount: config.queue.maxStalledCount };
}

/** Redis hash mapping captureId → capture job id, for `status` and the API. */
export const captureIndexKey = (prefix: string) => `${prefix}:capture-index`;

export interface Queues {
  capture: Queue;
  seal: Queue;
  close(): Promise<void>;
}

export function openQueues(target: RedisTarget, config: Config): Queues {
  const opts = { connection: target.options, prefix: config.redis.prefix };
  const capture = new Queue(CAPTURE_QUEUE, { ...opts, defaultJobOptions: captureJobOptions(config) });
  const seal = new Queue(SEAL_QUEUE, { ...opts, defaultJobOptions: SEAL_JOB_OPTIONS });
  return {
    capture,
    seal,
    close: async () => {
      await Promise.all([capture.close(), seal.close()]);
    },
  };
}

export function openQueueEvents(target: RedisTarget, config: Config, name: string): QueueEvents {
  return new QueueEvents(name, { connection: target.options, prefix: config.redis.prefix });
}
