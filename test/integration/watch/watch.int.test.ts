import { execFile } from 'node:child_process';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../schemas/config.js';
import { CaptureManifest } from '../../../schemas/manifest.js';
import { PostDocument } from '../../../schemas/post.js';
import { WatchWebhookPayload, type WatchRun } from '../../../schemas/watch.js';
import { verifyChain } from '../../../evidence/custody.js';
import type { CaptureStatus } from '../../../workers/job-state.js';
import type { Services } from '../../../workers/runtime.js';
import { addWatch, listWatches, pauseWatch, removeWatch, resumeWatch, runWatch, runWatchNow, takePlatformSlot, watchEvents, watchStatus, withWatchQueues, type WatchDeps } from '../../../workers/watch.js';
import { EDITED_102, setTelegramChannelState, startTelegramFixture } from '../../fixtures/telegram/server.js';
import type { FixtureSite } from '../../fixtures/fixture-server.js';
import { freePort } from '../../support/services.js';
import { startPipelineEnv, type PipelineEnv } from '../../support/pipeline-env.js';

const run = promisify(execFile);
const SECRET = 'whsec-test-0123456789abcdef';

interface Received {
  body: string;
  signature: string;
  timestamp: string;
  valid: boolean;
}

/** A webhook receiver that checks the HMAC itself (node:crypto, not our signing code). */
async function startReceiver(secret: string): Promise<{ url: string; calls: Received[]; close(): Promise<void> }> {
  const calls: Received[] = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += String(c)));
    req.on('end', () => {
      const signature = String(req.headers['x-exhibit-signature'] ?? '');
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
      const valid = signature.length === expected.length && timingSafeEqual(Buffer.from(signature), expected);
      calls.push({ body, signature, timestamp: String(req.headers['x-exhibit-timestamp'] ?? ''), valid });
      res.writeHead(valid ? 200 : 401).end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/hook`, calls, close: () => new Promise((r) => srv.close(() => r())) };
}

describe('watchlists on the Telegram fixture (real Redis, Chromium, local store, TSA)', () => {
  let site: FixtureSite;
  let env: PipelineEnv;
  let s: Services;
  let d: WatchDeps & { closeWatchQueues(): Promise<void> };
  let config: Config;
  let stateDir: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let hanging: http.Server;
  let hangingUrl: string;
  let hangingHits = 0;
  const caseId = `C-WATCH-${randomUUID().slice(0, 8)}`;

  const waitFinal = (captureId: string): Promise<CaptureStatus> => env.waitFinal(captureId, { timeoutMs: 120_000 });
  const manifestOf = (captureId: string): Promise<CaptureManifest> => env.manifestOf(caseId, captureId);
  const postOf = (m: CaptureManifest): Promise<PostDocument> => env.postOf(m);
  async function settle(r: WatchRun | null): Promise<WatchRun> {
    expect(r).not.toBeNull();
    for (const f of r!.findings) if (f.captureId) expect((await waitFinal(f.captureId)).state).toBe('sealed');
    return r!;
  }

  beforeAll(async () => {
    site = await startTelegramFixture();
    receiver = await startReceiver(SECRET);
    hanging = http.createServer(() => {
      hangingHits++; // never answers
    });
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hook`;
    env = await startPipelineEnv({
      name: 'watch',
      config: {
        collectors: { telegram: { hosts: [site.host] } },
        capture: { concurrency: 2, attempts: 1, navigationTimeoutMs: 10_000, settleTimeoutMs: 6_000, networkQuietMs: 300, timeoutMs: 45_000 },
        watch: { runTimeoutMs: 120_000, failureThreshold: 2, webhookTimeoutMs: 800, webhookAttempts: 2, webhookBackoffMs: 200 },
      },
    });
    ({ s, config, stateDir } = env);
    d = withWatchQueues(s);
  });

  afterAll(async () => {
    // The test's own handles on the watch queues first; then the workers, the services and the TSA.
    await d?.closeWatchQueues();
    await env?.close();
    await site?.close();
    await receiver?.close();
    hanging?.closeAllConnections();
    await new Promise((r) => hanging?.close(r));
  });

  it('accepts list pages as targets, each watched through its platform collector (one post per visible item)', async () => {
    // Mastodon and Bluesky answer for their configured hosts; the lists below are theirs, not `generic`'s.
    const dd = { ...d, config: { ...config, collectors: { ...config.collectors, mastodon: { hosts: ['social.example'] }, bluesky: { hosts: ['bsky.example'] } } } };
    const lists: Array<[string, string]> = [
      ['https://social.example/tags/%D8%AD%D9%84%D8%A8', 'mastodon'],
      ['https://social.example/@layla', 'mastodon'],
      ['https://bsky.example/profile/layla.bsky.social/post/3kq2ablz7ks2a/quotes', 'bluesky'],
      ['https://bsky.example/search?q=%DA%A9%D8%B1%D8%A7%DA%86%DB%8C', 'bluesky'],
      ['https://bsky.example/profile/layla.bsky.social', 'bluesky'],
    ];
    for (const [url, platform] of lists) {
      const w = await addWatch({ url, caseId: `${caseId}-lists`, createdBy: 'analyst-01', every: '1h' }, dd);
      expect(w.url, url).toBe(new URL(url).href);
      expect((await takePlatformSlot(dd, w)).platform, url).toBe(platform);
      await removeWatch(dd, w.id);
    }
  });

  it('rejects invalid intervals, unsupported targets and duplicate watches with INVALID_INPUT', async () => {
    const base = { url: `${site.url}/s/sahel_news`, caseId: `${caseId}-v`, createdBy: 'analyst-01', allowPrivateNetwork: true };
    for (const every of ['0m', '30s', '59s', '1.5h', '8d', '10081m', '15 m', '', 'm', '-5m', '1h30m', '015m', '1w']) {
      await expect(addWatch({ ...base, every }, d), every).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    }
    for (const url of ['ftp://example.org/x', 'file:///etc/passwd', 'not a url', 'javascript:alert(1)']) {
      await expect(addWatch({ ...base, url, every: '15m' }, d), url).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    }
    await expect(addWatch({ ...base, every: '15m', webhook: { url: receiver.url, secret: 'short' } }, d)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const w = await addWatch({ ...base, every: '7d' }, d);
    expect(w.every).toBe(7 * 86_400_000);
    await expect(addWatch({ ...base, every: '1m' }, d)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringContaining(w.id) });
    // The same URL in another case is another watch; after removal the URL can be watched again.
    const other = await addWatch({ ...base, caseId: `${caseId}-v2`, every: '1m' }, d);
    await removeWatch(d, w.id);
    const again = await addWatch({ ...base, every: '1h' }, d);
    expect((await d.watchQueues.watch.getJobScheduler(again.id))?.every).toBe(3_600_000);
    expect(await d.watchQueues.watch.getJobScheduler(w.id)).toBeUndefined();
    await removeWatch(d, again.id);
    await removeWatch(d, other.id);
    await expect(pauseWatch(d, w.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('an empty legal basis is no legal basis, as on the command line: nothing is stored, so no run cites one', async () => {
    const base = { url: `${site.url}/s/sahel_news`, createdBy: 'analyst-01', every: '1h', allowPrivateNetwork: true };
    const blank = await addWatch({ ...base, caseId: `${caseId}-lb1`, legalBasis: '' }, d);
    const cited = await addWatch({ ...base, caseId: `${caseId}-lb2`, legalBasis: ' Warrant 2026/78 ' }, d);
    try {
      expect(blank.legalBasis).toBeUndefined();
      expect(cited.legalBasis).toBe('Warrant 2026/78');
      const stored = await s.redis.hget(`${config.redis.prefix}:watch:{${blank.id}}`, 'doc');
      expect(JSON.parse(stored!)).not.toHaveProperty('legalBasis');
      expect((await watchStatus(d, blank.id)).watch.legalBasis).toBeUndefined();
    } finally {
      await removeWatch(d, blank.id);
      await removeWatch(d, cited.id);
    }
  });

  it('detects new, edited and deleted posts over three runs: the expected captures, links, custody events and signed webhooks', async () => {
    await setTelegramChannelState(site, 1);
    const watch = await addWatch({ url: `${site.url}/s/sahel_news`, caseId, every: '15m', createdBy: 'analyst-01', legalBasis: 'Warrant 2026/77', webhook: { url: receiver.url, secret: SECRET }, allowPrivateNetwork: true }, d);
    const sched = await d.watchQueues.watch.getJobScheduler(watch.id);
    expect(sched?.every).toBe(900_000);
    expect(sched?.next).toBeGreaterThan(Date.now());

    // Run 1 (A, B): both are new to the watch, each captured on its own.
    const r1 = await settle(await runWatch(watch.id, d));
    expect(r1.outcome, JSON.stringify(r1.failure)).toBe('ok');
    expect(r1.postsSeen).toBe(2);
    expect(r1.findings.map((f) => [f.kind, f.postKey])).toEqual([['new', 'sahel_news/101'], ['new', 'sahel_news/102']]);
    const a1 = r1.findings[0]!.captureId!;
    const b1 = r1.findings[1]!.captureId!;
    expect((await manifestOf(b1)).request.url).toBe(`${site.url}/sahel_news/102`);

    // Run 2 (A, B edited, C new), queued through the worker like a scheduled run.
    await setTelegramChannelState(site, 2);
    await runWatchNow(d, watch.id);
    const deadline = Date.now() + 150_000;
    let events = await watchEvents(d, watch.id);
    while (events.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      events = await watchEvents(d, watch.id);
    }
    const r2 = await settle(events[0]!);
    expect(r2.run).toBe(2);
    expect(r2.outcome, JSON.stringify(r2.failure)).toBe('ok');
    expect(r2.findings.map((f) => [f.kind, f.postKey]).sort()).toEqual([['edited', 'sahel_news/102'], ['new', 'sahel_news/103']]);
    const edited = r2.findings.find((f) => f.kind === 'edited')!;
    expect(edited.previousCaptureId).toBe(b1);
    const b2m = await manifestOf(edited.captureId!);
    expect(b2m.request.options.supersedes).toBe(b1);
    expect((await postOf(b2m)).post?.text?.content).toContain(EDITED_102);
    const c = r2.findings.find((f) => f.kind === 'new')!;
    const cm = await manifestOf(c.captureId!);
    expect(cm.request.url).toBe(`${site.url}/sahel_news/103`);
    expect(cm.status).toBe('captured');
    expect((await postOf(cm)).post?.id).toBe('sahel_news/103');

    // Run 3 (B, C): A is gone; its post URL answers "Post not found" → an observation capture linked to A's last capture.
    await setTelegramChannelState(site, 3);
    const r3 = await settle(await runWatch(watch.id, d));
    expect(r3.findings.map((f) => [f.kind, f.postKey])).toEqual([['deleted', 'sahel_news/101']]);
    expect(r3.findings[0]!.previousCaptureId).toBe(a1);
    const obs = await manifestOf(r3.findings[0]!.captureId!);
    expect(obs.request.options.observationOf).toBe(a1);
    expect(obs.request.url).toBe(`${site.url}/sahel_news/101`);
    expect(obs.status).toBe('failed');
    expect(obs.failure?.code).toBe('NOT_VISIBLE');
    const obsDoc = await postOf(obs);
    expect(obsDoc.visibility.state).toBe('unavailable');
    expect(obsDoc.visibility.httpStatus).toBe(200);
    expect(JSON.stringify(obsDoc.visibility.signals)).toContain('Post not found');
    // A fourth run with nothing changed finds nothing (and is still on record).
    const r4 = await runWatch(watch.id, d);
    expect(r4?.findings).toEqual([]);

    // Exactly the expected captures: per run the page itself plus one per finding (3 + 3 + 2 + 1).
    const log = await s.custody.readLog(caseId);
    const submitted = log.filter((e) => e.event.action === 'request-submitted').flatMap((e) => (e.event.details.captures as Array<{ captureId: string; url: string; requestedBy: string; options: Record<string, unknown> }>));
    expect(submitted).toHaveLength(9);
    for (const sub of submitted) {
      expect(sub.requestedBy).toBe('analyst-01');
      expect(sub.options.watchId).toBe(watch.id);
      expect(sub.options.force).toBe(true);
    }
    const expectedIds = new Set([r1, r2, r3, r4!].flatMap((r) => [r.targetCaptureId!, ...r.findings.map((f) => f.captureId!)]));
    expect(new Set(submitted.map((x) => x.captureId))).toEqual(expectedIds);
    const triggered = log.filter((e) => e.event.action === 'watch-triggered');
    expect(triggered.map((e) => e.event.details.run)).toEqual([1, 2, 3, 4]);
    for (const e of triggered) {
      expect(e.event.actor).toEqual({ type: 'service', id: 'exhibit-watcher', role: 'watchlist', authorisedBy: 'analyst-01' });
      expect(e.event.details.watchId).toBe(watch.id);
      expect(e.event.details.legalBasis).toBe('Warrant 2026/77');
    }
    expect(triggered.map((e) => (e.event.details.findings as unknown[]).length)).toEqual([2, 2, 1, 0]);
    expect(verifyChain(caseId, log.map((e) => e.bytes))).toEqual([]);
    // The webhook secret is in no custody event.
    for (const e of log) expect(e.bytes.toString('utf8')).not.toContain(SECRET);
    for (const id of expectedIds) expect(JSON.stringify(await manifestOf(id))).not.toContain(SECRET);

    // One signed webhook call per finding, each verified by the receiver.
    const until = Date.now() + 20_000;
    while (receiver.calls.length < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.calls).toHaveLength(5);
    expect(receiver.calls.every((c) => c.valid)).toBe(true);
    const payloads = receiver.calls.map((c) => WatchWebhookPayload.parse(JSON.parse(c.body)));
    expect(payloads.map((p) => `${p.run}:${p.finding.kind}:${p.finding.postKey}`).sort()).toEqual(['1:new:sahel_news/101', '1:new:sahel_news/102', '2:edited:sahel_news/102', '2:new:sahel_news/103', '3:deleted:sahel_news/101']);
    for (const [i, c] of receiver.calls.entries()) expect(c.timestamp).toBe(payloads[i]!.sentAt);
    // …and by OpenSSL.
    const bodyFile = path.join(stateDir, 'hook-body.json');
    writeFileSync(bodyFile, receiver.calls[0]!.body);
    const { stdout } = await run('openssl', ['dgst', '-sha256', '-hmac', SECRET, '-r', bodyFile]);
    expect(`sha256=${stdout.split(' ')[0]}`).toBe(receiver.calls[0]!.signature);

    const st = await watchStatus(d, watch.id);
    expect(st.runs).toBe(4);
    expect(st.lastOutcome).toBe('ok');
    expect(st.watch).not.toHaveProperty('webhook.secret');
    expect((await listWatches(d)).some((w) => w.watch.id === watch.id)).toBe(true);
    await pauseWatch(d, watch.id);
    expect(await d.watchQueues.watch.getJobScheduler(watch.id)).toBeUndefined();
    expect((await watchStatus(d, watch.id)).watch.state).toBe('paused');
    await resumeWatch(d, watch.id);
    expect((await d.watchQueues.watch.getJobScheduler(watch.id))?.every).toBe(900_000);
  });

  it('a webhook that hangs does not block the run; delivery times out, is retried, and fails on record', async () => {
    await setTelegramChannelState(site, 1);
    const watch = await addWatch({ url: `${site.url}/sahel_news/102`, caseId, every: '1h', createdBy: 'analyst-02', webhook: { url: hangingUrl, secret: SECRET }, allowPrivateNetwork: true }, d);
    const r = await runWatch(watch.id, d);
    expect(r?.outcome, JSON.stringify(r?.failure)).toBe('ok');
    // A single-post watch: the run's own capture is the post's first capture.
    expect(r?.findings).toEqual([expect.objectContaining({ kind: 'new', postKey: 'sahel_news/102', captureId: r?.targetCaptureId })]);
    const job = await d.watchQueues.webhook.getJob(`wh-${watch.id}-1-0`);
    expect(job).toBeDefined();
    // The run is over while its delivery is still hanging (not yet failed).
    expect(await job!.getState()).not.toBe('failed');
    const deadline = Date.now() + 20_000;
    while ((await job!.getState().then(() => d.watchQueues.webhook.getJob(job!.id!)))?.finishedOn === undefined && Date.now() < deadline) await new Promise((res) => setTimeout(res, 200));
    const done = (await d.watchQueues.webhook.getJob(job!.id!))!;
    expect(await done.getState()).toBe('failed');
    expect(done.attemptsMade).toBe(2);
    expect(done.failedReason).toMatch(/^TIMEOUT: webhook did not answer within 800 ms/);
    expect(hangingHits).toBe(2);
    // The post is edited (state 2): a single-post watch re-captures it, linked to its first capture.
    const first = r!.targetCaptureId!;
    await setTelegramChannelState(site, 2);
    const r2 = await settle(await runWatch(watch.id, d));
    expect(r2?.findings.map((f) => [f.kind, f.previousCaptureId])).toEqual([['edited', first]]);
    expect((await manifestOf(r2!.findings[0]!.captureId!)).request.options.supersedes).toBe(first);
  });

  it('a watched page that comes out not-recognised is seen (its generic extraction diffed, flagged for review), never a failure or a deletion', async () => {
    const watch = await addWatch({ url: `${site.url}/sahel_news/199`, caseId, every: '15m', createdBy: 'analyst-01', allowPrivateNetwork: true }, d);
    const r1 = await settle(await runWatch(watch.id, d));
    expect(r1.outcome, JSON.stringify(r1.failure)).toBe('ok');
    expect(r1.failure).toBeNull();
    expect(r1.visibility).toBe('not-recognised');
    expect(r1.postsSeen).toBe(1);
    expect(r1.findings.map((f) => f.kind)).toEqual(['new']);
    expect(r1.findings[0]!.captureId).toBe(r1.targetCaptureId);
    expect(r1.review.length).toBeGreaterThan(0);
    const target = await manifestOf(r1.targetCaptureId!);
    expect(target.status).toBe('captured');
    expect((await postOf(target)).post?.text?.content).toContain('صف سوخت');
    // Same page again: nothing changed, nothing deleted, still ok and still flagged.
    const r2 = await settle(await runWatch(watch.id, d));
    expect(r2.outcome, JSON.stringify(r2.failure)).toBe('ok');
    expect(r2.findings).toEqual([]);
    expect(r2.consecutiveFailures).toBe(0);
    expect(r2.review.length).toBeGreaterThan(0);
    const log = await s.custody.readLog(caseId);
    const mine = log.filter((e) => e.event.action === 'watch-triggered' && e.event.details.watchId === watch.id);
    expect(mine.map((e) => e.event.details.outcome)).toEqual(['ok', 'ok']);
    expect(mine.every((e) => Array.isArray(e.event.details.review) && (e.event.details.review as unknown[]).length > 0)).toBe(true);
  });

  it('a failing target backs off: the interval doubles after the threshold, and recovers', async () => {
    const port = await freePort();
    const watch = await addWatch({ url: `http://127.0.0.1:${port}/gone`, caseId, every: '5m', createdBy: 'analyst-01', allowPrivateNetwork: true }, d);
    const r1 = await runWatch(watch.id, d);
    expect(r1?.outcome).toBe('failed');
    expect(r1?.failure?.code).toMatch(/CONNECTION_FAILED|DNS_FAILURE|HTTP_ERROR/);
    expect(r1?.effectiveEvery).toBe(300_000);
    const r2 = await runWatch(watch.id, d);
    expect(r2?.consecutiveFailures).toBe(2);
    expect(r2?.effectiveEvery).toBe(600_000);
    expect((await d.watchQueues.watch.getJobScheduler(watch.id))?.every).toBe(600_000);
    const r3 = await runWatch(watch.id, d);
    expect(r3?.effectiveEvery).toBe(1_200_000);
    const st = await watchStatus(d, watch.id);
    expect(st).toMatchObject({ consecutiveFailures: 3, backingOff: true, effectiveEvery: 1_200_000, lastOutcome: 'failed' });
    expect(st.lastFailure?.code).toBe(r3?.failure?.code);
    const log = await s.custody.readLog(caseId);
    const mine = log.filter((e) => e.event.action === 'watch-triggered' && e.event.details.watchId === watch.id);
    expect(mine.map((e) => e.event.details.outcome)).toEqual(['failed', 'failed', 'failed']);
    // The target comes back: the interval is restored.
    const srv = http.createServer((_, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!DOCTYPE html><title>back</title><p>back again</p>'));
    await new Promise<void>((res) => srv.listen(port, '127.0.0.1', res));
    try {
      const r4 = await runWatch(watch.id, d);
      expect(r4?.outcome, JSON.stringify(r4?.failure)).toBe('ok');
      expect(r4?.effectiveEvery).toBe(300_000);
      expect((await d.watchQueues.watch.getJobScheduler(watch.id))?.every).toBe(300_000);
      expect((await watchStatus(d, watch.id)).backingOff).toBe(false);
    } finally {
      await new Promise((res) => srv.close(res));
    }
  });
});
