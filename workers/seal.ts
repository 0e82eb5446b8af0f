import { rm } from 'node:fs/promises';
import os from 'node:os';
import { Worker, type Job } from 'bullmq';
import type { Clock } from '../lib/clock.js';
import { toFailure } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Software } from '../lib/software.js';
import type { Config } from '../schemas/config.js';
import { SealPayload, SealResult, type JobProgress } from '../schemas/jobs.js';
import type { CustodyLog } from '../evidence/custody.js';
import type { KeyStore } from '../evidence/keys.js';
import { sealCapture } from '../evidence/seal-capture.js';
import { attestManifest } from '../evidence/signing.js';
import type { EvidenceStore } from '../evidence/store.js';
import { tsaTimestamper } from '../evidence/wacz.js';
import { loadWaczKey } from '../evidence/wacz-key.js';
import { throttledProgress } from './progress.js';
import { attemptError, jobSubject, parseJobData, retryDecision, SEAL_ATTEMPTS, SEAL_QUEUE, workerLockOptions } from './queues.js';
import type { RedisTarget } from './redis.js';

export interface SealStageDeps {
  config: Config;
  logger: Logger;
  clock: Clock;
  store: EvidenceStore;
  keys: KeyStore;
  custody: CustodyLog;
  software: Software;
  /** PEM trust anchors for TSA responses (config tsa.caFiles, read once). */
  tsaTrustAnchors: string[];
}

const SEALER = { type: 'service' as const, id: 'exhibit-sealer', role: 'sealer' };

/**
 * A seal job's data as its payload: the one place it is parsed. Malformed data is a permanent
 * failure (retrying cannot mend it), so a seal job never loops on it.
 * @throws PermanentError INVALID_INPUT naming every field that is wrong.
 */
export function parseSealPayload(data: unknown): SealPayload {
  return parseJobData(SealPayload, data, 'seal payload');
}

/**
 * The seal stage: store every artifact (hashed once, content-addressed, write-once), enrich,
 * write the canonical manifest, sign it and timestamp it, and put each step on the custody log.
 * Idempotent: a rerun stores nothing new and appends no duplicate events (keys carry the digest).
 */
export async function runSeal(payload: SealPayload, deps: SealStageDeps, onProgress: (p: JobProgress) => void = () => undefined): Promise<SealResult> {
  const { captureId, request } = payload;
  const caseId = request.caseId;
  const actor = { ...SEALER, authorisedBy: request.requestedBy };
  const sealed = await sealCapture(payload, {
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    config: deps.config,
    software: deps.software,
    hostname: os.hostname(),
    onProgress,
    wacz: {
      signingKey: () => loadWaczKey(deps.keys.dir),
      timestamp: tsaTimestamper(
        deps.config.tsa.urls.map((url) => ({ url })),
        { clock: deps.clock, logger: deps.logger, trustAnchors: deps.tsaTrustAnchors, timeoutMs: deps.config.tsa.timeoutMs, attempts: deps.config.tsa.attempts },
      ),
    },
  });
  const { manifest, manifestDigest, manifestKey } = sealed;
  // One consecutive run of events: every artifact, then the capture's outcome.
  await deps.custody.appendAll([
    ...manifest.artifacts.map((a) => ({
      caseId,
      actor,
      action: 'artifact-sealed' as const,
      subject: { captureId, digests: [a.sha256] },
      details: { name: a.name, role: a.role, mediaType: a.mediaType, size: a.size, sha512: a.sha512, storeKey: a.storeKey, sourceUrl: a.sourceUrl, derivedFrom: a.derivedFrom?.source ?? null },
      idempotencyKey: `seal:${captureId}:artifact:${a.name}:${a.sha256}`,
    })),
    {
      caseId,
      actor,
      action: manifest.status === 'captured' ? ('capture-finished' as const) : ('capture-failed' as const),
      subject: { captureId, digests: [manifestDigest] },
      details: { url: request.url, finalUrl: manifest.page.finalUrl, status: manifest.status, failure: manifest.failure, manifestKey, artifactCount: manifest.artifacts.length },
      idempotencyKey: `seal:${captureId}:manifest:${manifestDigest}`,
    },
  ]);

  onProgress({ stage: 'signing', percent: 96 });
  const tsas = deps.config.tsa.urls.map((url) => ({ url }));
  const attested = await attestManifest(caseId, captureId, manifestDigest, {
    store: deps.store,
    keys: deps.keys,
    clock: deps.clock,
    logger: deps.logger,
    tsas,
    timestamp: { trustAnchors: deps.tsaTrustAnchors, timeoutMs: deps.config.tsa.timeoutMs, attempts: deps.config.tsa.attempts },
  });
  onProgress({ stage: 'timestamping', percent: 98 });
  await deps.custody.appendAll([
    {
      caseId,
      actor,
      action: 'manifest-signed',
      subject: { captureId, digests: [manifestDigest] },
      details: { manifestDigest, keyFingerprint: attested.signature.keyFingerprint, algorithm: attested.signature.algorithm },
      idempotencyKey: `seal:${captureId}:signed:${manifestDigest}`,
    },
    ...attested.timestamps.map((t) => ({
      caseId,
      actor,
      action: 'timestamped' as const,
      subject: { captureId, digests: [manifestDigest] },
      details: { tsaUrl: t.tsaUrl, genTime: t.genTime, localTime: t.localTime, clockSkewMs: t.clockSkewMs, serialNumber: t.serialNumber, tsaName: t.tsaName },
      idempotencyKey: `seal:${captureId}:timestamp:${t.tokenSha256}`,
    })),
  ]);
  let sealFailure: SealResult['sealFailure'] = null;
  if (!attested.sealed) {
    const reasons = attested.timestampFailures.map((f) => `${f.tsaUrl}: ${f.failure.code}: ${f.failure.message}`);
    sealFailure = {
      code: 'TIMESTAMP_FAILED',
      kind: 'transient',
      message: tsas.length === 0 ? 'no RFC 3161 TSA is configured (tsa.urls): the manifest is signed but not timestamped' : `no TSA issued a valid token: ${reasons.join('; ')}`,
    };
    await deps.custody.append({
      caseId,
      actor,
      action: 'seal-failed',
      subject: { captureId, digests: [manifestDigest] },
      details: { failure: sealFailure, timestampFailures: attested.timestampFailures },
      idempotencyKey: `seal:${captureId}:unsealed:${manifestDigest}:${deps.clock.now().toISOString()}`,
    });
  }
  onProgress({ stage: 'done', percent: 100 });
  // Everything in the spool is now in the store; a failed seal keeps the spool for the retry.
  await rm(payload.spoolDir, { recursive: true, force: true });
  return SealResult.parse({
    captureId,
    caseId,
    status: manifest.status,
    manifestDigest,
    manifestKey,
    artifactCount: manifest.artifacts.length,
    seal: attested.sealed ? 'sealed' : 'unsealed',
    sealFailure,
  });
}

