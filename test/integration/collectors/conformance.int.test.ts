import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectContext, Collector } from '../../../collectors/collector.js';
import { BrowserPool } from '../../../collectors/browser/pool.js';
import { configureCollectors, selectCollector } from '../../../collectors/registry.js';
import { systemClock } from '../../../lib/clock.js';
import { configFrom } from '../../../lib/config.js';
import { createLogger } from '../../../lib/logger.js';
import { CollectorOutput } from '../../../schemas/jobs.js';
import type { PostDocument } from '../../../schemas/post.js';
import { checkCase, loadCases, sha256sum, type ConformanceCase } from '../../collectors/conformance.js';
import type { FixtureSite } from '../../fixtures/fixture-server.js';
import { PLATFORM_FIXTURES } from '../../fixtures/platforms.js';

/**
 * The conformance suite: every registered platform collector against its fixture site, every case
 * of its cases.json. The registry chooses the collector (so `matches` and the `hosts` option are
 * under test too); the checks are in test/collectors/conformance.ts.
 */
const logger = createLogger('silent');
const config = configFrom({ capture: { allowPrivateNetwork: true, settleTimeoutMs: 6000, networkQuietMs: 300, navigationTimeoutMs: 15_000 } });
const spools: string[] = [];
let pool: BrowserPool;

function context(url: string): CollectContext {
  const spoolDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-conf-'));
  spools.push(spoolDir);
  return {
    captureId: '01900000-0000-7000-8000-00000000c0f0',
    request: { url, caseId: 'C-2026-004', requestedBy: 'analyst-01', options: {} },
    spoolDir,
    capture: config.capture,
    browsers: pool,
    logger,
    clock: systemClock,
    software: { exhibitVersion: '0.1.0-test', gitCommit: null },
    onProgress: () => undefined,
    signal: new AbortController().signal,
  };
}

beforeAll(() => {
  pool = new BrowserPool({ chromiumPath: '/usr/bin/chromium', concurrency: 1, logger });
});
afterAll(async () => {
  await pool?.close();
  for (const d of spools) rmSync(d, { recursive: true, force: true });
});

interface Ran {
  c: ConformanceCase;
  ctx: CollectContext;
  out: CollectorOutput;
  doc: PostDocument | null;
  collector: Collector;
}

