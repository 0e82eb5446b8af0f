import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { parseTargetUrl } from '../collectors/browser/net-policy.js';
import { isoUtc, type Clock, type IdGenerator } from '../lib/clock.js';
import { toFailure } from '../lib/errors.js';
import { CaptureRequest } from '../schemas/capture.js';
import type { Config } from '../schemas/config.js';
import type { Failure } from '../schemas/errors.js';
import type { CapturePayload } from '../schemas/jobs.js';
import type { CustodyLog } from '../evidence/custody.js';
import { captureIndexKey, captureJobId, type Queues } from './queues.js';

export interface SubmitDeps {
  config: Config;
  queues: Queues;
  redis: Redis;
  clock: Clock;
  newId: IdGenerator;
  custody: CustodyLog;
}

export type SubmitOutcome =
  | { ok: true; url: string; captureId: string; jobId: string; duplicate: boolean }
  | { ok: false; url: string; failure: Failure };

const CHUNK = 1000;

/**
 * Validate, deduplicate and enqueue capture requests. A bad URL is answered with its failure and
 * does not stop the others. The same URL into the same case maps to one capture (kept in a Redis
 * hash, set with HSETNX so concurrent submitters agree) unless `force` is set; re-adding the job
 * under its deterministic id is a no-op in BullMQ, so a crash between the two steps loses nothing.
 */
export async function submitCaptures(raw: unknown[], deps: SubmitDeps): Promise<SubmitOutcome[]> {
  const outcomes: SubmitOutcome[] = new Array(raw.length);
  const valid: { index: number; request: CaptureRequest; href: string; jobId: string; captureId: string }[] = [];
  for (const [index, item] of raw.entries()) {
    const url = typeof item === 'object' && item !== null && 'url' in item ? String((item as { url: unknown }).url) : String(item);
    try {
      const parsed = CaptureRequest.safeParse(item);
      if (!parsed.success) {
        outcomes[index] = { ok: false, url, failure: { code: 'INVALID_INPUT', kind: 'permanent', message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') } };
        continue;
      }
      const href = parseTargetUrl(parsed.data.url).href;
      const captureId = deps.newId();
      const jobId = captureJobId(parsed.data.caseId, href, parsed.data.options.force ? captureId : undefined);
      valid.push({ index, request: { ...parsed.data, url: href }, href, jobId, captureId });
    } catch (err) {
      outcomes[index] = { ok: false, url, failure: toFailure(err) };
    }
  }
  const dedupeKey = `${deps.config.redis.prefix}:capture-dedupe`;
  const indexKey = captureIndexKey(deps.config.redis.prefix);
  for (let start = 0; start < valid.length; start += CHUNK) {
    const chunk = valid.slice(start, start + CHUNK);
    const claim = deps.redis.pipeline();
    for (const v of chunk) claim.hsetnx(dedupeKey, v.jobId, v.captureId);
    for (const v of chunk) claim.hget(dedupeKey, v.jobId);
    const res = (await claim.exec()) ?? [];
    const seenInChunk = new Set<string>();
    const fresh: typeof chunk = [];
    const jobs: { name: string; data: CapturePayload; opts: { jobId: string } }[] = [];
    const submittedAt = isoUtc(deps.clock.now());
    chunk.forEach((v, i) => {
      const [errSet, setResult] = res[i] ?? [];
      const [errGet, owner] = res[chunk.length + i] ?? [];
      if (errSet || errGet) throw errSet ?? errGet;
      const duplicate = setResult === 0 || seenInChunk.has(v.jobId);
      seenInChunk.add(v.jobId);
      const captureId = String(owner);
      outcomes[v.index] = { ok: true, url: v.href, captureId, jobId: v.jobId, duplicate };
      if (!duplicate) fresh.push({ ...v, captureId });
      // Always (re-)add: a no-op when the job exists; repairs a crash between claim and add.
      jobs.push({ name: 'capture', data: { captureId, submittedAt, request: v.request }, opts: { jobId: v.jobId } });
    });
    const unique = new Map(jobs.map((j) => [j.opts.jobId, j]));
    // No read first: BullMQ's add script leaves a job whose id exists untouched (it only emits a
    // `duplicated` event), so adding them all is the same no-op, in one round trip instead of N.
    if (unique.size) await deps.queues.capture.addBulk([...unique.values()]);
    if (fresh.length) {
      const idx = deps.redis.pipeline();
      for (const v of fresh) idx.hset(indexKey, v.captureId, v.jobId);
      await idx.exec();
      const byCase = new Map<string, typeof fresh>();
      for (const v of fresh) byCase.set(v.request.caseId, [...(byCase.get(v.request.caseId) ?? []), v]);
      for (const [caseId, list] of byCase) {
        const first = list[0]!;
        await deps.custody.append({
          caseId: caseId,
          action: 'request-submitted',
          actor: { type: 'operator', id: first.request.requestedBy, role: 'analyst' },
          subject: list.length === 1 ? { captureId: first.captureId } : {},
          details: {
            legalBasis: first.request.legalBasis ?? null,
            captures: list.map((v) => ({ captureId: v.captureId, url: v.href, requestedBy: v.request.requestedBy, options: v.request.options })),
          },
          idempotencyKey: `request-submitted:${createHash('sha256').update(list.map((v) => v.captureId).join(',')).digest('hex')}`,
        });
      }
    }
  }
  return outcomes;
}
