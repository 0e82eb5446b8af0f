import { createHash, createHmac } from 'node:crypto';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { configureCollectors, selectCollector } from '../collectors/registry.js';
import { isoUtc } from '../lib/clock.js';
import { PermanentError, TransientError, toFailure } from '../lib/errors.js';
import { childLogger, type Logger } from '../lib/logger.js';
import type { CaptureOptions } from '../schemas/capture.js';
import type { Failure } from '../schemas/errors.js';
import { StoredCaptureManifest, type CaptureManifest } from '../schemas/manifest.js';
import { PostDocument, type Post, type ReviewFlag } from '../schemas/post.js';
import { Watch, WatchInput, WatchRun, WatchStatus, WatchWebhookPayload, WebhookDeliveryFailure, parseInterval, type WatchFinding } from '../schemas/watch.js';
import { storeKeys } from '../evidence/store.js';
import { waitForFinal } from './job-state.js';
import { openWatchQueues, WATCH_QUEUE, WEBHOOK_QUEUE, workerLockOptions, type WatchQueues } from './queues.js';
import type { Services } from './services.js';
import { submitCaptures } from './submit.js';

/** The custody actor of every watch run; `authorisedBy` is the watch's creator. */
export const WATCHER_ID = 'exhibit-watcher';
/** Runs kept per watch for `watch events`. */
const EVENTS_KEPT = 1000;

const keys = (prefix: string) => ({
  all: `${prefix}:watches`,
  byTarget: `${prefix}:watch-targets`,
  watch: (id: string) => `${prefix}:watch:{${id}}`,
  snapshot: (id: string) => `${prefix}:watch:{${id}}:snapshot`,
  events: (id: string) => `${prefix}:watch:{${id}}:events`,
  lock: (id: string) => `${prefix}:watch:{${id}}:lock`,
});

/** Services plus the watch queues. */
export type WatchDeps = Services & { watchQueues: WatchQueues };

export function withWatchQueues(s: Services): WatchDeps & { closeWatchQueues(): Promise<void> } {
  const q = openWatchQueues(s.redisTarget, s.config.redis.prefix, s.logger);
  return { ...s, watchQueues: q, closeWatchQueues: () => q.close() };
}

/**
 * Jitter: where inside each interval this watch runs, fixed per watch (from its id), so 10,000
 * watches with the same interval spread evenly over it instead of firing in the same second.
 */
export function scheduleOffset(watchId: string, every: number): number {
  const h = createHash('sha256').update(watchId).digest();
  return 1 + (h.readUInt32BE(0) * 65536 + h.readUInt16BE(4)) % (every - 1);
}

/** (Re)place the watch's job scheduler with interval `every`; `offset` overrides the jitter (tests). */
export async function scheduleWatch(q: WatchQueues, watch: Watch, every: number, offset?: number): Promise<void> {
  await q.watch.upsertJobScheduler(watch.id, { every, offset: offset ?? scheduleOffset(watch.id, every) }, { name: 'watch-run', data: { watchId: watch.id }, opts: { removeOnComplete: 200, removeOnFail: 200 } });
}

function targetKey(caseId: string, href: string): string {
  return `${caseId}\n${href}`;
}

/**
 * Create a watch and its schedule.
 * @throws PermanentError INVALID_INPUT on a bad interval, a target no collector supports, or a
 * watch on the same URL in the same case.
 */