/**
 * BullMQ binding for the seal stage. Every failed attempt is custody-logged; permanent and integrity
 * failures (a malformed payload among them) are never retried.
 */
export function startSealWorker(target: RedisTarget, deps: SealStageDeps): Worker {
  const worker = new Worker(
    SEAL_QUEUE,
    async (job: Job) => {
      const subject = jobSubject(job.data);
      const log = deps.logger.child({ captureId: subject?.captureId ?? undefined, jobId: job.id, stage: 'seal' });
      try {
        const payload = parseSealPayload(job.data);
        const result = await runSeal(payload, deps, throttledProgress((p) => void job.updateProgress({ ...p, percent: 60 + Math.round(p.percent * 0.4) }).catch(() => undefined)));
        log.info({ seal: result.seal, manifestDigest: result.manifestDigest }, 'capture sealed');
        return result;
      } catch (err) {
        const failure = toFailure(err);
        const { retry, outage } = await retryDecision(job, failure, SEAL_ATTEMPTS, deps.config);
        log.error({ failure, retry, outage }, 'seal attempt failed');
        if (!subject) {
          // Without a case there is no custody log to write to: the job keeps the failure.
          log.error({ failure }, 'seal job names no valid case: its failure is recorded in the job only');
        } else {
          await deps.custody
            .append({
              caseId: subject.caseId,
              actor: { ...SEALER, ...(subject.requestedBy ? { authorisedBy: subject.requestedBy } : {}) },
              action: 'seal-failed',
              subject: subject.captureId ? { captureId: subject.captureId } : {},
              details: { attempt: job.attemptsMade + 1, willRetry: retry, failure },
              idempotencyKey: `seal:${subject.captureId ?? job.id}:failed:${job.attemptsMade + 1}`,
            })
            .catch((e: unknown) => log.error({ err: e }, 'could not record the seal failure in the custody log'));
        }
        // The spool is kept: `exhibit reseal` seals it later from what was captured.
        throw attemptError(err, retry);
      }
    },
    { connection: target.options, prefix: deps.config.redis.prefix, concurrency: deps.config.seal.concurrency, ...workerLockOptions(deps.config) },
  );
  worker.on('error', (err) => deps.logger.error({ err, context: 'worker' }, 'seal worker error'));
  return worker;
}