for (const fixture of PLATFORM_FIXTURES) {
  describe(`conformance: ${fixture.collectorId}`, () => {
    let site: FixtureSite;
    let collectors: Collector[];
    const ran = new Map<string, Ran>();
    beforeAll(async () => {
      site = await fixture.start();
      collectors = configureCollectors({ [fixture.collectorId]: fixture.options(site) });
    });
    afterAll(async () => site?.close());

    it('has cases for every honest state it claims and a README naming its sources', () => {
      const readme = readFileSync(path.join(fixture.dir, 'README.md'), 'utf8');
      expect(readme).toMatch(/https?:\/\//);
      expect(loadCases(fixture.dir, site.url).length).toBeGreaterThan(1);
    });

    // The visibility rule: every platform collector has a case of a page holding the post in an unknown layout.
    if (fixture.collectorId !== 'generic') {
      it('has a case of the post in an unknown layout (must come out not-recognised, never unavailable/deleted/login-wall)', () => {
        const unknown = loadCases(fixture.dir, site.url).filter((c) => c.unknownLayout);
        expect(unknown.length, 'cases.json has an unknownLayout case').toBeGreaterThan(0);
        for (const c of unknown) expect([c.visibility, c.status]).toEqual(['not-recognised', 'captured']);
      });
    }

    // Cases are read when the fixture runs (their URLs carry the fixture's origin).
    const names = (JSON.parse(readFileSync(path.join(fixture.dir, 'cases.json'), 'utf8')) as { cases: Array<{ name: string }> }).cases.map((c) => c.name);
    for (const name of names) {
      it(name, async () => {
        const c = loadCases(fixture.dir, site.url).find((x) => x.name === name)!;
        const url = new URL(c.path, site.url);
        const collector = selectCollector(url, collectors);
        expect(collector.id, 'the registry picks this platform for its fixture URL').toBe(fixture.collectorId);
        const ctx = context(url.href);
        const out = CollectorOutput.parse(await collector.collect(ctx, url));
        expect(out.environment.collector.id).toBe(fixture.collectorId);
        const doc = checkCase(c, fixture.dir, ctx.spoolDir, out);
        ran.set(name, { c, ctx, out, doc, collector });
      });
    }

    if (fixture.collectorId === 'bluesky') {
      it('assembles a playable MP4 from the recorded HLS segments, derived from the recorded playlist', () => {
        const r = ran.get('arabic-hls-video');
        expect(r, 'the HLS case ran').toBeDefined();
        const m = r!.doc!.post!.media[0]!;
        const mp4 = path.join(r!.ctx.spoolDir, m.assembledArtifact!);
        const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', mp4], { encoding: 'utf8' })) as { format: { duration: string; format_name: string }; streams: Array<{ codec_type: string }> };
        expect(probe.format.format_name).toContain('mp4');
        expect(Number(probe.format.duration)).toBeGreaterThan(2.5);
        expect(probe.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
        const listed = r!.out.files.find((f) => f.path === m.assembledArtifact)!;
        // Derived from the media playlist that lists the segments, itself kept byte-identical.
        expect(listed.derivedFrom!.source).toMatch(/^media\/\d+-video\.m3u8$/);
        expect(sha256sum(path.join(r!.ctx.spoolDir, listed.derivedFrom!.source))).toBe(sha256sum(path.join(fixture.dir, 'public/video/video.m3u8')));
        expect(listed.derivedFrom!.tool).toMatch(/^ffmpeg \S+: .*-c copy/);
        // The assembler re-downloaded nothing: each segment was requested once, by the page.
        const warc = execFileSync('python3', ['-c', 'import gzip,sys,re; d=gzip.open(sys.argv[1]).read(); print(len(re.findall(rb"GET /watch/[^ ]+/360p/video[0-9]+[.]ts HTTP", d)))', path.join(r!.ctx.spoolDir, 'traffic.warc.gz')], { encoding: 'utf8' });
        expect(Number(warc.trim())).toBe(3);
        expect(r!.doc!.collectorRequests.some((q) => /\.ts$|\.m3u8$/.test(q.url))).toBe(false);
      });
      it('keeps the DID document and the signed record CAR byte-identical as proof artifacts', () => {
        const r = ran.get('urdu-images-thread-signed')!;
        expect(sha256sum(path.join(r.ctx.spoolDir, 'proof/3kq2ablz7ks2a.car'))).toBe(sha256sum(path.join(fixture.dir, 'public/repo/3kq2ablz7ks2a.car')));
        const did = JSON.parse(readFileSync(path.join(r.ctx.spoolDir, 'proof/did.json'), 'utf8')) as { id: string };
        expect(did.id).toBe(r.doc!.post!.author!.id);
        expect(r.doc!.collectorRequests.map((q) => q.purpose).join('\n')).toMatch(/DID document[\s\S]*signed repo commit/);
      });
    }
    if (fixture.collectorId === 'activitypub') {
      const warcText = (spool: string): string => execFileSync('python3', ['-c', 'import gzip,sys; sys.stdout.write(gzip.open(sys.argv[1]).read().decode("utf-8","replace"))', path.join(spool, 'traffic.warc.gz')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      it('asks for the object by content negotiation through the recording context: request and answer are in the WARC', () => {
        const r = ran.get('misskey-note-by-negotiation');
        expect(r, 'the Misskey case ran').toBeDefined();
        expect(r!.doc!.platform).toBe('activitypub');
        const neg = r!.doc!.collectorRequests.find((q) => /content negotiation/.test(q.purpose));
        expect(neg).toMatchObject({ url: `${site.url}/notes/9kq3x7abcd`, status: 200 });
        expect(r!.doc!.collectorRequests.find((q) => /actor document/.test(q.purpose))).toMatchObject({ url: `${site.url}/users/9kq2reza00`, status: 200 });
        const warc = warcText(r!.ctx.spoolDir);
        // The request record with its Accept header, and the response record with the ActivityPub body.
        expect(warc).toMatch(/GET \/notes\/9kq3x7abcd HTTP\/1\.1\r\n(?:[^\r\n]+\r\n)*?accept: application\/activity\+json/i);
        expect(warc).toMatch(/Content-Type: application\/activity\+json[\s\S]*"_misskey_quote"/);
        expect(r!.doc!.readFrom.some((x) => x.url === `${site.url}/notes/9kq3x7abcd` && x.source === 'api-json')).toBe(true);
      });
      it('reads a page that only looks like an object as any page, and says so', () => {
        const r = ran.get('object-shaped-url-that-is-not-activitypub')!;
        expect(r.doc!.platform).toBe('generic');
        expect(r.doc!.collectorRequests.find((q) => /content negotiation/.test(q.purpose))?.status).toBe(200);
      });
      it('the generic collector finds the alternate link on any path, fetches it, and negotiates nowhere else', async () => {
        const all = configureCollectors({});
        const blog = new URL('/blog/2024/03/flood-report', site.url);
        const c = selectCollector(blog, all);
        expect(c.id).toBe('generic');
        const ctx = context(blog.href);
        const out = CollectorOutput.parse(await c.collect(ctx, blog));
        expect(out.status).toBe('captured');
        const doc = JSON.parse(readFileSync(path.join(ctx.spoolDir, 'post.json'), 'utf8')) as PostDocument;
        expect(doc.platform).toBe('activitypub');
        expect(doc.post).toMatchObject({ uri: blog.href, author: { handle: `maryam@${site.host}` }, text: { content: 'گزارش سیل اهواز\n\nآب تا زانو در خیابان‌های اهواز بالا آمد. نقشه', language: 'fa', direction: 'rtl' }, links: ['https://example.org/ahvaz-map'], hashtags: ['اهواز'] });
        expect(doc.collectorRequests.map((q) => q.purpose)).toEqual([expect.stringMatching(/advertises \(link rel=alternate/), expect.stringMatching(/actor document/)]);
        // A page without the link: no ActivityPub request at all.
        const plain = new URL('/hours', site.url);
        const ctx2 = context(plain.href);
        await c.collect(ctx2, plain);
        expect(warcText(ctx2.spoolDir)).not.toMatch(/activity\+json/i);
      });
    }
    if (fixture.collectorId === 'mastodon') {
      it('records the ActivityPub Note and the original-size media through the recording context', () => {
        const r = ran.get('arabic-thread-with-images')!;
        const reqs = r.doc!.collectorRequests;
        expect(reqs.find((q) => /ActivityPub/.test(q.purpose))?.status).toBe(200);
        expect(reqs.filter((q) => /original-size media/.test(q.purpose)).length).toBeGreaterThanOrEqual(3);
        expect(r.doc!.readFrom.some((x) => x.url.endsWith('/api/v1/statuses/1100') && /^sha256:[0-9a-f]{64}$/.test(x.sha256))).toBe(true);
      });
    }
  });
}
