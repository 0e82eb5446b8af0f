import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../lib/logger.js';
import { CaptureManifest } from '../../../schemas/manifest.js';
import type { Config } from '../../../schemas/config.js';
import { storeKeys } from '../../../evidence/store.js';
import { captureStatus, type CaptureStatus } from '../../../workers/job-state.js';
import type { Services } from '../../../workers/runtime.js';
import { runSeal } from '../../../workers/seal.js';
import { sealJobId } from '../../../workers/queues.js';
import { submitCaptures } from '../../../workers/submit.js';
import { signMovedHeads } from '../../../workers/heads.js';
import { SealPayload } from '../../../schemas/jobs.js';
import { SAMPLE_PHOTOS, sampleSiteFile, startSampleSite, type SampleSite } from '../../fixtures/sample-site/server.js';
import { python, waczValidate } from '../../support/python.js';
import { startPipelineEnv, type PipelineEnv } from '../../support/pipeline-env.js';
import { checkWarc } from '../../../evidence/warc-check.js';
import { checkWacz } from '../../../evidence/wacz-check.js';

const run = promisify(execFile);

/**
 * The core pipeline on real parts: sample site → Chromium (through the recording proxy) → BullMQ
 * on real Redis → sealer → MinIO with Object Lock, then checked with tools we did not write.
 */
