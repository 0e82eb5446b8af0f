import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Worker, type Job } from 'bullmq';
import { AccountVault, type LoadedAccount } from '../collectors/accounts.js';
import type { BrowserPool, Collector } from '../collectors/collector.js';
import { configureCollectors, selectCollector } from '../collectors/registry.js';
import type { Clock } from '../lib/clock.js';
import { toFailure } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Software } from '../lib/software.js';
import type { AccountUse, CaptureRequest } from '../schemas/capture.js';
import type { Config } from '../schemas/config.js';
import { CapturePayload, CollectorOutput, type JobProgress, type SealPayload } from '../schemas/jobs.js';
import type { CustodyLog } from '../evidence/custody.js';
import { throttledProgress } from './progress.js';
import { parseSealPayload } from './seal.js';
import { attemptError, CAPTURE_QUEUE, jobSubject, parseJobData, retryDecision, SEAL_JOB_OPTIONS, sealJobId, workerLockOptions, type Queues } from './queues.js';
import type { RedisTarget } from './redis.js';

export interface CaptureDeps {
  config: Config;
  logger: Logger;
  clock: Clock;
  browsers: BrowserPool;
  software: Software;
  custody: CustodyLog;
  /** Collection accounts; built from config (`accounts.*`) when left out. */
  accounts?: AccountVault;
  /** Submit follow-up captures (`--with-profile`); without it, profile captures are not made. */
  submit?: (requests: unknown[]) => Promise<Array<{ ok: boolean; url: string }>>;
}

/** A request's target and the collector that captures it. */
export interface Chosen {
  target: URL;
  collector: Collector;
}

/**
 * The collector for a request, with collector options from config. The request's URL was checked
 * and normalised when it was parsed (`TargetUrl`); here it only becomes a URL object, once per job.
 */
export function collectorFor(request: CaptureRequest, deps: Pick<CaptureDeps, 'config'>): Chosen {
  const target = new URL(request.url);
  // Collector options (`collectors.<id>`) decide which hosts each platform answers for.
  return { target, collector: selectCollector(target, configureCollectors(deps.config.collectors)) };
}

function vaultOf(deps: Pick<CaptureDeps, 'config' | 'accounts'>): AccountVault {
  return deps.accounts ?? AccountVault.fromConfig(deps.config);
}

/**
 * The collection account a request names, as recorded (label, platform, handle), or null when it
 * names none. Accounts belong to a platform: the one the chosen collector captures.
 * @throws PermanentError INVALID_INPUT when the named account does not exist for that platform.
 */
export async function accountUseFor(request: CaptureRequest, collector: Collector, deps: Pick<CaptureDeps, 'config' | 'accounts'>): Promise<AccountUse | null> {
  const label = request.options.account;
  if (!label) return null;
  const vault = vaultOf(deps);
  const info = await vault.info(collector.id, label);
  if (!info) await vault.load(collector.id, label); // throws the precise "no such account" error
  return { label: info!.label, platform: info!.platform, handle: info!.handle };
}

/** The author's profile URL from a platform capture's post.json, or null. */
export async function profileUrlOf(payload: SealPayload): Promise<string | null> {
  const post = payload.output.files.find((f) => f.role === 'post');
  if (!post || payload.output.status !== 'captured') return null;
  try {
    const doc = JSON.parse(await readFile(path.join(payload.spoolDir, post.path), 'utf8')) as { post?: { author?: { profileUrl?: unknown } | null } | null };
    const url = doc.post?.author?.profileUrl;
    return typeof url === 'string' && /^https?:\/\//.test(url) ? url : null;
  } catch {
    return null;
  }
}

/** The linked capture of the author's profile that `--with-profile` asks for, or null. */
export function profileRequest(payload: SealPayload, profileUrl: string | null): CaptureRequest | null {
  const { request, captureId } = payload;
  if (!request.options.withProfile || !profileUrl || request.options.profileOf) return null;
  // The profile page is usually another collector's (e.g. generic), and accounts belong to one
  // platform's collector: the profile is captured logged out.
  const { withProfile: _w, force: _f, account: _a, ...rest } = request.options;
  return {
    url: profileUrl,
    caseId: request.caseId,
    requestedBy: request.requestedBy,
    ...(request.legalBasis !== undefined ? { legalBasis: request.legalBasis } : {}),
    ...(request.operator ? { operator: request.operator } : {}),
    ...(request.user ? { user: request.user } : {}),
    options: { ...rest, profileOf: captureId },
  };
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
  { target, collector }: Chosen = collectorFor(payload.request, deps),
): Promise<SealPayload> {
  const { request, captureId } = payload;
  const account: LoadedAccount | null = request.options.account ? await vaultOf(deps).load(collector.id, request.options.account) : null;
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
      account,
    },
    target,
  );
  // The request was parsed with the job; only the collector's output is new here.
  return { captureId, submittedAt: payload.submittedAt, request, spoolDir, output: CollectorOutput.parse(output) };
}

