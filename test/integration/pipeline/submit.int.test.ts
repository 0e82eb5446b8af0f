import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustodyEvent } from '../../../schemas/custody.js';
import { captureIndexKey, captureJobId } from '../../../workers/queues.js';
import type { Services } from '../../../workers/runtime.js';
import { startPipelineEnv, type PipelineEnv } from '../../support/pipeline-env.js';
import { SUBMIT_TUNING, submitCaptures, submitUrlList, type SubmitDeps, type SubmitOutcome } from '../../../workers/submit.js';

/**
 * Submission on real Redis with no workers: validation, dedupe (also across submitters), the
 * `request-submitted` custody events, crash repair, and the `--file` fast path giving exactly the
 * outcomes of the per-request path.
 */
describe('submitting captures (real Redis, local store, no workers)', () => {
  let env: PipelineEnv;
  let s: Services;

  beforeAll(async () => {
    env = await startPipelineEnv({ name: 'submit', tsa: false, workers: false });
    s = env.s;
  });

  afterAll(() => env?.close());

  const newCase = () => `C-SUB-${randomUUID().slice(0, 8)}`;
  const urlsOf = (n: number, tag = randomUUID().slice(0, 6)) => Array.from({ length: n }, (_, i) => `https://social.example/${tag}/status/${i}`);
  const submitted = async (caseId: string): Promise<CustodyEvent[]> => (await s.custody.readLog(caseId)).map((e) => e.event).filter((e) => e.action === 'request-submitted');
  const listed = (events: CustodyEvent[]) => events.flatMap((e) => e.details.captures as Array<{ captureId: string; url: string; requestedBy: string; options: Record<string, unknown> }>);
  const oks = (outcomes: SubmitOutcome[]) => outcomes.filter((o): o is Extract<SubmitOutcome, { ok: true }> => o.ok);
  const jobsOf = async (caseId: string, urls: string[]) => Promise.all(urls.map((u) => s.queues.capture.getJob(captureJobId(caseId, new URL(u).href))));
  const bad = ['javascript:alert(1)', 'not a url', '', 'ftp://example.org/x', 'http://', `https://example.org/${'a'.repeat(8200)}`, 42, 'https://example.org:0/'];
  /** What a caller can see of an outcome, without the capture id (fresh per submission). */
  const shape = (o: SubmitOutcome) => (o.ok ? { ok: true, url: o.url, duplicate: o.duplicate } : { ok: false, url: o.url, failure: o.failure });

  it('a URL list: every bad line rejected naming why, repeats found across chunks, every capture enqueued, indexed and on record', async () => {
    const caseId = newCase();
    const good = urlsOf(2_500);
    // Repeats of lines 0 and 1_999 come in a later chunk than the line itself; 1_999 repeats as a different spelling of the same URL.
    const list: unknown[] = [...good.slice(0, 1_200), ...bad, ...good.slice(1_200), good[0]!, good[1_999]!.replace('https://social.example', 'HTTPS://SOCIAL.EXAMPLE:443')];
    const outcomes = await submitUrlList(list, { caseId, requestedBy: 'analyst-01', legalBasis: 'Warrant 9/2026', options: {} }, s);
    expect(outcomes).toHaveLength(list.length);
    const rejected = outcomes.filter((o) => !o.ok);
    expect(rejected.map((o) => (o.ok ? '' : o.failure.code))).toEqual(['UNSUPPORTED_SCHEME', 'INVALID_URL', 'INVALID_INPUT', 'UNSUPPORTED_SCHEME', 'INVALID_URL', 'INVALID_INPUT', 'INVALID_INPUT', 'INVALID_URL']);
    for (const o of rejected) if (!o.ok) expect(o.failure.message.length).toBeGreaterThan(5);
    const accepted = oks(outcomes);
    expect(accepted).toHaveLength(2_502);
    const [again0, again1999] = accepted.slice(-2);
    expect(again0).toMatchObject({ duplicate: true, captureId: accepted[0]!.captureId });
    expect(again1999).toMatchObject({ duplicate: true, captureId: accepted[1_999]!.captureId, url: good[1_999] });
    const fresh = accepted.filter((o) => !o.duplicate);
    expect(new Set(fresh.map((o) => o.captureId)).size).toBe(2_500);

    const jobs = await jobsOf(caseId, good);
    expect(jobs.every((j, i) => j?.data.captureId === accepted[i]!.captureId && j.data.request.url === good[i])).toBe(true);
    const index = await s.redis.hgetall(captureIndexKey(s.config.redis.prefix));
    for (const o of fresh) expect(index[o.captureId]).toBe(o.jobId);

    const events = await submitted(caseId);
    for (const e of events) expect(e).toMatchObject({ actor: { type: 'operator', id: 'analyst-01', role: 'analyst' }, details: { legalBasis: 'Warrant 9/2026' } });
    const entries = listed(events);
    expect(entries).toHaveLength(2_500);
    expect(new Set(entries.map((c) => c.captureId))).toEqual(new Set(fresh.map((o) => o.captureId)));
    expect(entries[0]).toEqual({ captureId: accepted[0]!.captureId, url: good[0], requestedBy: 'analyst-01', options: {} });
  });

  it('the list fast path answers exactly as one request per URL does', async () => {
    const good = urlsOf(30);
    const list: unknown[] = [...good.slice(0, 10), ...bad, good[3]!, ...good.slice(10)];
    const common = { requestedBy: 'analyst-01', options: { allowPrivateNetwork: true, timeoutMs: 20_000 } };
    const a = newCase();
    const b = newCase();
    const fast = await submitUrlList(list, { caseId: a, ...common }, s);
    const slow = await submitCaptures(list.map((url) => ({ caseId: b, ...common, url })), s);
    expect(fast.map(shape)).toEqual(slow.map(shape));
    const [jobA] = await jobsOf(a, [good[0]!]);
    const [jobB] = await jobsOf(b, [good[0]!]);
    expect({ ...jobA!.data.request, caseId: b }).toEqual(jobB!.data.request);
    expect(jobA!.data.request).toEqual({ url: good[0], caseId: a, ...common });
    // An invalid shared part rejects every URL, worded as the per-request path words it.
    const badCommon = { caseId: 'has space', requestedBy: 'analyst 01', options: {} };
    const fastBad = await submitUrlList(list.slice(0, 12), badCommon, s);
    const slowBad = await submitCaptures(list.slice(0, 12).map((url) => ({ ...badCommon, url })), s);
    expect(fastBad.every((o) => !o.ok && o.failure.code === 'INVALID_INPUT')).toBe(true);
    expect(fastBad.map(shape)).toEqual(slowBad.map(shape));
  });

  it('small chunks and record batches: repeats across both edges, one event per batch, the same answers', async () => {
    const good = urlsOf(50);
    // 50 good + 8 bad + repeats of early lines late in the list (other chunk, other record batch).
    const list: unknown[] = [...good.slice(0, 25), ...bad, ...good.slice(25), good[0]!, good[6]!, good[30]!];
    const common = { requestedBy: 'analyst-01', options: {} };
    const [a, b] = [newCase(), newCase()];
    const small = await submitUrlList(list, { caseId: a, ...common }, s, { chunk: 7, recordBatch: 20, addInFlight: 3 });
    const usual = await submitUrlList(list, { caseId: b, ...common }, s, SUBMIT_TUNING);
    expect(small.map(shape)).toEqual(usual.map(shape));
    expect(oks(small).filter((o) => o.duplicate)).toHaveLength(3);
    const events = await submitted(a);
    // Record batches of 20 lines over 61 lines: 4 batches; the last holds only repeats (no event).
    expect(events.map((e) => listed([e]).length)).toEqual([20, 12, 18]);
    expect(new Set(listed(events).map((c) => c.captureId))).toEqual(new Set(oks(small).map((o) => o.captureId)));
    expect((await jobsOf(a, good)).every((j, i) => j?.data.captureId === oks(small).find((o) => o.url === good[i])!.captureId)).toBe(true);
    expect(listed(await submitted(b))).toHaveLength(50);
  });

  it('resubmitting is a no-op answered with the same captures; force makes new ones', async () => {
    const caseId = newCase();
    const urls = urlsOf(1_100);
    const first = oks(await submitUrlList(urls, { caseId, requestedBy: 'analyst-01', options: {} }, s));
    const eventsBefore = (await s.custody.readLog(caseId)).length;
    const waiting = await s.queues.capture.getWaitingCount();
    const second = oks(await submitUrlList(urls, { caseId, requestedBy: 'analyst-02', options: {} }, s));
    expect(second.map((o) => [o.captureId, o.duplicate])).toEqual(first.map((o) => [o.captureId, true]));
    expect((await s.custody.readLog(caseId)).length).toBe(eventsBefore);
    expect(await s.queues.capture.getWaitingCount()).toBe(waiting);

    const forced = oks(await submitUrlList([urls[0]!, urls[0]!], { caseId, requestedBy: 'analyst-01', options: { force: true } }, s));
    expect(forced.map((o) => o.duplicate)).toEqual([false, false]);
    expect(new Set([first[0]!.captureId, ...forced.map((o) => o.captureId)]).size).toBe(3);
    expect(listed(await submitted(caseId)).filter((c) => c.url === urls[0])).toHaveLength(3);
  });

  it('concurrent submitters of the same URLs agree: each URL is one capture, enqueued and recorded once', async () => {
    const caseId = newCase();
    const urls = urlsOf(1_500);
    const [a, b] = await Promise.all([
      submitUrlList(urls, { caseId, requestedBy: 'analyst-01', options: {} }, s),
      submitUrlList([...urls].reverse(), { caseId, requestedBy: 'analyst-02', options: {} }, s),
    ]);
    const byUrlA = new Map(oks(a).map((o) => [o.url, o]));
    const byUrlB = new Map(oks(b).map((o) => [o.url, o]));
    for (const u of urls) {
      expect(byUrlA.get(u)!.captureId).toBe(byUrlB.get(u)!.captureId);
      expect([byUrlA.get(u)!.duplicate, byUrlB.get(u)!.duplicate].filter((d) => !d)).toHaveLength(1);
    }
    const entries = listed(await submitted(caseId));
    expect(entries).toHaveLength(1_500);
    expect(new Set(entries.map((c) => c.captureId))).toEqual(new Set([...byUrlA.values()].map((o) => o.captureId)));
    for (const c of entries) expect(c.requestedBy).toBe(byUrlA.get(c.url)!.duplicate ? 'analyst-02' : 'analyst-01');
    expect((await jobsOf(caseId, urls)).every((j, i) => j?.data.captureId === byUrlA.get(urls[i]!)!.captureId)).toBe(true);
  });

  it('crash repair: a claim whose job (and index entry) never got written is completed by the next submission', async () => {
    const caseId = newCase();
    const [claimedOnly, claimedOld] = urlsOf(2);
    // A crash right after the claim script: claim and index written, no job.
    const ghost = randomUUID();
    const jobId = captureJobId(caseId, claimedOnly!);
    await s.redis.hset(`${s.config.redis.prefix}:capture-dedupe`, jobId, ghost);
    await s.redis.hset(captureIndexKey(s.config.redis.prefix), ghost, jobId);
    // A claim left by the earlier code (claim, then add, then index): no job and no index entry.
    const old = randomUUID();
    const oldJobId = captureJobId(caseId, claimedOld!);
    await s.redis.hset(`${s.config.redis.prefix}:capture-dedupe`, oldJobId, old);
    const outcomes = oks(await submitUrlList([claimedOnly, claimedOld], { caseId, requestedBy: 'analyst-01', options: {} }, s));
    expect(outcomes.map((o) => [o.captureId, o.duplicate])).toEqual([
      [ghost, true],
      [old, true],
    ]);
    const [j1, j2] = await jobsOf(caseId, [claimedOnly!, claimedOld!]);
    expect(j1?.data.captureId).toBe(ghost);
    expect(j2?.data.captureId).toBe(old);
    expect(await s.redis.hget(captureIndexKey(s.config.redis.prefix), old)).toBe(oldJobId);
  });

  it('a failed enqueue fails the submission (nothing left running), and submitting again completes it', async () => {
    const caseId = newCase();
    const urls = urlsOf(3_000);
    let calls = 0;
    const capture = new Proxy(s.queues.capture, {
      get(target, prop, receiver) {
        if (prop === 'addBulk') {
          return async (jobs: Parameters<typeof target.addBulk>[0]) => {
            calls++;
            if (calls === 2) throw new Error('redis went away');
            return target.addBulk(jobs);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const failing: SubmitDeps = { ...s, queues: { ...s.queues, capture } };
    await expect(submitUrlList(urls, { caseId, requestedBy: 'analyst-01', options: {} }, failing)).rejects.toThrow('redis went away');
    const missing = (await jobsOf(caseId, urls)).filter((j) => !j).length;
    expect(missing).toBeGreaterThan(0);
    // Whatever was claimed is on record already (recorded before enqueued).
    const recordedBefore = listed(await submitted(caseId));
    expect(recordedBefore.length).toBeGreaterThanOrEqual(2_000);

    const again = oks(await submitUrlList(urls, { caseId, requestedBy: 'analyst-01', options: {} }, s));
    expect(again).toHaveLength(3_000);
    const jobs = await jobsOf(caseId, urls);
    expect(jobs.every((j, i) => j?.data.captureId === again[i]!.captureId)).toBe(true);
    expect(new Set(listed(await submitted(caseId)).map((c) => c.captureId))).toEqual(new Set(again.map((o) => o.captureId)));
  });

  it('one request-submitted event per case, submitter and legal basis', async () => {
    const [c1, c2] = [newCase(), newCase()];
    const [u1, u2, u3, u4] = urlsOf(4);
    const outcomes = oks(
      await submitCaptures(
        [
          { url: u1, caseId: c1, requestedBy: 'analyst-01', legalBasis: 'Warrant A' },
          { url: u2, caseId: c1, requestedBy: 'analyst-02', legalBasis: 'Warrant A' },
          { url: u3, caseId: c1, requestedBy: 'analyst-01', legalBasis: 'Warrant B' },
          { url: u4, caseId: c2, requestedBy: 'analyst-01', legalBasis: 'Warrant A' },
        ],
        s,
      ),
    );
    const e1 = await submitted(c1);
    expect(e1.map((e) => [e.actor.id, e.details.legalBasis, e.subject.captureId, listed([e]).map((c) => c.url)])).toEqual([
      ['analyst-01', 'Warrant A', outcomes[0]!.captureId, [u1]],
      ['analyst-02', 'Warrant A', outcomes[1]!.captureId, [u2]],
      ['analyst-01', 'Warrant B', outcomes[2]!.captureId, [u3]],
    ]);
    expect(listed(await submitted(c2)).map((c) => c.captureId)).toEqual([outcomes[3]!.captureId]);
  });

  it('an empty or blank legal basis is no legal basis, on the list path and the per-request path alike (as on the watch path)', async () => {
    const [c1, c2] = [newCase(), newCase()];
    const [u1, u2, u3] = urlsOf(3);
    const listPath = oks(await submitUrlList([u1], { caseId: c1, requestedBy: 'analyst-01', legalBasis: '', options: {} }, s));
    const perRequest = oks(await submitCaptures([{ url: u2, caseId: c2, requestedBy: 'analyst-01', legalBasis: '   ' }, { url: u3, caseId: c2, requestedBy: 'analyst-01' }], s));
    expect([...listPath, ...perRequest]).toHaveLength(3);
    for (const [caseId, url] of [[c1, u1!], [c2, u2!], [c2, u3!]] as const) {
      const [job] = await jobsOf(caseId, [url]);
      expect(job?.data.request, url).not.toHaveProperty('legalBasis');
    }
    // Blank and absent are the same request: one event for both, recording no legal basis.
    const events = [...(await submitted(c1)), ...(await submitted(c2))];
    expect(events.map((e) => [e.details.legalBasis, listed([e]).length])).toEqual([[null, 1], [null, 2]]);
  });

  it('a legal basis is recorded trimmed, so the same basis typed with extra spaces is one group', async () => {
    const caseId = newCase();
    const [u1, u2] = urlsOf(2);
    await submitCaptures([{ url: u1, caseId, requestedBy: 'analyst-01', legalBasis: 'Warrant C ' }, { url: u2, caseId, requestedBy: 'analyst-01', legalBasis: ' Warrant C' }], s);
    expect((await submitted(caseId)).map((e) => [e.details.legalBasis, listed([e]).length])).toEqual([['Warrant C', 2]]);
  });
});
