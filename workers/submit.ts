import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { isoUtc, type Clock, type IdGenerator } from '../lib/clock.js';
import { mapLimit } from '../lib/concurrency.js';
import { TransientError } from '../lib/errors.js';
import { CaptureRequest } from '../schemas/capture.js';
import type { CliOperator } from '../schemas/common.js';
import type { CustodyActor } from '../schemas/custody.js';
import type { Config } from '../schemas/config.js';
import type { Failure } from '../schemas/errors.js';
import type { CapturePayload } from '../schemas/jobs.js';
import { isTargetUrlIssue, targetUrlIssueCode } from '../schemas/target-url.js';
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

/** Everything of a capture request but its URL: what one list of URLs shares. */
export type CaptureRequestCommon = Omit<z.input<typeof CaptureRequest>, 'url'>;

/** How a submission is cut up; the defaults suit any list, tests use small ones to cross the edges. */
export interface SubmitTuning {
  /** Requests per claim script and per `addBulk` (bounds how long one script holds Redis). @defaultValue 1000 */
  chunk: number;
  /** Requests per `request-submitted` event (per case, submitter and legal basis): bounds its size. @defaultValue 10000 */
  recordBatch: number;
  /** `addBulk` chunks in flight at once: the next is built while Redis runs the previous one. @defaultValue 2 */
  addInFlight: number;
}
export const SUBMIT_TUNING: Readonly<SubmitTuning> = { chunk: 1000, recordBatch: 10_000, addInFlight: 2 };

const SharedPart = CaptureRequest.omit({ url: true });
/** The schema's own rule for a URL, so the list fast path cannot drift from it. */
const UrlField = CaptureRequest.shape.url;

/**
 * Why a request was refused: a refused target URL answers with its own code (`INVALID_URL`,
 * `UNSUPPORTED_SCHEME`) when it is the only problem; anything else is `INVALID_INPUT`, naming each field.
 */