/** BullMQ binding: parse, record custody, run, hand over to the seal queue. */
export function startCaptureWorker(target: RedisTarget, queues: Queues, deps: CaptureDeps): Worker {
  const worker = new Worker(
    CAPTURE_QUEUE,
    async (job: Job) => {
      // Read leniently first: a malformed job's failure is still recorded in its case's log.
      const subject = jobSubject(job.data);
      const log = deps.logger.child({ captureId: subject?.captureId ?? undefined, jobId: job.id, stage: 'capture' });
      const controller = new AbortController();
      let url: string | null = null;
      try {
        const payload = parseJobData(CapturePayload, job.data, 'capture payload');
        const { captureId, request } = payload;
        url = request.url;
        // A retry after the hand-over (crash between adding the seal job and completing this one)
        // must not re-collect: the seal job owns the spool now.
        const handedOver = await queues.seal.getJob(sealJobId(captureId));
        if (handedOver) {
          log.warn('capture already handed over to the seal stage; not collecting again');
          const data = parseSealPayload(handedOver.data);
          return { captureId, status: data.output.status, failure: data.output.failure, files: data.output.files.length };
        }
        const chosen = collectorFor(request, deps);
        const account = await accountUseFor(request, chosen.collector, deps);
        await deps.custody.append({
          caseId: request.caseId,
          action: 'capture-started',
          actor: { type: 'service', id: 'exhibit-worker', role: 'collector', authorisedBy: request.requestedBy },
          subject: { captureId },
          details: { url: request.url, attempt: job.attemptsMade + 1, jobId: job.id, ...(account ? { account } : {}), ...(request.options.profileOf ? { profileOf: request.options.profileOf } : {}) },
          idempotencyKey: `capture-started:${captureId}:${job.attemptsMade + 1}`,
        });
        const sealPayload = await runCapture(payload, deps, {
          onProgress: throttledProgress((p) => void job.updateProgress({ ...p, percent: Math.round(p.percent * 0.6) }).catch(() => undefined)),
          signal: controller.signal,
        }, chosen);
        // Read before the hand-over: the seal stage removes the spool when done.
        const profile = profileRequest(sealPayload, request.options.withProfile ? await profileUrlOf(sealPayload) : null);
        await queues.seal.add('seal', sealPayload, { ...SEAL_JOB_OPTIONS, jobId: sealJobId(captureId) });
        if (request.options.withProfile) await submitProfile(profile, deps, log);
        await job.updateProgress({ stage: 'hashing', percent: 60, detail: 'queued for sealing' } satisfies JobProgress);
        log.info({ status: sealPayload.output.status, files: sealPayload.output.files.length }, 'capture collected');
        return { captureId, status: sealPayload.output.status, failure: sealPayload.output.failure, files: sealPayload.output.files.length };
      } catch (err) {
        const failure = toFailure(err);
        const { retry, outage } = await retryDecision(job, failure, deps.config.capture.attempts, deps.config);
        log.warn({ failure, retry, outage }, 'capture attempt failed');
        if (!subject) {
          // Without a case there is no custody log to write to: the job keeps the failure.
          log.error({ failure }, 'capture job names no valid case: its failure is recorded in the job only');
        } else {
          // With the store down this append may fail too; the attempt's outcome must still reach BullMQ.
          await deps.custody
            .append({
              caseId: subject.caseId,
              action: 'capture-failed',
              actor: { type: 'service', id: 'exhibit-worker', role: 'collector', ...(subject.requestedBy ? { authorisedBy: subject.requestedBy } : {}) },
              subject: subject.captureId ? { captureId: subject.captureId } : {},
              details: { ...(url !== null ? { url } : {}), attempt: job.attemptsMade + 1, willRetry: retry, failure },
              idempotencyKey: `capture-failed:${subject.captureId ?? job.id}:${job.attemptsMade + 1}`,
            })
            .catch((e: unknown) => log.error({ err: (e as Error).message }, 'could not record the capture failure in the custody log'));
        }
        throw attemptError(err, retry);
      } finally {
        controller.abort();
      }
    },
    { connection: target.options, prefix: deps.config.redis.prefix, concurrency: deps.config.capture.concurrency, ...workerLockOptions(deps.config) },
  );
  worker.on('error', (err) => deps.logger.error({ err, context: 'worker' }, 'capture worker error'));
  return worker;
}

/** Submit the linked profile capture; a failure is logged, never fails the capture that asked for it. */
async function submitProfile(profile: CaptureRequest | null, deps: CaptureDeps, log: Logger): Promise<void> {
  if (!profile) {
    log.info('--with-profile: the post names no author profile URL; no profile capture');
    return;
  }
  if (!deps.submit) {
    log.warn('--with-profile: this worker cannot submit captures; no profile capture');
    return;
  }
  try {
    const [o] = await deps.submit([profile]);
    log.info({ url: o?.url, ok: o?.ok }, 'profile capture submitted');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'profile capture could not be submitted');
  }
}