describe('capture pipeline (real Redis, MinIO, Chromium, OpenSSL TSA)', () => {
  let site: SampleSite;
  let env: PipelineEnv;
  let s: Services;
  let config: Config;
  const caseId = `C-PIPE-${randomUUID().slice(0, 8)}`;

  const waitFinal = (captureId: string, timeoutMs?: number): Promise<CaptureStatus> => env.waitFinal(captureId, { timeoutMs });

  const submitOne = (url: string, options: Record<string, unknown> = { allowPrivateNetwork: true }) =>
    env.submitOne(url, { caseId, requestedBy: 'analyst-01', legalBasis: 'Test warrant 42/2026', options });

  beforeAll(async () => {
    site = await startSampleSite();
    env = await startPipelineEnv({
      name: 'pipe',
      store: 's3',
      config: { capture: { concurrency: 2, attempts: 2, navigationTimeoutMs: 8_000, settleTimeoutMs: 8_000, timeoutMs: 40_000 } },
    });
    ({ s, config } = env);
  });

  afterAll(async () => {
    await env?.close();
    await site?.close();
  });

  let sample: { captureId: string; manifest: CaptureManifest };

  it('captures the sample post and seals it in MinIO, signed and timestamped', async () => {
    const o = await submitOne(`${site.url}/post/1`);
    const st = await waitFinal(o.captureId);
    expect(st.state, JSON.stringify(st.failure)).toBe('sealed');
    expect(st.result?.status).toBe('captured');
    const bytes = await s.store.getBytes(storeKeys.manifest(caseId, o.captureId));
    const manifest = CaptureManifest.parse(JSON.parse(bytes.toString('utf8')));
    expect(manifest.request.requestedBy).toBe('analyst-01');
    expect(manifest.request.legalBasis).toBe('Test warrant 42/2026');
    sample = { captureId: o.captureId, manifest };
  });

  const artifact = (role: string, name?: string) => {
    const a = sample.manifest.artifacts.find((x) => x.role === role && (!name || x.name === name));
    if (!a) throw new Error(`no ${role} artifact ${name ?? ''}`);
    return a;
  };
  const fetchArtifact = async (name: string, dir: string) => {
    const a = sample.manifest.artifacts.find((x) => x.name === name)!;
    const file = path.join(dir, path.basename(name));
    writeFileSync(file, await s.store.getBytes(a.storeKey));
    return file;
  };

  it('stores a full-height PNG screenshot', async () => {
    const shot = artifact('screenshot');
    expect(shot.mediaType).toBe('image/png');
    const meta = await sharp(await s.store.getBytes(shot.storeKey)).metadata();
    expect(meta.format).toBe('png');
    const facts = JSON.parse((await s.store.getBytes(artifact('page-facts').storeKey)).toString('utf8')) as { documentSize: { height: number } };
    // The sample post is about 4,000 px tall with the lazy comments: much taller than the 900 px viewport.
    expect(meta.height).toBeGreaterThan(3000);
    expect(Math.abs(meta.height! - facts.documentSize.height)).toBeLessThanOrEqual(2);
  });

  it('keeps the WARC readable by Python warcio, with the main document response and its IP', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-warc-'));
    try {
      const file = await fetchArtifact(artifact('warc').name, dir);
      await python('import sys; from warcio.cli import main; sys.exit(main(["check", sys.argv[1]]))', [file]);
      const own = await checkWarc(file);
      expect(own.origin.exhibit).toBe(true);
      expect(own.findings.filter((f) => f.severity === 'error')).toEqual([]);
      const out = await python(
        [
          'import sys, json',
          'from warcio.archiveiterator import ArchiveIterator',
          'rows = []',
          'with open(sys.argv[1], "rb") as f:',
          '    for r in ArchiveIterator(f):',
          '        rows.append({"type": r.rec_type, "uri": r.rec_headers.get_header("WARC-Target-URI"), "ip": r.rec_headers.get_header("WARC-IP-Address"), "status": r.http_headers.get_statuscode() if r.http_headers else None})',
          'print(json.dumps(rows))',
        ].join('\n'),
        [file],
      );
      const rows = JSON.parse(out) as Array<{ type: string; uri: string | null; ip: string | null; status: string | null }>;
      expect(rows[0]?.type).toBe('warcinfo');
      const main = rows.find((r) => r.type === 'response' && r.uri === `${site.url}/post/1`);
      expect(main).toMatchObject({ ip: '127.0.0.1', status: '200' });
      expect(rows.some((r) => r.type === 'response' && r.uri?.endsWith('/api/posts/1/comments'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('seals a WACZ of the WARC: py-wacz validates it, the WARC inside is the sealed one, exhibit warc check passes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-wacz-'));
    try {
      const warc = artifact('warc');
      const wacz = artifact('wacz');
      expect(wacz).toMatchObject({ mediaType: 'application/wacz', derivedFrom: { source: warc.name, sourceSha256: warc.sha256, method: 'wacz-1.1.1' } });
      expect(sample.manifest.enrichment.find((e) => e.artifact === warc.name && e.step === 'wacz')).toMatchObject({ status: 'ok' });
      const file = await fetchArtifact(wacz.name, dir);
      const v = await waczValidate(file);
      expect(v.output).toMatch(/Validation succeeded/);
      expect(v.ok).toBe(true);
      const inside = await python('import sys, zipfile, hashlib; print(hashlib.sha256(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2])).hexdigest())', [file, `archive/${path.basename(warc.name)}`]);
      expect(`sha256:${inside.trim()}`).toBe(warc.sha256);
      const own = await checkWacz(file);
      expect(own.findings.filter((f) => f.severity === 'error')).toEqual([]);
      expect(own.digest).toMatchObject({ signedBy: expect.stringMatching(/^sha256:/), timestamps: [{ anchored: false }] });
      const pages = await python('import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read("pages/pages.jsonl").decode())', [file]);
      expect(JSON.parse(pages.trim().split('\n')[1]!)).toMatchObject({ url: `${site.url}/post/1`, title: sample.manifest.page.title });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stores every media file byte-identical to what the site served (sha256sum)', async () => {
    const media = sample.manifest.artifacts.filter((a) => a.role === 'media');
    const served = ['avatar.jpg', 'photo-1.jpg', 'photo-2.jpg', 'photo-3.jpg', 'poster.jpg', 'clip.mp4'];
    for (const name of served) {
      const { stdout } = await run('sha256sum', [sampleSiteFile(`media/${name}`)]);
      const hex = stdout.split(' ')[0];
      const a = media.find((m) => m.sourceUrl === `${site.url}/media/${name}`);
      expect(a, `media ${name} captured`).toBeDefined();
      expect(a!.sha256).toBe(`sha256:${hex}`);
      const stored = await s.store.getBytes(a!.storeKey);
      expect(stored.equals(readFileSync(sampleSiteFile(`media/${name}`)))).toBe(true);
    }
  });

  it('extracts GPS as decimal degrees matching what was written into the photo', async () => {
    const photo = sample.manifest.artifacts.find((a) => a.role === 'media' && a.sourceUrl?.endsWith('/media/photo-1.jpg'))!;
    const exif = sample.manifest.artifacts.find((a) => a.derivedFrom?.source === photo.name && a.derivedFrom.method === 'exif-extract');
    expect(exif?.derivedFrom?.sourceSha256).toBe(photo.sha256);
    const doc = JSON.parse((await s.store.getBytes(exif!.storeKey)).toString('utf8')) as { data: { gps: { latitude: number; longitude: number }; ifd0: { Make: string } } };
    expect(doc.data.gps.latitude).toBeCloseTo(SAMPLE_PHOTOS['photo-1.jpg'].latitude, 4);
    expect(doc.data.gps.longitude).toBeCloseTo(SAMPLE_PHOTOS['photo-1.jpg'].longitude, 4);
    expect(doc.data.ifd0.Make).toBe(SAMPLE_PHOTOS['photo-1.jpg'].make);
  });

  it('keeps the Arabic post text unchanged in the DOM artifact', async () => {
    const html = readFileSync(sampleSiteFile('post/1.html'), 'utf8');
    const arabic = /<p [^>]*id="post-text-ar">([\s\S]*?)<\/p>/.exec(html)?.[1];
    expect(arabic).toMatch(/[\u0600-\u06FF]/);
    const dom = (await s.store.getBytes(artifact('dom').storeKey)).toString('utf8');
    expect(dom).toContain(arabic!);
    // Lazy comments were scrolled into view before the DOM was taken.
    expect(dom).toMatch(/comment/i);
  });

  it('puts every step on the custody log, chained and gap-free', async () => {
    const log = await s.custody.readLog(caseId);
    const mine = log.filter((e) => e.event.subject.captureId === sample.captureId).map((e) => e.event.action);
    expect(mine).toContain('capture-started');
    expect(mine).toContain('artifact-sealed');
    expect(mine).toContain('capture-finished');
    expect(mine).toContain('manifest-signed');
    expect(mine).toContain('timestamped');
    expect(log.some((e) => e.event.action === 'request-submitted' && JSON.stringify(e.event.details).includes(sample.captureId))).toBe(true);
    log.forEach((e, i) => expect(e.event.seq).toBe(i + 1));
    const sealed = mine.filter((a) => a === 'artifact-sealed').length;
    expect(sealed).toBe(sample.manifest.artifacts.length);
  });

  it('signs and timestamps the custody heads that moved, once', async () => {
    const deps = { config, redis: s.redis, custody: s.custody, keys: s.keys, tsaTrustAnchors: s.tsaTrustAnchors, logger: createLogger('warn') };
    const head = await s.custody.head(caseId);
    const first = await signMovedHeads(deps);
    const mine = first.find((x) => x.caseId === caseId);
    // The scheduler may have signed it already when the workers started; either way the head is signed now.
    const heads = await s.custody.readHeads(caseId);
    const last = heads[heads.length - 1]!;
    expect(last.head.seq).toBeGreaterThanOrEqual(head.seq);
    expect(last.tokens.length).toBe(1);
    if (mine) expect(mine.timestamps).toBe(1);
    const again = await signMovedHeads(deps);
    expect(again.find((x) => x.caseId === caseId)).toBeUndefined();
  });

  it('does not capture twice when the same URL is resubmitted into the case', async () => {
    const again = await submitOne(`${site.url}/post/1`);
    expect(again.duplicate).toBe(true);
    expect(again.captureId).toBe(sample.captureId);
  });

  it('a re-run of the seal stage adds no objects and no custody events (idempotent)', async () => {
    const job = await s.queues.seal.getJob(sealJobId(sample.captureId));
    const payload = SealPayload.parse(job!.data);
    const before = (await s.custody.readLog(caseId)).length;
    // The spool was removed after sealing; rebuild it from the store to re-run the same payload.
    const spool = payload.spoolDir;
    for (const f of payload.output.files) {
      const a = sample.manifest.artifacts.find((x) => x.name === f.path)!;
      const p = path.join(spool, f.path);
      await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(p), { recursive: true }));
      writeFileSync(p, await s.store.getBytes(a.storeKey));
    }
    const clockAtSeal = { now: () => new Date(sample.manifest.sealedAt) };
    const result = await runSeal(payload, { config, logger: createLogger('warn'), clock: clockAtSeal, store: s.store, keys: s.keys, custody: s.custody, software: s.software, tsaTrustAnchors: s.tsaTrustAnchors });
    expect(result.manifestDigest).toBe((job!.returnvalue as { manifestDigest: string }).manifestDigest);
    expect((await s.custody.readLog(caseId)).length).toBe(before);
  });

  it('a capture job run again after its hand-over to sealing does not collect again', async () => {
    const jobId = await s.redis.hget(`${config.redis.prefix}:capture-index`, sample.captureId);
    const job = (await s.queues.capture.getJob(jobId!))!;
    const started = async () => (await s.custody.readLog(caseId)).filter((e) => e.event.action === 'capture-started' && e.event.subject.captureId === sample.captureId).length;
    const before = await started();
    await job.retry('completed');
    const deadline = Date.now() + 30_000;
    while ((await job.getState()) !== 'completed' || (await s.queues.capture.getJob(jobId!))!.finishedOn === job.finishedOn) {
      if (Date.now() > deadline) throw new Error('retried job did not complete');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await started()).toBe(before);
    expect((await captureStatus(s, sample.captureId)).state).toBe('sealed');
  });

  it('fails a blocked private target with BLOCKED_ADDRESS, without retrying, and keeps serving', async () => {
    const blocked = await submitOne(`${site.url}/post/1#private`, {});
    const st = await waitFinal(blocked.captureId);
    expect(st.state).toBe('failed');
    expect(st.failure?.code).toBe('BLOCKED_ADDRESS');
    expect(st.attempts).toBe(1);
    const log = await s.custody.readLog(caseId);
    expect(log.some((e) => e.event.action === 'capture-failed' && e.event.subject.captureId === blocked.captureId)).toBe(true);
  });

  it('seals what it observed when the page answers 404, with a precise reason', async () => {
    const gone = await submitOne(`${site.url}/gone`);
    const st = await waitFinal(gone.captureId);
    expect(st.state).toBe('sealed');
    expect(st.result?.status).toBe('failed');
    const manifest = CaptureManifest.parse(JSON.parse((await s.store.getBytes(storeKeys.manifest(caseId, gone.captureId))).toString('utf8')));
    expect(manifest.failure).toMatchObject({ code: 'HTTP_ERROR', kind: 'permanent' });
    expect(manifest.page.status).toBe(404);
    expect(manifest.artifacts.map((a) => a.role)).toEqual(expect.arrayContaining(['page-facts', 'environment', 'warc']));
  });

  it('rejects malformed and non-http(s) URLs at submission, naming the problem, and accepts the rest', async () => {
    const outcomes = await submitCaptures(
      ['javascript:alert(1)', 'file:///etc/passwd', 'http://', 'not a url', `${site.url}/redirect`].map((url) => ({ url, caseId, requestedBy: 'analyst-01', options: { allowPrivateNetwork: true } })),
      s,
    );
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.failure.code))).toEqual(['UNSUPPORTED_SCHEME', 'UNSUPPORTED_SCHEME', 'INVALID_URL', 'INVALID_URL', 'ok']);
    const ok = outcomes[4]!;
    if (!ok.ok) throw new Error('unreachable');
    const st = await waitFinal(ok.captureId);
    expect(st.state).toBe('sealed');
    const manifest = CaptureManifest.parse(JSON.parse((await s.store.getBytes(storeKeys.manifest(caseId, ok.captureId))).toString('utf8')));
    expect(manifest.page.redirects[0]).toMatchObject({ status: 301 });
    expect(manifest.page.finalUrl).toBe(`${site.url}/post/1`);
  });
});
