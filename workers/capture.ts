import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { BrowserPool } from '../collectors/browser/pool.js';
import { parseTargetUrl } from '../collectors/browser/net-policy.js';
import { configureCollectors, selectCollector } from '../collectors/registry.js';
import type { Clock } from '../lib/clock.js';
import { isRetryable, toFailure } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Software } from '../lib/software.js';
import type { Config } from '../schemas/config.js';
import { CapturePayload, CollectorOutput, SealPayload, type JobProgress } from '../schemas/jobs.js';
import type { CustodyLog } from '../evidence/custody.js';
import { CAPTURE_QUEUE, SEAL_JOB_OPTIONS, sealJobId, type Queues } from './queues.js';
import type { RedisTarget } from './redis.js';

export interface CaptureDeps {
  config: Config;
  logger: Logger;
  clock: Clock;
  browsers: BrowserPool;
  software: Software;
  custody: CustodyLog;
}

/**
 * The capture stage: one URL → raw artifacts in a spool dir + observed facts. Pure of BullMQ so it
 * can be tested without Redis. A retried attempt starts from an empty spool (nothing in it was
 * accepted as evidence yet: acceptance happens when the seal stage stores it).
 */
export async function runCapture(
  payload: CapturePayload,
  deps: CaptureDeps,
  hooks: { onProgress(p: JobProgress): void; signal: AbortSignal },
): Promise<SealPayload> {
  const { request, captureId } = payload;
  const target = parseTargetUrl(request.url);
  // Collector options (`collectors.<id>`) decide which hosts each platform answers for.
  const collector = selectCollector(target, configureCollectors(deps.config.collectors));
  const spoolDir = path.join(deps.config.spoolDir, captureId);
  await rm(spoolDir, { recursive: true, force: true });
  await mkdir(spoolDir, { recursive: true, mode: 0o700 });
  const capture = {
    ...deps.config.capture,
    allowPrivateNetwork: request.options.allowPrivateNetwork ?? deps.config.capture.allowPrivateNetwork,
    timeoutMs: request.options.timeoutMs ?? deps.config.capture.timeoutMs,
  };
  const output = await collector.collect(
    {
      captureId,
      request,
      spoolDir,
      capture,
      browsers: deps.browsers,
      logger: deps.logger.child({ captureId, stage: 'collect', collector: collector.id }),
      clock: deps.clock,
      software: deps.software,
      onProgress: hooks.onProgress,
      signal: hooks.signal,
    },
    target,
  );
  return SealPayload.parse({ captureId, submittedAt: payload.submittedAt, request, spoolDir, output: CollectorOutput.parse(output) });
}

/** BullMQ binding: parse, record custody, run, hand over to the seal queue. */
export function startCaptureWorker(target: RedisTarget, queues: Queues, deps: CaptureDeps): Worker {
  const worker = new Worker(
    CAPTURE_QUEUE,
    async (job: Job) => {
      const payload = CapturePayload.parse(job.data);
      const { captureId, request } = payload;
      const log = deps.logger.child({ captureId, jobId: job.id, stage: 'capture' });
      // A retry after the hand-over (crash between adding the seal job and completing this one)
      // must not re-collect: the seal job owns the spool now.
      const handedOver = await queues.seal.getJob(sealJobId(captureId));
      if (handedOver) {
        log.warn('capture already handed over to the seal stage; not collecting again');
        const data = SealPayload.parse(handedOver.data);
        return { captureId, status: data.output.status, failure: data.output.failure, files: data.output.files.length };
      }
      const controller = new AbortController();
      await deps.custody.append({
          caseId: request.caseId,
        action: 'capture-started',
        actor: { type: 'service', id: 'exhibit-worker', role: 'collector', authorisedBy: request.requestedBy },
        subject: { captureId },
        details: { url: request.url, attempt: job.attemptsMade + 1, jobId: job.id },
        idempotencyKey: `capture-started:${captureId}:${job.attemptsMade + 1}`,
      });
      try {
        const sealPayload = await runCapture(payload, deps, {
          onProgress: (p) => void job.updateProgress({ ...p, percent: Math.round(p.percent * 0.6) }).catch(() => undefined),
          signal: controller.signal,
        });
        await queues.seal.add('seal', sealPayload, { ...SEAL_JOB_OPTIONS, jobId: sealJobId(captureId) });
        await job.updateProgress({ stage: 'hashing', percent: 60, detail: 'queued for sealing' } satisfies JobProgress);
        log.info({ status: sealPayload.output.status, files: sealPayload.output.files.length }, 'capture collected');
        return { captureId, status: sealPayload.output.status, failure: sealPayload.output.failure, files: sealPayload.output.files.length };
      } catch (err) {
        const failure = toFailure(err);
        const retry = isRetryable(err) && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
        log.warn({ failure, retry }, 'capture attempt failed');
        await deps.custody.append({
          caseId: request.caseId,
          action: 'capture-failed',
          actor: { type: 'service', id: 'exhibit-worker', role: 'collector', authorisedBy: request.requestedBy },
          subject: { captureId },
          details: { url: request.url, attempt: job.attemptsMade + 1, willRetry: retry, failure },
          idempotencyKey: `capture-failed:${captureId}:${job.attemptsMade + 1}`,
        });
        if (!isRetryable(err)) {
          const e = new UnrecoverableError(`${failure.code}: ${failure.message}`);
          throw e;
        }
        throw err;
      } finally {
        controller.abort();
      }
    },
    { connection: target.options, prefix: deps.config.redis.prefix, concurrency: deps.config.capture.concurrency, lockDuration: 120_000 },
  );
  worker.on('error', (err) => deps.logger.error({ err, context: 'worker' }, 'capture worker error'));
  return worker;
}