export async function addWatch(raw: unknown, s: WatchDeps, opts: { initialRun?: boolean; offset?: number } = {}): Promise<Watch> {
  const parsed = WatchInput.safeParse(raw);
  if (!parsed.success) throw new PermanentError('INVALID_INPUT', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const input = parsed.data;
  const every = parseInterval(input.every);
  if (!every.ok) throw new PermanentError('INVALID_INPUT', every.message);
  // The URL was checked and normalised by WatchInput; a collector must also take it.
  const href = input.url;
  try {
    selectCollector(new URL(href), configureCollectors(s.config.collectors));
  } catch (err) {
    const f = toFailure(err);
    throw new PermanentError('INVALID_INPUT', `no collector can watch ${input.url}: ${f.code}: ${f.message}`, { cause: err });
  }
  const watch = Watch.parse({
    schemaVersion: 'exhibit.watch/1',
    id: s.newId(),
    url: href,
    caseId: input.caseId,
    every: every.ms,
    createdBy: input.createdBy,
    legalBasis: input.legalBasis,
    ...(input.webhook ? { webhook: input.webhook } : {}),
    ...(input.allowPrivateNetwork ? { allowPrivateNetwork: true } : {}),
    state: 'active',
    createdAt: isoUtc(s.clock.now()),
  });
  const k = keys(s.config.redis.prefix);
  const claimed = await s.redis.hsetnx(k.byTarget, targetKey(watch.caseId, href), watch.id);
  if (!claimed) {
    const other = await s.redis.hget(k.byTarget, targetKey(watch.caseId, href));
    throw new PermanentError('INVALID_INPUT', `case ${watch.caseId} already has a watch on ${href} (${other}); pause, resume or remove that one`);
  }
  const { webhook, ...doc } = watch;
  await s.redis
    .multi()
    .hset(k.watch(watch.id), { doc: JSON.stringify(doc), state: 'active', runs: 0, failures: 0, effectiveEvery: watch.every, ...(webhook ? { webhookUrl: webhook.url, webhookSecret: webhook.secret } : {}) })
    .sadd(k.all, watch.id)
    .exec();
  await scheduleWatch(s.watchQueues, watch, watch.every, opts.offset);
  if (opts.initialRun) await runWatchNow(s, watch.id);
  return watch;
}

/** The watch with its webhook (secret included: for this process only, never logged). */
export async function getWatch(s: Pick<Services, 'redis' | 'config'>, id: string): Promise<Watch | null> {
  const h = await s.redis.hgetall(keys(s.config.redis.prefix).watch(id));
  if (!h.doc) return null;
  return Watch.parse({ ...JSON.parse(h.doc), state: h.state, ...(h.webhookUrl && h.webhookSecret ? { webhook: { url: h.webhookUrl, secret: h.webhookSecret } } : {}) });
}

async function requireWatch(s: Pick<Services, 'redis' | 'config'>, id: string): Promise<Watch> {
  const w = await getWatch(s, id);
  if (!w) throw new PermanentError('NOT_FOUND', `no watch ${id}`);
  return w;
}

export async function watchStatus(s: WatchDeps, id: string): Promise<WatchStatus> {
  const w = await requireWatch(s, id);
  const h = await s.redis.hgetall(keys(s.config.redis.prefix).watch(id));
  const sched = w.state === 'active' ? await s.watchQueues.watch.getJobScheduler(id) : undefined;
  const { webhook, ...rest } = w;
  const failures = Number(h.failures ?? 0);
  const effectiveEvery = Number(h.effectiveEvery ?? w.every);
  return WatchStatus.parse({
    watch: { ...rest, ...(webhook ? { webhook: { url: webhook.url } } : {}) },
    runs: Number(h.runs ?? 0),
    lastRunAt: h.lastRunAt ?? null,
    lastOutcome: (h.lastOutcome as 'ok' | 'failed' | undefined) ?? null,
    consecutiveFailures: failures,
    effectiveEvery,
    backingOff: effectiveEvery > w.every,
    lastFailure: h.lastFailure ? JSON.parse(h.lastFailure) : null,
    nextRunAt: sched?.next ? new Date(sched.next).toISOString() : null,
  });
}

export async function listWatches(s: WatchDeps): Promise<WatchStatus[]> {
  const ids = (await s.redis.smembers(keys(s.config.redis.prefix).all)).sort();
  const out: WatchStatus[] = [];
  for (const id of ids) out.push(await watchStatus(s, id));
  return out;
}

export async function pauseWatch(s: WatchDeps, id: string): Promise<void> {
  await requireWatch(s, id);
  await s.watchQueues.watch.removeJobScheduler(id);
  await s.redis.hset(keys(s.config.redis.prefix).watch(id), 'state', 'paused');
}

export async function resumeWatch(s: WatchDeps, id: string): Promise<void> {
  const w = await requireWatch(s, id);
  const h = await s.redis.hget(keys(s.config.redis.prefix).watch(id), 'effectiveEvery');
  await s.redis.hset(keys(s.config.redis.prefix).watch(id), 'state', 'active');
  await scheduleWatch(s.watchQueues, w, Number(h ?? w.every));
}

/** Stop and forget a watch (its schedule, snapshot and run list); its captures and custody events stay. */
export async function removeWatch(s: WatchDeps, id: string): Promise<void> {
  const w = await requireWatch(s, id);
  await s.watchQueues.watch.removeJobScheduler(id);
  const k = keys(s.config.redis.prefix);
  await s.redis.multi().del(k.watch(id), k.snapshot(id), k.events(id)).srem(k.all, id).hdel(k.byTarget, targetKey(w.caseId, w.url)).exec();
}

/** Queue a run now (besides the schedule). Returns the job id. */
export async function runWatchNow(s: WatchDeps, id: string): Promise<string> {
  await requireWatch(s, id);
  const job = await s.watchQueues.watch.add('watch-run', { watchId: id }, { jobId: `now-${id}-${s.newId()}` });
  return String(job.id);
}

/** The runs of a watch, newest first. */
export async function watchEvents(s: Pick<Services, 'redis' | 'config'>, id: string, limit = 100): Promise<WatchRun[]> {
  const list = await s.redis.lrange(keys(s.config.redis.prefix).events(id), 0, limit - 1);
  return list.map((j) => WatchRun.parse(JSON.parse(j)));
}

/** Failed jobs looked at for one watch's failed deliveries (the queue keeps 5000). */
const FAILED_SCAN = 5000;

/**
 * Webhook deliveries of a watch that failed for good (every attempt used, or refused as permanent),
 * newest first, from the webhook queue's failed jobs.
 */
export async function failedDeliveries(s: WatchDeps, watchId: string, limit = 100): Promise<WebhookDeliveryFailure[]> {
  const jobs = await s.watchQueues.webhook.getFailed(0, FAILED_SCAN - 1);
  const out: WebhookDeliveryFailure[] = [];
  for (const job of jobs) {
    const data = job?.data as WebhookJob | undefined;
    if (!data || data.watchId !== watchId) continue;
    out.push(
      WebhookDeliveryFailure.parse({
        deliveryId: `${data.watchId}/${data.run}/${data.index}`,
        run: data.run,
        kind: data.finding.kind,
        postKey: data.finding.postKey,
        attempts: job.attemptsMade,
        failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
        reason: job.failedReason || 'unknown',
      }),
    );
  }
  return out.sort((a, b) => (b.failedAt ?? '').localeCompare(a.failedAt ?? '') || b.run - a.run).slice(0, limit);
}

/** Normalised text + media source URLs (without query) of a post, hashed. Views and dates do not count. */
export function contentHash(post: Post): string {
  const text = (post.text?.content ?? '').normalize('NFC').replace(/\s+/gu, ' ').trim();
  const media = post.media.map((m) => {
    if (!m.sourceUrl) return `${m.type}:`;
    try {
      const u = new URL(m.sourceUrl);
      return `${m.type}:${u.origin}${u.pathname}`;
    } catch {
      return `${m.type}:${m.sourceUrl}`;
    }
  });
  return `sha256:${createHash('sha256').update(JSON.stringify({ text, media })).digest('hex')}`;
}

interface SnapshotEntry {
  /** Content hash. */
  h: string;
  /** Last capture that recorded this post. */
  c: string;
  /** Post URL. */
  u: string | null;
}

export interface RunHooks {
  /** How often to poll capture status, ms. */
  pollMs?: number;
}

async function submitOne(s: Services, watch: Watch, url: string, extra: Partial<CaptureOptions>): Promise<string> {
  const options: CaptureOptions = { force: true, watchId: watch.id, ...(watch.allowPrivateNetwork ? { allowPrivateNetwork: true } : {}), ...extra };
  const [o] = await submitCaptures([{ url, caseId: watch.caseId, requestedBy: watch.createdBy, legalBasis: watch.legalBasis, options }], s);
  if (!o?.ok) throw new PermanentError(o?.failure.code ?? 'INTERNAL', `capture of ${url} not accepted: ${o?.failure.message ?? 'no outcome'}`);
  return o.captureId;
}

async function readCapture(s: Services, caseId: string, captureId: string): Promise<{ manifest: CaptureManifest; doc: PostDocument | null }> {
  const manifest = StoredCaptureManifest.parse(JSON.parse((await s.store.getBytes(storeKeys.manifest(caseId, captureId))).toString('utf8')));
  const a = manifest.artifacts.find((x) => x.role === 'post');
  if (!a) return { manifest, doc: null };
  return { manifest, doc: PostDocument.parse(JSON.parse((await s.store.getBytes(a.storeKey)).toString('utf8'))) };
}

/** Interval after `failures` consecutive failed runs: doubles from the threshold on, up to the cap. */
export function backedOffEvery(every: number, failures: number, threshold: number, cap: number): number {
  if (failures < threshold) return every;
  const factor = 2 ** Math.min(30, failures - threshold + 1);
  return Math.max(every, Math.min(every * factor, cap));
}

/**
 * One run: capture the target into the case, wait for it to seal, read its post.json, diff against
 * the previous run's snapshot, and capture each finding (new → the post; edited → the post again,
 * `supersedes` the earlier capture; deleted → an observation of the post URL, `observationOf` its
 * last capture). Every run, finding or not, is a `watch-triggered` custody event; findings go to
 * the webhook queue. Returns null when another run of the same watch holds the lock.
 */
export async function runWatch(watchId: string, s: WatchDeps, hooks: RunHooks = {}): Promise<WatchRun | null> {
  const k = keys(s.config.redis.prefix);
  const watch = await getWatch(s, watchId);
  if (!watch) return null;
  const cfg = s.config.watch;
  const lockToken = s.newId();
  const locked = await s.redis.set(k.lock(watchId), lockToken, 'PX', cfg.runTimeoutMs * 2, 'NX');
  if (!locked) return null;
  const log = childLogger(s.logger, 'worker', { watchId });
  try {
    const run = await s.redis.hincrby(k.watch(watchId), 'runs', 1);
    const startedAt = isoUtc(s.clock.now());
    const findings: WatchFinding[] = [];
    let targetCaptureId: string | null = null;
    let visibility: string | null = null;
    let postsSeen = 0;
    let failure: Failure | null = null;
    const review: ReviewFlag[] = [];
    try {
      targetCaptureId = await submitOne(s, watch, watch.url, {});
      const st = await waitForFinal(s, targetCaptureId, { timeoutMs: cfg.runTimeoutMs, pollMs: hooks.pollMs ?? 500 });
      if (st.state === 'failed') throw new TransientError(st.failure?.code ?? 'INTERNAL', `capture of the watched page failed: ${st.failure?.message ?? 'unknown'}`);
      if (st.state === 'unsealed') throw new TransientError(st.failure?.code ?? 'INTERNAL', `capture of the watched page was not sealed: ${st.failure?.message ?? 'unknown'}`);
      const { manifest, doc } = await readCapture(s, watch.caseId, targetCaptureId);
      // The page itself failed (connection refused, HTTP error): sealed as what was observed, and a failed run.
      if (manifest.status === 'failed' && !doc) throw new TransientError(manifest.failure?.code ?? 'INTERNAL', `the watched page failed: ${manifest.failure?.message ?? 'unknown'}`);
      const snapRaw = await s.redis.hgetall(k.snapshot(watchId));
      const snapshot = new Map<string, SnapshotEntry>(Object.entries(snapRaw).map(([key, v]) => [key, JSON.parse(v) as SnapshotEntry]));
      const next = new Map(snapshot);
      const observedAt = doc?.observedAt ?? isoUtc(s.clock.now());
      visibility = doc?.visibility.state ?? null;
      if (!doc) {
        // A page without post.json (the generic web collector): the run capture is the record; nothing to diff.
      } else if (doc.visibility.state === 'visible' || doc.visibility.state === 'not-recognised') {
        // not-recognised: the page answered in a layout the collector does not know; it was sealed
        // with its generic extraction. The run diffs what was extracted and flags it for review, but
        // claims nothing about what is missing (no deletions) and keeps the watch's mode.
        const recognised = doc.visibility.state === 'visible';
        if (!recognised) review.push(...(doc.review.length ? doc.review : [{ code: 'not-recognised', message: 'the watched page was not in a layout the collector knows; findings come from the generic extraction' }]));
        const single = doc.post !== null;
        if (recognised) await s.redis.hset(k.watch(watchId), 'mode', single ? 'post' : 'list');
        const seen = doc.post ? [doc.post] : doc.replies;
        postsSeen = seen.length;
        const present = new Set<string>();
        for (const post of seen) {
          const key = post.id.toLowerCase();
          present.add(key);
          const h = contentHash(post);
          const prev = snapshot.get(key);
          const postUrl = post.url ?? prev?.u ?? null;
          if (!prev) {
            const captureId = single ? targetCaptureId : postUrl ? await submitOne(s, watch, postUrl, {}) : targetCaptureId;
            findings.push({ kind: 'new', postKey: key, postUrl, captureId, contentHash: h, observedAt });
            next.set(key, { h, c: captureId, u: postUrl });
          } else if (prev.h !== h) {
            const captureId = postUrl ? await submitOne(s, watch, postUrl, { supersedes: prev.c }) : targetCaptureId;
            findings.push({ kind: 'edited', postKey: key, postUrl, captureId, previousCaptureId: prev.c, contentHash: h, previousContentHash: prev.h, observedAt });
            next.set(key, { h, c: captureId, u: postUrl });
          }
        }
        if (!single && recognised) {
          for (const [key, prev] of snapshot) {
            if (present.has(key)) continue;
            const captureId = prev.u ? await submitOne(s, watch, prev.u, { observationOf: prev.c }) : undefined;
            findings.push({ kind: 'deleted', postKey: key, postUrl: prev.u, ...(captureId ? { captureId } : {}), previousCaptureId: prev.c, previousContentHash: prev.h, observedAt });
            next.delete(key);
          }
        }
      } else if (snapshot.size > 0 && (await s.redis.hget(k.watch(watchId), 'mode')) === 'post' && POST_GONE.has(doc.visibility.state)) {
        // The watched post now answers deleted/unavailable: an observation capture linked to its last capture.
        for (const [key, prev] of snapshot) {
          const captureId = await submitOne(s, watch, prev.u ?? watch.url, { observationOf: prev.c });
          findings.push({ kind: 'deleted', postKey: key, postUrl: prev.u, captureId, previousCaptureId: prev.c, previousContentHash: prev.h, observedAt });
          next.delete(key);
        }
      } else {
        throw new TransientError('NOT_VISIBLE', `the watched page is not visible: ${doc.visibility.state}${doc.visibility.reason ? ` (${doc.visibility.reason})` : ''}`);
      }
      const multi = s.redis.multi().del(k.snapshot(watchId));
      if (next.size) multi.hset(k.snapshot(watchId), Object.fromEntries([...next].map(([key, v]) => [key, JSON.stringify(v)])));
      await multi.exec();
    } catch (err) {
      failure = toFailure(err);
      log.warn({ failure }, 'watch run failed');
    }
    // Failures and back-off.
    const failures = failure ? await s.redis.hincrby(k.watch(watchId), 'failures', 1) : 0;
    const effectiveEvery = backedOffEvery(watch.every, failures, cfg.failureThreshold, cfg.maxBackoffMs);
    const before = Number((await s.redis.hget(k.watch(watchId), 'effectiveEvery')) ?? watch.every);
    const record = WatchRun.parse({
      watchId,
      run,
      startedAt,
      finishedAt: isoUtc(s.clock.now()),
      outcome: failure ? 'failed' : 'ok',
      targetCaptureId,
      visibility,
      postsSeen,
      findings,
      review,
      failure,
      consecutiveFailures: failures,
      effectiveEvery,
    });
    await s.custody.append({
      caseId: watch.caseId,
      action: 'watch-triggered',
      actor: { type: 'service', id: WATCHER_ID, role: 'watchlist', authorisedBy: watch.createdBy },
      subject: targetCaptureId ? { captureId: targetCaptureId } : {},
      details: {
        watchId,
        run,
        url: watch.url,
        every: watch.every,
        effectiveEvery,
        legalBasis: watch.legalBasis ?? null,
        outcome: record.outcome,
        targetCaptureId,
        visibility,
        postsSeen,
        findings,
        ...(review.length ? { review } : {}),
        failure,
        consecutiveFailures: failures,
      },
      idempotencyKey: `watch-triggered:${watchId}:${run}`,
    });
    const state = await s.redis.hget(k.watch(watchId), 'state');
    const upd = s.redis
      .multi()
      .hset(k.watch(watchId), { lastRunAt: record.finishedAt, lastOutcome: record.outcome, failures, effectiveEvery, lastFailure: failure ? JSON.stringify(failure) : '' })
      .lpush(k.events(watchId), JSON.stringify(record))
      .ltrim(k.events(watchId), 0, EVENTS_KEPT - 1);
    if (!failure) upd.hdel(k.watch(watchId), 'lastFailure');
    await upd.exec();
    if (effectiveEvery !== before && state === 'active') {
      await scheduleWatch(s.watchQueues, watch, effectiveEvery);
      log.warn({ failures, every: watch.every, effectiveEvery }, effectiveEvery > watch.every ? 'watch target keeps failing: interval backed off' : 'watch target recovered: interval restored');
    }
    if (watch.webhook && findings.length) {
      await s.watchQueues.webhook.addBulk(
        findings.map((finding, i) => ({
          name: 'deliver',
          data: { watchId, run, index: i, finding },
          opts: { jobId: `wh-${watchId}-${run}-${i}`, attempts: cfg.webhookAttempts, backoff: { type: 'exponential', delay: cfg.webhookBackoffMs } },
        })),
      );
    }
    return record;
  } finally {
    // Release only our own lock.
    await s.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end", 1, k.lock(watchId), lockToken);
  }
}

/** Visibility states that mean a watched post is gone (login walls, gates and rate limits are not). */
const POST_GONE = new Set<string>(['deleted', 'unavailable']);

/** `sha256=<hex HMAC-SHA256(secret, body)>`, the `X-Exhibit-Signature` header value. */
export function signWebhook(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export interface WebhookJob {
  watchId: string;
  run: number;
  index: number;
  finding: WatchFinding;
}

/**
 * POST one finding to the watch's webhook, signed. The secret is read from Redis at send time (it
 * is not in the job). A hanging endpoint is cut off after `watch.webhookTimeoutMs`; a non-2xx answer
 * or a timeout throws, and BullMQ retries with exponential backoff.
 */
export async function deliverWebhook(job: WebhookJob, s: Pick<Services, 'redis' | 'config' | 'clock'>): Promise<{ status: number }> {
  const watch = await getWatch(s, job.watchId);
  if (!watch?.webhook) throw new PermanentError('NOT_FOUND', `watch ${job.watchId} has no webhook any more`);
  const sentAt = isoUtc(s.clock.now());
  const payload = WatchWebhookPayload.parse({ schemaVersion: 'exhibit.watch-finding/1', deliveryId: `${job.watchId}/${job.run}/${job.index}`, watchId: job.watchId, caseId: watch.caseId, url: watch.url, run: job.run, finding: job.finding, sentAt });
  const body = JSON.stringify(payload);
  let res: Response;
  try {
    res = await fetch(watch.webhook.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Exhibit-Signature': signWebhook(watch.webhook.secret, body), 'X-Exhibit-Timestamp': sentAt, 'X-Exhibit-Delivery': payload.deliveryId },
      body,
      signal: AbortSignal.timeout(s.config.watch.webhookTimeoutMs),
      redirect: 'manual',
    });
    await res.arrayBuffer().catch(() => undefined);
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new TransientError('TIMEOUT', `webhook did not answer within ${s.config.watch.webhookTimeoutMs} ms`);
    throw new TransientError('CONNECTION_FAILED', `webhook: ${e.message}`);
  }
  if (res.status < 200 || res.status > 299) throw new TransientError('HTTP_ERROR', `webhook answered HTTP ${res.status}`);
  return { status: res.status };
}

const RATE_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return redis.call('PTTL', KEYS[1]) end
return 0`;

/**
 * Take one run slot of the watch's platform (collector id) in the current window, shared by every
 * worker on this Redis. Returns 0 when granted, else the ms until the window ends.
 */
export async function takePlatformSlot(s: Pick<Services, 'redis' | 'config'>, watch: Pick<Watch, 'url'>): Promise<{ platform: string; waitMs: number }> {
  const platform = selectCollector(new URL(watch.url), configureCollectors(s.config.collectors)).id;
  const { max, durationMs } = s.config.watch.platformRate;
  const window = Math.floor(Date.now() / durationMs);
  const key = `${s.config.redis.prefix}:watch-rate:{${platform}}:${window}`;
  const ttl = Number(await s.redis.eval(RATE_SCRIPT, 1, key, max, durationMs));
  return { platform, waitMs: ttl === 0 ? 0 : Math.max(ttl > 0 ? Math.min(ttl, durationMs) : durationMs, 1) };
}

export interface RunningWatchWorkers {
  close(): Promise<void>;
}

/**
 * Run watch runs and webhook deliveries in this process. Each run is its own job, so a slow or
 * failing target holds one of `watch.concurrency` slots and never the others' schedules.
 */
export async function startWatchWorkers(s: Services, logger: Logger, overrides: { run?: (watchId: string, d: WatchDeps) => Promise<unknown> } = {}): Promise<RunningWatchWorkers> {
  const d = withWatchQueues(s);
  const opts = { connection: s.redisTarget.options, prefix: s.config.redis.prefix };
  const run = overrides.run ?? ((id: string, deps: WatchDeps) => runWatch(id, deps));
  const watchWorker = new Worker(
    WATCH_QUEUE,
    async (job: Job<{ watchId: string }>, token?: string) => {
      const watch = await getWatch(s, job.data.watchId);
      if (!watch) return null;
      const slot = await takePlatformSlot(s, watch);
      if (slot.waitMs > 0 && token) {
        // Over the platform's rate: wait for the next window (a little spread), without holding a slot.
        logger.info({ watchId: watch.id, platform: slot.platform, waitMs: slot.waitMs }, 'watch run deferred: platform rate limit');
        await job.moveToDelayed(Date.now() + slot.waitMs + Math.floor(Math.random() * 250), token);
        throw new DelayedError();
      }
      const r = await run(job.data.watchId, d);
      return r && typeof r === 'object' && 'run' in r ? { run: (r as WatchRun).run, outcome: (r as WatchRun).outcome, findings: (r as WatchRun).findings.length } : null;
    },
    { ...opts, concurrency: s.config.watch.concurrency, ...workerLockOptions(s.config) },
  );
  const webhookWorker = new Worker(
    WEBHOOK_QUEUE,
    async (job: Job<WebhookJob>) => {
      try {
        return await deliverWebhook(job.data, s);
      } catch (err) {
        const f = toFailure(err);
        const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        logger.warn({ watchId: job.data.watchId, attempt: job.attemptsMade + 1, failure: f, gaveUp: last || f.kind !== 'transient' }, 'webhook delivery failed');
        if (f.kind !== 'transient') throw new UnrecoverableError(`${f.code}: ${f.message}`);
        throw new Error(`${f.code}: ${f.message}`);
      }
    },
    { ...opts, concurrency: 8, ...workerLockOptions(s.config) },
  );
  watchWorker.on('error', (err) => logger.error({ err }, 'watch worker error'));
  webhookWorker.on('error', (err) => logger.error({ err }, 'webhook worker error'));
  await Promise.all([watchWorker.waitUntilReady(), webhookWorker.waitUntilReady()]);
  return {
    close: async () => {
      await Promise.all([watchWorker.close(), webhookWorker.close()]);
      await d.closeWatchQueues();
    },
  };
}
