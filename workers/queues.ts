import { createHash } from 'node:crypto';
import { Queue, QueueEvents, UnrecoverableError, type Job, type JobsOptions, type WorkerOptions } from 'bullmq';
import type { z } from 'zod';
import { PermanentError, toFailure } from '../lib/errors.js';
import { ActorId, CaseId, Uuid } from '../schemas/common.js';
import type { Logger } from '../lib/logger.js';
import type { Config } from '../schemas/config.js';
import type { ErrorCode, Failure } from '../schemas/errors.js';
import type { RedisTarget } from './redis.js';

/** Queue names (kebab-case, no `:`); job name = stage name. Every queue Exhibit uses is declared here. */
export const CAPTURE_QUEUE = 'capture';
export const SEAL_QUEUE = 'seal';
/** Watch runs: one BullMQ job scheduler per watch (see watch.ts). */
export const WATCH_QUEUE = 'watch';
/** Deliveries of watch findings to webhooks. */
export const WEBHOOK_QUEUE = 'watch-webhook';
/** The periodic custody-head signing (a job scheduler; survives restarts; see heads.ts). */
export const HEADS_QUEUE = 'custody-heads';

/**
 * Default options. Completed and failed jobs are kept: they are how a resubmitted request is
 * recognised (deterministic job id) and how `status` answers later; they are small.
 */
export function captureJobOptions(_config: Config): JobsOptions {
  return JOB_OPTIONS;
}
/**
 * BullMQ's attempt limit is only a backstop: the workers decide themselves whether a failure is
 * retried (see `retryDecision`), by attempts for failures of the target and by time for outages.
 */
const MAX_JOB_ATTEMPTS = 100_000;
const JOB_OPTIONS: JobsOptions = { attempts: MAX_JOB_ATTEMPTS, backoff: { type: 'exhibit' }, removeOnComplete: false, removeOnFail: false };
export const SEAL_JOB_OPTIONS: JobsOptions = JOB_OPTIONS;
/** Attempts of a seal for transient failures other than an outage (e.g. a TSA that erred). */
export const SEAL_ATTEMPTS = 5;

/** Failures of a service Exhibit depends on, not of the work: retried for `queue.retryBudgetMs`. */
const OUTAGE_CODES = new Set<ErrorCode>(['STORE_ERROR', 'UNAVAILABLE']);
export const isOutage = (f: Failure) => f.kind === 'transient' && OUTAGE_CODES.has(f.code);

/** Wait before the n-th retry (1-based): doubling from `queue.retryBackoffMs`, capped at `queue.retryMaxBackoffMs`. */
export function retryDelayMs(config: Config, n: number): number {
  const { retryBackoffMs, retryMaxBackoffMs } = config.queue;
  return Math.min(retryMaxBackoffMs, retryBackoffMs * 2 ** Math.min(Math.max(n - 1, 0), 30));
}

/** Sum of the waits before retries 1..n. */
export function retryWaitTotalMs(config: Config, n: number): number {
  let total = 0;
  for (let i = 1; i <= n; i++) total += retryDelayMs(config, i);
  return total;
}

/** Worker setting: the `exhibit` backoff type used by capture and seal jobs. */
export function retrySettings(config: Config): Pick<WorkerOptions, 'settings'> {
  return { settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(config, attemptsMade) } };
}

/** Job data field counting a job's attempts lost to outages (they do not use up its attempts). */
const OUTAGE_RETRIES = 'outageRetries';

/**
 * Whether a failed attempt is tried again. An outage (store unreachable) is retried while the
 * waits between this job's attempts add up to no more than `queue.retryBudgetMs`, whatever the
 * number of attempts; any other transient failure gets `attempts` attempts (outages not counted);
 * permanent and integrity failures none.
 */
export async function retryDecision(job: Job, failure: Failure, attempts: number, config: Config): Promise<{ retry: boolean; outage: boolean }> {
  if (failure.kind !== 'transient') return { retry: false, outage: false };
  const outages = Number((job.data as Record<string, unknown>)[OUTAGE_RETRIES] ?? 0) || 0;
  const tried = job.attemptsMade + 1;
  if (isOutage(failure)) {
    const retry = retryWaitTotalMs(config, tried) <= config.queue.retryBudgetMs && tried < MAX_JOB_ATTEMPTS;
    if (retry) await job.updateData({ ...(job.data as object), [OUTAGE_RETRIES]: outages + 1 });
    return { retry, outage: true };
  }
  return { retry: tried - outages < attempts && tried < MAX_JOB_ATTEMPTS, outage: false };
}