function refusal(issues: readonly z.core.$ZodIssue[]): Failure {
  if (issues.length > 0 && issues.every(isTargetUrlIssue)) return { code: targetUrlIssueCode(issues[0]!), kind: 'permanent', message: issues.map((i) => i.message).join('; ') };
  return { code: 'INVALID_INPUT', kind: 'permanent', message: issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
}

type Rejected = Extract<SubmitOutcome, { ok: false }>;

interface Valid {
  index: number;
  request: CaptureRequest;
  href: string;
  jobId: string;
  captureId: string;
}

// KEYS: dedupe hash (jobId → captureId), index hash (captureId → jobId). ARGV: the job ids and the
// capture ids, each list joined with ',' (one argument each instead of two per request: encoding
// thousands of arguments costs more than the claims). Claim and index in one atomic step, so no
// crash leaves a claim without its index entry; a claim found taken gets its index entry repaired
// (HSETNX: an entry is never rewritten). Returns, joined with ',', per request '' when this call
// claimed it, else the owning capture id.
const CLAIM_LUA = `
local jobs, caps = {}, {}
for id in string.gmatch(ARGV[1], '[^,]+') do jobs[#jobs + 1] = id end
for id in string.gmatch(ARGV[2], '[^,]+') do caps[#caps + 1] = id end
if #jobs ~= #caps then return redis.error_reply('capture claim: ' .. #jobs .. ' job ids for ' .. #caps .. ' capture ids') end
local out = {}
for i = 1, #jobs do
  if redis.call('HSETNX', KEYS[1], jobs[i], caps[i]) == 1 then
    redis.call('HSET', KEYS[2], caps[i], jobs[i])
    out[i] = ''
  else
    local owner = redis.call('HGET', KEYS[1], jobs[i])
    redis.call('HSETNX', KEYS[2], owner, jobs[i])
    out[i] = owner
  end
end
return table.concat(out, ',')
`;

/** Claim a chunk's job ids; per request, '' when newly claimed, else the capture that owns it. */
async function claim(claims: readonly Valid[], dedupeKey: string, indexKey: string, redis: Redis): Promise<string[]> {
  const jobIds = new Array<string>(claims.length);
  const captureIds = new Array<string>(claims.length);
  for (let i = 0; i < claims.length; i++) {
    const v = claims[i]!;
    // Ours (a digest, and ids from the id generator), but the joined form must stay unambiguous.
    if (v.jobId.includes(',') || v.captureId.includes(',') || v.captureId === '') throw new TransientError('INTERNAL', `capture id ${JSON.stringify(v.captureId)} or job id ${v.jobId} cannot be claimed`);
    jobIds[i] = v.jobId;
    captureIds[i] = v.captureId;
  }
  const reply = (await redis.eval(CLAIM_LUA, 2, dedupeKey, indexKey, jobIds.join(','), captureIds.join(','))) as unknown;
  const owners = typeof reply === 'string' ? reply.split(',') : [];
  if (owners.length !== claims.length) throw new TransientError('INTERNAL', `capture claim script answered ${owners.length} of ${claims.length} claims`);
  return owners;
}

/** Validate one raw request by its schema (the URL is normalised there); the failure is the outcome. */
function validateOne(item: unknown, index: number, deps: SubmitDeps): Valid | Rejected {
  const parsed = CaptureRequest.safeParse(item);
  if (!parsed.success) {
    const url = typeof item === 'object' && item !== null && 'url' in item ? String((item as { url: unknown }).url) : String(item);
    return { ok: false, url, failure: refusal(parsed.error.issues) };
  }
  const request = parsed.data;
  const captureId = deps.newId();
  const jobId = captureJobId(request.caseId, request.url, request.options.force ? captureId : undefined);
  return { index, request, href: request.url, jobId, captureId };
}

/**
 * Validate, deduplicate and enqueue capture requests. A bad URL is answered with its failure and
 * does not stop the others. The same URL into the same case maps to one capture (kept in a Redis
 * hash, set with HSETNX so concurrent submitters agree) unless `force` is set; re-adding the job
 * under its deterministic id is a no-op in BullMQ, so a crash between the two steps loses nothing.
 */
export async function submitCaptures(raw: unknown[], deps: SubmitDeps, tuning: SubmitTuning = SUBMIT_TUNING): Promise<SubmitOutcome[]> {
  return submitEach(raw.length, (index) => validateOne(raw[index], index, deps), deps, tuning);
}

/**
 * {@link submitCaptures} for a list of URLs sharing everything else (`exhibit capture --file`):
 * the shared part is validated once instead of once per URL; each URL still goes through the URL
 * rule, and anything unusual about one (not a string, empty, too long) takes the per-request
 * path, so the outcomes are exactly those of `submitCaptures(urls.map((url) => ({ ...common, url })))`.
 */
export async function submitUrlList(urls: readonly unknown[], common: CaptureRequestCommon, deps: SubmitDeps, tuning: SubmitTuning = SUBMIT_TUNING): Promise<SubmitOutcome[]> {
  const shared = SharedPart.safeParse(common);
  if (!shared.success) return submitCaptures(urls.map((url) => ({ ...common, url })), deps, tuning);
  const rest = shared.data;
  return submitEach(
    urls.length,
    (index) => {
      const url = urls[index];
      const parsed = UrlField.safeParse(url);
      if (!parsed.success) return validateOne({ ...common, url }, index, deps);
      const href = parsed.data;
      const captureId = deps.newId();
      const jobId = captureJobId(rest.caseId, href, rest.options.force ? captureId : undefined);
      return { index, request: { url: href, ...rest }, href, jobId, captureId };
    },
    deps,
    tuning,
  );
}

/**
 * The submission itself, in batches of up to `tuning.recordBatch` requests. Per batch, in this
 * order, for what a crash leaves behind: (1) claim each job id and index its capture id, atomically
 * per chunk; (2) one `request-submitted` custody event per case, submitter and legal basis, listing
 * every capture newly claimed — so a request is on record before any worker can see its jobs;
 * (3) add every job, duplicates included: adding an existing job id is a no-op in BullMQ, and adding
 * a missing one repairs a crash after (1). Within (1) and (3), the next chunk is prepared here while
 * Redis runs the previous one.
 */
async function submitEach(count: number, validateAt: (index: number) => Valid | Rejected, deps: SubmitDeps, tuning: SubmitTuning): Promise<SubmitOutcome[]> {
  const chunk = Math.max(1, Math.floor(tuning.chunk));
  const recordBatch = Math.max(1, Math.floor(tuning.recordBatch));
  const outcomes: SubmitOutcome[] = new Array(count);
  const dedupeKey = `${deps.config.redis.prefix}:capture-dedupe`;
  const indexKey = captureIndexKey(deps.config.redis.prefix);
  const submittedAt = isoUtc(deps.clock.now());
  // First occurrence of each job id in this list: later ones share its outcome, without a claim.
  const firstIndex = new Map<string, number>();
  for (let batch = 0; batch < count; batch += recordBatch) {
    const end = Math.min(count, batch + recordBatch);
    const chunks: Array<{ claims: Valid[]; owners: Promise<string[]> }> = [];
    const repeats: Valid[] = [];
    for (let start = batch; start < end; start += chunk) {
      const claims: Valid[] = [];
      for (let index = start; index < Math.min(end, start + chunk); index++) {
        const v = validateAt(index);
        if (!('index' in v)) outcomes[index] = v;
        else if (firstIndex.has(v.jobId)) repeats.push(v);
        else {
          firstIndex.set(v.jobId, index);
          claims.push(v);
        }
      }
      // Not awaited here (Promise.all below takes every one, before any can be left unhandled).
      if (claims.length) chunks.push({ claims, owners: claim(claims, dedupeKey, indexKey, deps.redis) });
    }
    const owners = await Promise.all(chunks.map((c) => c.owners));
    const fresh: Valid[] = [];
    const jobChunks = chunks.map(({ claims }, c) =>
      claims.map((v, i) => {
        const owner = owners[c]![i]!;
        const duplicate = owner !== '';
        const captureId = duplicate ? owner : v.captureId;
        outcomes[v.index] = { ok: true, url: v.href, captureId, jobId: v.jobId, duplicate };
        if (!duplicate) fresh.push(v);
        return { name: 'capture', data: { captureId, submittedAt, request: v.request } satisfies CapturePayload, opts: { jobId: v.jobId } };
      }),
    );
    for (const v of repeats) {
      const o = outcomes[firstIndex.get(v.jobId)!] as Extract<SubmitOutcome, { ok: true }>;
      outcomes[v.index] = { ok: true, url: v.href, captureId: o.captureId, jobId: v.jobId, duplicate: true };
    }
    await recordSubmissions(fresh, deps);
    await addChunks(jobChunks, deps, tuning.addInFlight);
  }
  return outcomes;
}

/**
 * `addBulk` every chunk, `inFlight` at once. No read first: BullMQ's add script leaves a
 * job whose id exists untouched (it only emits a `duplicated` event), so adding them all is the
 * same no-op, in one round trip per chunk instead of one per job. The first failure stops further
 * chunks and is thrown once the running ones have settled.
 */
async function addChunks(jobChunks: Array<Array<{ name: string; data: CapturePayload; opts: { jobId: string } }>>, deps: SubmitDeps, inFlight: number): Promise<void> {
  await mapLimit(jobChunks, Math.max(1, Math.floor(inFlight)), (jobs) => deps.queues.capture.addBulk(jobs));
}

/** One `request-submitted` event per case, submitter and legal basis, listing each new capture. */
async function recordSubmissions(fresh: Valid[], deps: SubmitDeps): Promise<void> {
  const groups = new Map<string, Valid[]>();
  let last: { request: CaptureRequest; list: Valid[] } | null = null;
  for (const v of fresh) {
    const r = v.request;
    // A list shares one submitter and legal basis: compare with the previous request before keying.
    if (last && last.request.caseId === r.caseId && last.request.requestedBy === r.requestedBy && last.request.legalBasis === r.legalBasis && sameOperator(last.request.operator, r.operator) && last.request.user?.role === r.user?.role) {
      last.list.push(v);
      continue;
    }
    const key = JSON.stringify([r.caseId, r.requestedBy, r.legalBasis ?? null, r.operator ?? null, r.user ?? null]);
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(v);
    last = { request: r, list };
  }
  for (const list of groups.values()) {
    const head = list[0]!.request;
    await deps.custody.append({
      caseId: head.caseId,
      action: 'request-submitted',
      actor: submitter(head),
      subject: list.length === 1 ? { captureId: list[0]!.captureId } : {},
      details: {
        legalBasis: head.legalBasis ?? null,
        captures: list.map((v) => ({ captureId: v.captureId, url: v.href, requestedBy: v.request.requestedBy, options: v.request.options })),
      },
      idempotencyKey: `request-submitted:${createHash('sha256').update(list.map((v) => v.captureId).join(',')).digest('hex')}`,
    });
  }
}

/**
 * Who submitted, as the custody log names them: a signed-in web user as a `user` with their role; a
 * command-line run (or a caller that names no one, such as a watchlist acting for its creator) as an
 * `operator`, with the OS user and host when known.
 */
export function submitter(r: CaptureRequest): CustodyActor {
  if (r.user) return { type: 'user', id: r.requestedBy, role: r.user.role };
  return { type: 'operator', id: r.requestedBy, role: 'analyst', ...(r.operator ? { osUser: r.operator.osUser, host: r.operator.host } : {}) };
}

const sameOperator = (a: CliOperator | undefined, b: CliOperator | undefined): boolean => a?.name === b?.name && a?.osUser === b?.osUser && a?.host === b?.host;