/**
 * What a worker throws for a failed attempt. BullMQ keeps only the message (failedReason), so it
 * carries `CODE: message` and job-state.ts reads the code back; a failure not retried is thrown as
 * UnrecoverableError so BullMQ does not retry it either.
 */
export function attemptError(err: unknown, retry: boolean): Error {
  const f = toFailure(err);
  const message = `${f.code}: ${f.message}`;
  if (!retry) return new UnrecoverableError(message);
  const e = new Error(message, { cause: err });
  return e;
}

/**
 * A job's data as its payload schema says: the one parse of it, in the binding. Malformed data is a
 * permanent failure (retrying cannot mend it), so a job never loops on it.
 * @throws PermanentError INVALID_INPUT naming every field that is wrong.
 */
export function parseJobData<S extends z.ZodType>(schema: S, data: unknown, what: string): z.output<S> {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  throw new PermanentError('INVALID_INPUT', `${what} is invalid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
}

/**
 * The case, capture and requester a capture or seal job names, as far as its data can be read
 * even when it is malformed: where its failure is custody-logged. Null without a valid case id.
 */
export function jobSubject(data: unknown): { caseId: string; captureId: string | null; requestedBy: string | null } | null {
  const d = (data ?? {}) as { captureId?: unknown; request?: { caseId?: unknown; requestedBy?: unknown } | null };
  const caseId = CaseId.safeParse(d.request?.caseId);
  if (!caseId.success) return null;
  const captureId = Uuid.safeParse(d.captureId);
  const by = ActorId.safeParse(d.request?.requestedBy);
  return { caseId: caseId.data, captureId: captureId.success ? captureId.data : null, requestedBy: by.success ? by.data : null };
}

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
  return { lockDuration: config.queue.lockDurationMs, stalledInterval: config.queue.stalledIntervalMs, maxStalledCount: config.queue.maxStalledCount, ...retrySettings(config) };
}

/** Redis hash mapping captureId → capture job id, for `status` and the API. */
export const captureIndexKey = (prefix: string) => `${prefix}:capture-index`;

export interface Queues {
  capture: Queue;
  seal: Queue;
  close(): Promise<void>;
}

export function openQueues(target: RedisTarget, config: Config): Queues {
  // Queue connections send no blocking commands, so each command can have a timeout (workers' cannot).
  const opts = { connection: { ...target.options, commandTimeout: config.redis.commandTimeoutMs }, prefix: config.redis.prefix };
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

export interface WatchQueues {
  watch: Queue;
  webhook: Queue;
  close(): Promise<void>;
}

/** The watch-run and webhook queues; a run keeps its last 200 jobs, a delivery 1000 (5000 failed ones). */
export function openWatchQueues(target: RedisTarget, prefix: string, logger?: Logger): WatchQueues {
  const opts = { connection: target.options, prefix };
  const watch = new Queue(WATCH_QUEUE, { ...opts, defaultJobOptions: { removeOnComplete: 200, removeOnFail: 200 } });
  const webhook = new Queue(WEBHOOK_QUEUE, { ...opts, defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 5000 } });
  // A connection error (Redis restarting, a queue closed while still connecting) must not crash the process.
  for (const q of [watch, webhook]) q.on('error', (err) => logger?.warn({ context: 'redis', err: err.message }, 'watch queue connection error'));
  return { watch, webhook, close: async () => void (await Promise.all([watch.close(), webhook.close()])) };
}

/** The custody-head signing queue. */
export function openHeadsQueue(target: RedisTarget, prefix: string): Queue {
  return new Queue(HEADS_QUEUE, { connection: target.options, prefix });
}

export function openQueueEvents(target: RedisTarget, config: Config, name: string): QueueEvents {
  return new QueueEvents(name, { connection: target.options, prefix: config.redis.prefix });
}
