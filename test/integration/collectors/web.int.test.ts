import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollectContext } from '../../../collectors/collector.js';
import { BrowserPool } from '../../../collectors/browser/pool.js';
import { selectCollector } from '../../../collectors/registry.js';
import { WHOLE_MEDIA_PURPOSE, webCollector } from '../../../collectors/web.js';
import { systemClock } from '../../../lib/clock.js';
import { configFrom, type Config } from '../../../lib/config.js';
import { createLogger } from '../../../lib/logger.js';
import { CaptureEnvironment, PageFacts, type CaptureOptions } from '../../../schemas/capture.js';
import { CollectorOutput, type JobProgress } from '../../../schemas/jobs.js';
import { freePort } from '../../support/services.js';
import { SAMPLE_POST_MEDIA, sampleSiteFile, startSampleSite, type SampleSite } from '../../fixtures/sample-site/server.js';

const PYTHON = process.env.EXHIBIT_PYTHON || 'python3';
const logger = createLogger('silent');
const spools: string[] = [];
let site: SampleSite;
let pool: BrowserPool;

interface Run {
  out: CollectorOutput;
  dir: string;
  progress: JobProgress[];
  read(name: string): Buffer;
  json<T = Record<string, unknown>>(name: string): T;
}

function configFor(capture: Partial<Config['capture']> = {}): Config {
  return configFrom({ capture: { allowPrivateNetwork: true, settleTimeoutMs: 8000, networkQuietMs: 300, navigationTimeoutMs: 15_000, egressEchoUrl: `${site.url}/echo/ip`, ...capture } });
}

function contextFor(config: Config, opts: { options?: CaptureOptions; browsers?: BrowserPool; signal?: AbortSignal } = {}): { ctx: CollectContext; progress: JobProgress[] } {
  const spoolDir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-web-int-'));
  spools.push(spoolDir);
  const progress: JobProgress[] = [];
  return {
    progress,
    ctx: {
      captureId: '01900000-0000-7000-8000-000000000abc',
      request: { url: 'unused', caseId: 'C-2026-001', requestedBy: 'analyst-01', options: opts.options ?? {} },
      spoolDir,
      capture: config.capture,
      browsers: opts.browsers ?? pool,
      logger,
      clock: systemClock,
      software: { exhibitVersion: '0.1.0-test', gitCommit: 'deadbeef' },
      onProgress: (p) => progress.push(p),
      signal: opts.signal ?? new AbortController().signal,
    },
  };
}

async function capture(url: string, capture: Partial<Config['capture']> = {}, options: CaptureOptions = {}): Promise<Run> {
  const { ctx, progress } = contextFor(configFor(capture), { options });
  const out = await webCollector.collect(ctx, new URL(url));
  CollectorOutput.parse(out);
  const dir = ctx.spoolDir;
  return {
    out,
    dir,
    progress,
    read: (name) => readFileSync(path.join(dir, name)),
    json: (name) => JSON.parse(readFileSync(path.join(dir, name), 'utf8')),
  };
}

/** A BrowserPool stand-in that fails the test if anything touches the browser. */
const untouchablePool = new Proxy({} as BrowserPool, {
  get(_t, prop) {
    throw new Error(`the browser pool was used (${String(prop)}) before the target was refused`);
  },
});

const sha256sum = (file: string): string => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;

beforeAll(async () => {
  site = await startSampleSite();
  pool = new BrowserPool({ chromiumPath: '/usr/bin/chromium', concurrency: 2, logger });
});

afterAll(async () => {
  await pool?.close();
  await site?.close();
  for (const d of spools) rmSync(d, { recursive: true, force: true });
});

describe('web collector on the sample post', () => {
  let run: Run;
  beforeAll(async () => {
    run = await capture(`${site.url}/post/1`);
  });

  it('captures with every artifact listed and present', () => {
    expect(run.out.status).toBe('captured');
    expect(run.out.failure).toBeNull();
    const roles = run.out.files.map((f) => f.role);
    for (const role of ['screenshot', 'dom', 'mhtml', 'warc', 'page-facts', 'environment'] as const) expect(roles).toContain(role);
    const listed = run.out.files.map((f) => f.path).sort();
    const onDisk = readdirSync(run.dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(run.dir, path.join(e.parentPath, e.name)))
      .sort();
    expect(onDisk).toEqual(listed);
    expect(run.progress.map((p) => p.stage)).toEqual(expect.arrayContaining(['launching', 'loading', 'settling', 'recording', 'collecting-media']));
    const percents = run.progress.map((p) => p.percent);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
  });

  it('takes a PNG screenshot of the full page height', async () => {
    const png = run.read('screenshot.png');
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    const meta = await sharp(png).metadata();
    const facts = PageFacts.parse(run.json('page-facts.json'));
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(1280);
    expect(facts.documentSize).not.toBeNull();
    expect(meta.height).toBe(facts.documentSize!.height);
    // The page is several viewports tall once the lazy comments are in.
    expect(meta.height!).toBeGreaterThan(3 * 900);
    expect(run.out.files.find((f) => f.role === 'screenshot')!.flags).toEqual([]);
  });

  it('has the lazily loaded comments and the lazy image in the DOM', () => {
    const dom = run.read('dom.html').toString('utf8');
    for (const id of ['comment-c-101', 'comment-c-102', 'comment-c-103']) expect(dom).toContain(`id="${id}"`);
    expect(dom).toContain('data-loaded="3"');
    expect(dom).not.toContain('Loading comments…');
    expect(dom).toMatch(/<img[^>]+src="\/media\/photo-3\.jpg"[^>]+loading="lazy"/);
  });

  it('keeps the Arabic post text byte for byte', () => {
    const source = readFileSync(sampleSiteFile('post/1.html'), 'utf8');
    const arabic = /<p[^>]*id="post-text-ar"[^>]*>([^<]+)<\/p>/.exec(source)?.[1];
    expect(arabic).toMatch(/[\u0600-\u06ff]/);
    expect(arabic).toContain('🕊️');
    expect(run.read('dom.html').includes(Buffer.from(arabic!, 'utf8'))).toBe(true);
    expect(run.read('dom.html').toString('utf8')).toContain(`<p class="post-text" lang="ar" dir="rtl" id="post-text-ar">${arabic}</p>`);
  });

  it('saves every image and the video as served (sha256sum of the fixture files)', () => {
    const media = run.out.files.filter((f) => f.role === 'media');
    expect(media.map((f) => new URL(f.sourceUrl!).pathname).sort()).toEqual(SAMPLE_POST_MEDIA.map((m) => `/${m}`).sort());
    for (const f of media) {
      const fixture = sampleSiteFile(new URL(f.sourceUrl!).pathname.slice(1));
      expect(sha256sum(path.join(run.dir, f.path)), f.path).toBe(sha256sum(fixture));
      expect(f.path).toMatch(/^media\/\d{3}-[a-z0-9_-]+\.(jpg|mp4)$/);
      expect(f.mediaType).toBe(f.path.endsWith('.mp4') ? 'video/mp4' : 'image/jpeg');
      expect(f.flags).toEqual([]);
    }
  });

  it('records the page facts', () => {
    const facts = PageFacts.parse(run.json('page-facts.json'));
    expect(facts).toEqual(run.out.page);
    expect(facts).toMatchObject({
      requestedUrl: `${site.url}/post/1`,
      finalUrl: `${site.url}/post/1`,
      redirects: [],
      status: 200,
      remoteIp: '127.0.0.1',
      tls: null,
      title: 'Layla Haddad on Murmur: “Morning at the old market in Damascus”',
      canonicalUrl: 'https://murmur.example/@layla.haddad/post/1',
      lang: 'en',
      dir: 'ltr',
      blockedRequests: [],
    });
    expect(facts.dns).toEqual({ host: '127.0.0.1', addresses: ['127.0.0.1'], error: null });
    expect(facts.headers).toContainEqual(['Content-Encoding', 'gzip']);
    expect(facts.meta.openGraph).toMatchObject({ 'og:title': 'Layla Haddad on Murmur', 'og:type': 'article', 'og:image': 'https://murmur.example/media/photo-1.jpg', 'og:locale:alternate': 'ar_SY' });
    expect(facts.meta.twitter).toMatchObject({ 'twitter:card': 'summary_large_image', 'twitter:creator': '@layla.haddad' });
    expect(facts.meta.description).toMatch(/^Layla Haddad \(@layla\.haddad\)/);
    expect(facts.jsonLd).toHaveLength(2);
    expect(facts.jsonLd[0]).toMatchObject({ '@type': 'SocialMediaPosting', author: { name: 'Layla Haddad' }, video: { '@type': 'VideoObject' } });
    expect(facts.jsonLd[1]).toMatchObject({ '@type': 'BreadcrumbList' });
    // Page, CSS, JS, comments API, avatar, 3 photos, poster, clip at least.
    expect(facts.requestCount).toBeGreaterThanOrEqual(10);
  });

  it('records the capture environment, egress IP included', async () => {
    const env = CaptureEnvironment.parse(run.json('environment.json'));
    expect(env).toEqual(run.out.environment);
    expect(env).toMatchObject({
      exhibitVersion: '0.1.0-test',
      gitCommit: 'deadbeef',
      collector: { id: 'web', version: webCollector.version },
      browserVersion: await pool.browserVersion(),
      viewport: { width: 1280, height: 900 },
      locale: 'en-GB',
      timezone: 'UTC',
      hostname: os.hostname(),
      operator: 'analyst-01',
      captureMethod: 'playwright-chromium+recording-proxy',
      nodeVersion: process.version,
    });
    expect(env.userAgent).toMatch(/Chrome\/\d+/);
    expect(env.playwrightVersion).toBe(JSON.parse(readFileSync('node_modules/playwright-core/package.json', 'utf8')).version);
    expect(env.network).toMatchObject({ proxy: null, egressIp: '127.0.0.1', egressIpSource: `${site.url}/echo/ip`, egressIpError: null });
    expect(env.network.localAddresses.some((a) => a.includes('(loopback)'))).toBe(true);
    expect(Date.parse(env.finishedAt)).toBeGreaterThanOrEqual(Date.parse(env.startedAt));
  });

  it('writes a WARC that warcio reads, with the main document and its IP', () => {
    const script = [
      'import json, sys',
      'from warcio.archiveiterator import ArchiveIterator',
      'out = []',
      'with open(sys.argv[1], "rb") as f:',
      '    for r in ArchiveIterator(f):',
      '        out.append({"type": r.rec_type, "uri": r.rec_headers.get_header("WARC-Target-URI"), "ip": r.rec_headers.get_header("WARC-IP-Address"), "status": r.http_headers.get_statuscode() if r.http_headers and r.rec_type == "response" else None})',
      'print(json.dumps(out))',
    ].join('\n');
    const records = JSON.parse(execFileSync(PYTHON, ['-c', script, path.join(run.dir, 'traffic.warc.gz')], { encoding: 'utf8' })) as Array<{ type: string; uri: string | null; ip: string | null; status: string | null }>;
    expect(records[0]!.type).toBe('warcinfo');
    expect(records).toContainEqual({ type: 'response', uri: `${site.url}/post/1`, ip: '127.0.0.1', status: '200' });
    expect(records.some((r) => r.type === 'response' && r.uri === `${site.url}/api/posts/1/comments`)).toBe(true);
  });

  it('writes an MHTML snapshot holding the page', () => {
    const mhtml = run.read('page.mhtml').toString('utf8');
    expect(mhtml).toMatch(/^From: <Saved by Blink>/);
    expect(mhtml).toContain('multipart/related');
    expect(mhtml).toContain(`Snapshot-Content-Location: ${site.url}/post/1`);
  });
});

describe('web collector: media the page fetched only in byte ranges', () => {
  const CLIP = readFileSync(sampleSiteFile('media/clip.mp4'));
  const CHUNK = 8 * 1024;
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

  /** A site whose video answers every Range request with at most 8 KiB (as servers may), and a plain GET with the whole file or `wholeStatus`. */
  async function rangedVideoSite(wholeStatus: 200 | 503) {
    const http = await import('node:http');
    const seen = { ranged: 0, whole: 0 };
    const server = http.createServer((req, res) => {
      if (req.url !== '/v.mp4') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        return void res.end('<!doctype html><meta charset="utf-8"><p>a video</p><video src="/v.mp4" preload="auto" muted autoplay playsinline width="320"></video>');
      }
      const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
      if (range) {
        seen.ranged += 1;
        const start = Number(range[1]);
        if (start >= CLIP.length) return void res.writeHead(416, { 'Content-Range': `bytes */${CLIP.length}` }).end();
        const asked = range[2] === '' ? CLIP.length - 1 : Math.min(Number(range[2]), CLIP.length - 1);
        const end = Math.min(asked, start + CHUNK - 1);
        res.writeHead(206, { 'Content-Type': 'video/mp4', 'Accept-Ranges': 'bytes', 'Content-Range': `bytes ${start}-${end}/${CLIP.length}`, 'Content-Length': end - start + 1 });
        return void res.end(CLIP.subarray(start, end + 1));
      }
      seen.whole += 1;
      if (wholeStatus !== 200) return void res.writeHead(wholeStatus, { 'Content-Type': 'text/plain', 'Content-Length': 5 }).end('busy\n');
      res.writeHead(200, { 'Content-Type': 'video/mp4', 'Accept-Ranges': 'bytes', 'Content-Length': CLIP.length });
      res.end(CLIP);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return { url, seen, close: () => new Promise((r) => server.close(r)) };
  }

  function warcResponses(file: string): Array<{ uri: string; status: string; range: string | null }> {
    const script = [
      'import json, sys',
      'from warcio.archiveiterator import ArchiveIterator',
      'out = []',
      'with open(sys.argv[1], "rb") as f:',
      '    for r in ArchiveIterator(f):',
      '        if r.rec_type == "response":',
      '            out.append({"uri": r.rec_headers.get_header("WARC-Target-URI"), "status": r.http_headers.get_statuscode(), "range": r.http_headers.get_header("Content-Range")})',
      'print(json.dumps(out))',
    ].join('\n');
    return JSON.parse(execFileSync(PYTHON, ['-c', script, file], { encoding: 'utf8' })) as Array<{ uri: string; status: string; range: string | null }>;
  }

  it('records the whole file through the recording context beside the 206 ranges, and the media file is the whole video', async () => {
    const site = await rangedVideoSite(200);
    try {
      const run = await capture(`${site.url}/`);
      expect(run.out.status).toBe('captured');
      expect(site.seen.ranged).toBeGreaterThan(0);
      expect(site.seen.whole).toBe(1);
      const video = `${site.url}/v.mp4`;
      const records = warcResponses(path.join(run.dir, 'traffic.warc.gz')).filter((r) => r.uri === video);
      expect(records.some((r) => r.status === '206' && r.range !== null && r.range !== `bytes 0-${CLIP.length - 1}/${CLIP.length}`)).toBe(true);
      expect(records.filter((r) => r.status === '200')).toHaveLength(1);
      const media = run.out.files.find((f) => f.role === 'media' && f.sourceUrl === video)!;
      expect(media).toBeDefined();
      expect(sha256sum(path.join(run.dir, media.path))).toBe(sha(CLIP));
      expect(media.flags.map((f) => f.code)).toEqual(['fetched-by-collector']);
      const facts = PageFacts.parse(run.json('page-facts.json'));
      expect(facts.collectorRequests).toEqual([{ url: video, purpose: WHOLE_MEDIA_PURPOSE, status: 200 }]);
    } finally {
      await site.close();
    }
  });

  it('keeps the ranges it has and flags the media file when the whole file cannot be had', async () => {
    const site = await rangedVideoSite(503);
    try {
      const run = await capture(`${site.url}/`);
      expect(run.out.status).toBe('captured');
      const video = `${site.url}/v.mp4`;
      expect(site.seen.whole).toBe(1);
      const media = run.out.files.find((f) => f.role === 'media' && f.sourceUrl === video)!;
      expect(media).toBeDefined();
      expect(media.flags.map((f) => f.code)).toEqual(['partial-content', 'whole-copy-failed']);
      expect(media.flags[1]!.message).toContain('HTTP 503');
      expect(sha256sum(path.join(run.dir, media.path))).not.toBe(sha(CLIP));
      expect(PageFacts.parse(run.json('page-facts.json')).collectorRequests).toEqual([{ url: video, purpose: WHOLE_MEDIA_PURPOSE, status: 503 }]);
      // The refused whole request is in the WARC too, as answered.
      expect(warcResponses(path.join(run.dir, 'traffic.warc.gz')).some((r) => r.uri === video && r.status === '503')).toBe(true);
    } finally {
      await site.close();
    }
  });
});

describe('web collector: settling from DOMContentLoaded', () => {
  it('still waits for load, and for what the load handler fetches, before recording', async () => {
    const http = await import('node:http');
    const server = http.createServer((req, res) => {
      if (req.url === '/slow.svg') {
        res.writeHead(200, { 'Content-Type': 'image/svg+xml' });
        return void setTimeout(() => res.end('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), 700);
      }
      if (req.url === '/late') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return void setTimeout(() => res.end('added after load'), 150);
      }
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><meta charset="utf-8"><p>page</p><img src="/slow.svg">
<script>window.addEventListener('load', function () { fetch('/late').then(function (r) { return r.text(); }).then(function (t) { var p = document.createElement('p'); p.id = 'late'; p.textContent = t; document.body.appendChild(p); }); });</script>`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const run = await capture(`http://127.0.0.1:${port}/`, { settleTimeoutMs: 5000 });
      expect(run.out.status).toBe('captured');
      const dom = run.read('dom.html').toString('utf8');
      expect(dom).toContain('<p id="late">added after load</p>');
      const shot = run.out.files.find((f) => f.role === 'screenshot');
      expect(shot?.flags.map((f) => f.code)).toEqual([]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('web collector: redirects and failures', () => {
  it('records the 301 hop of /redirect and lands on the post', async () => {
    const run = await capture(`${site.url}/redirect`, { settleTimeoutMs: 3000 });
    expect(run.out.status).toBe('captured');
    const facts = PageFacts.parse(run.json('page-facts.json'));
    expect(facts.redirects).toEqual([{ url: `${site.url}/redirect`, status: 301, location: `${site.url}/post/1` }]);
    expect(facts.requestedUrl).toBe(`${site.url}/redirect`);
    expect(facts.finalUrl).toBe(`${site.url}/post/1`);
    expect(facts.status).toBe(200);
  });

  it('fails /gone as a permanent HTTP_ERROR but keeps what it saw', async () => {
    const run = await capture(`${site.url}/gone`);
    expect(run.out.status).toBe('failed');
    expect(run.out.failure).toMatchObject({ code: 'HTTP_ERROR', kind: 'permanent' });
    expect(run.out.failure!.message).toContain(`${site.url}/gone`);
    expect(run.out.failure!.message).toContain('404');
    const facts = PageFacts.parse(run.json('page-facts.json'));
    expect(facts.status).toBe(404);
    expect(facts.title).toBe('Post not found · Murmur');
    const roles = run.out.files.map((f) => f.role);
    expect(roles).toEqual(expect.arrayContaining(['screenshot', 'dom', 'warc', 'page-facts', 'environment']));
    expect((await sharp(run.read('screenshot.png')).metadata()).format).toBe('png');
  });

  it('fails /error (500) as HTTP_ERROR', async () => {
    const run = await capture(`${site.url}/error`, { settleTimeoutMs: 2000 });
    expect(run.out.failure).toMatchObject({ code: 'HTTP_ERROR', kind: 'permanent' });
    expect(run.json('page-facts.json').status).toBe(500);
  });

  it('fails an unresolvable host with DNS_FAILURE', async () => {
    const run = await capture('http://nonexistent.invalid/');
    expect(run.out.status).toBe('failed');
    expect(run.out.failure).toMatchObject({ code: 'DNS_FAILURE', kind: 'permanent' });
    expect(run.out.failure!.message).toContain('nonexistent.invalid');
    const facts = PageFacts.parse(run.json('page-facts.json'));
    expect(facts.dns).toMatchObject({ host: 'nonexistent.invalid', addresses: [] });
    expect(facts.dns!.error).toMatch(/ENOTFOUND|EAI_NONAME|EAI_AGAIN/);
    expect(facts.status).toBeNull();
    CaptureEnvironment.parse(run.json('environment.json'));
  });

  it('fails a closed port with CONNECTION_FAILED (transient)', async () => {
    const port = await freePort();
    const run = await capture(`http://127.0.0.1:${port}/post/1`);
    expect(run.out.status).toBe('failed');
    expect(run.out.failure).toMatchObject({ code: 'CONNECTION_FAILED', kind: 'transient' });
    expect(run.out.failure!.message).toContain(`127.0.0.1:${port}`);
    const facts = PageFacts.parse(run.json('page-facts.json'));
    expect(facts.status).toBeNull();
    expect(facts.finalUrl).toBeNull();
    expect(facts.blockedRequests[0]).toMatchObject({ url: `http://127.0.0.1:${port}/post/1`, reason: expect.stringContaining('ECONNREFUSED') });
    // The browser only saw the proxy's error page: no screenshot or DOM pretending to be the target.
    expect(run.out.files.map((f) => f.role).sort()).toEqual(['environment', 'page-facts', 'warc']);
  });

  it('fails /slow with TIMEOUT when load never fires, keeping the partial page', async () => {
    const started = Date.now();
    const run = await capture(`${site.url}/slow`, { navigationTimeoutMs: 1500, settleTimeoutMs: 1000 });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(run.out.failure).toMatchObject({ code: 'TIMEOUT', kind: 'transient' });
    expect(run.out.failure!.message).toContain('1500 ms');
    expect(run.json('page-facts.json')).toMatchObject({ status: 200, title: 'Still loading · Murmur' });
    const shot = run.out.files.find((f) => f.role === 'screenshot');
    expect(shot?.flags).toContainEqual(expect.objectContaining({ code: 'load-incomplete' }));
    expect(run.read('dom.html').toString('utf8')).toContain('Loading the post…');
  });

  it('stops at the whole-capture limit (request timeoutMs) and keeps observations', async () => {
    const started = Date.now();
    const run = await capture(`${site.url}/slow`, { navigationTimeoutMs: 60_000 }, { timeoutMs: 2000 });
    expect(Date.now() - started).toBeLessThan(12_000);
    expect(run.out.failure).toMatchObject({ code: 'TIMEOUT', kind: 'transient', message: expect.stringContaining('2000 ms') });
    expect(run.out.files.map((f) => f.role)).toEqual(expect.arrayContaining(['warc', 'page-facts', 'environment']));
  });

  it('skips media cut at maxResourceBytes, with a flag, and still captures the page', async () => {
    const run = await capture(`${site.url}/huge-image`, { maxResourceBytes: 1024 * 1024, settleTimeoutMs: 3000 });
    expect(run.out.status).toBe('captured');
    expect(run.out.files.filter((f) => f.role === 'media')).toEqual([]);
    const facts = run.out.files.find((f) => f.role === 'page-facts')!;
    expect(facts.flags).toContainEqual(expect.objectContaining({ code: 'media-truncated', message: expect.stringContaining('/media/huge.jpg') }));
    expect(run.out.files.find((f) => f.role === 'warc')!.flags).toContainEqual(expect.objectContaining({ code: 'truncated-records' }));
    expect(run.out.page.blockedRequests).toContainEqual(expect.objectContaining({ url: `${site.url}/media/huge.jpg`, reason: expect.stringMatching(/^TOO_LARGE/) }));
  });

  // The navigation (and the whole capture) may take 10 minutes: a cancellation honoured only at a
  // timeout shows as a capture still running a minute after it was cancelled.
  const LONG = { navigationTimeoutMs: 600_000, timeoutMs: 900_000, settleTimeoutMs: 600_000 };
  const CANCEL_BOUND_MS = 60_000;
  /** The capture's outcome, or a failure when it is still running `CANCEL_BOUND_MS` after `cancelled`. */
  async function settledSoonAfter(capture: Promise<unknown>, cancelled: Promise<void>): Promise<unknown> {
    await cancelled;
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise((_r, reject) => {
      timer = setTimeout(() => reject(new Error(`the capture was still running ${CANCEL_BOUND_MS} ms after it was cancelled (navigation timeout ${LONG.navigationTimeoutMs} ms)`)), CANCEL_BOUND_MS);
    });
    try {
      return await Promise.race([capture, stuck]);
    } finally {
      clearTimeout(timer);
    }
  }

  it('throws TransientError when the job is cancelled mid-navigation, without waiting for the navigation timeout', async () => {
    const http = await import('node:http');
    const ac = new AbortController();
    let cancelled!: () => void;
    const cancelledP = new Promise<void>((r) => (cancelled = r));
    // A page that starts and never finishes; the job is cancelled once the browser is waiting on it.
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.write('<!doctype html><title>never ends</title><p>loading');
      setTimeout(() => {
        ac.abort(new Error('worker shutting down'));
        cancelled();
      }, 200);
    });
    server.on('connection', (s) => s.unref());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const { ctx } = contextFor(configFor(LONG), { signal: ac.signal });
      const started = Date.now();
      const run = webCollector.collect(ctx, new URL(`http://127.0.0.1:${port}/`));
      run.catch(() => undefined);
      await expect(settledSoonAfter(run, cancelledP)).rejects.toMatchObject({ name: 'TransientError', message: expect.stringContaining('was cancelled: worker shutting down') });
      expect(Date.now() - started).toBeLessThan(LONG.navigationTimeoutMs);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('throws TransientError when the job is cancelled while the browser starts, before its context exists', async () => {
    const ac = new AbortController();
    let cancelled!: () => void;
    const cancelledP = new Promise<void>((r) => (cancelled = r));
    // Cancelled once Chromium is up but before the capture's context is opened: no context exists
    // yet to be closed when the abort fires.
    class CancellingPool extends BrowserPool {
      override async browserInstance(): Promise<Browser> {
        const browser = await super.browserInstance();
        if (!ac.signal.aborted) {
          ac.abort(new Error('worker shutting down'));
          cancelled();
        }
        return browser;
      }
    }
    const own = new CancellingPool({ chromiumPath: '/usr/bin/chromium', concurrency: 1, logger });
    try {
      const { ctx } = contextFor(configFor(LONG), { signal: ac.signal, browsers: own });
      const run = webCollector.collect(ctx, new URL(`${site.url}/slow`));
      run.catch(() => undefined);
      await expect(settledSoonAfter(run, cancelledP)).rejects.toMatchObject({ name: 'TransientError', message: expect.stringContaining('was cancelled: worker shutting down') });
    } finally {
      await own.close();
    }
  });
});

describe('web collector: refused targets', () => {
  it('throws BLOCKED_ADDRESS for loopback when private networks are not allowed, before using the browser', async () => {
    const { ctx } = contextFor(configFor({ allowPrivateNetwork: false }), { browsers: untouchablePool });
    await expect(webCollector.collect(ctx, new URL(`${site.url}/post/1`))).rejects.toMatchObject({ name: 'PermanentError', code: 'BLOCKED_ADDRESS', message: expect.stringContaining('127.0.0.1') });
    expect(readdirSync(ctx.spoolDir)).toEqual([]);
  });

  it('lets the request option override the config default', async () => {
    const { ctx } = contextFor(configFor({ allowPrivateNetwork: true }), { browsers: untouchablePool, options: { allowPrivateNetwork: false } });
    await expect(webCollector.collect(ctx, new URL('http://[::1]:9/'))).rejects.toMatchObject({ code: 'BLOCKED_ADDRESS' });
  });

  it.each(['javascript:alert(1)', 'file:///etc/passwd', 'data:text/html,<h1>x</h1>', 'chrome://settings'])('throws UNSUPPORTED_SCHEME for %s', async (url) => {
    const { ctx } = contextFor(configFor(), { browsers: untouchablePool });
    await expect(webCollector.collect(ctx, new URL(url))).rejects.toMatchObject({ name: 'PermanentError', code: 'UNSUPPORTED_SCHEME' });
    expect(() => selectCollector(new URL(url))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_SCHEME' }));
    expect(readdirSync(ctx.spoolDir)).toEqual([]);
  });
});

describe('BrowserPool', () => {
  it('bounds concurrent contexts, gives each capture a fresh one, and relaunches a dead browser', async () => {
    const small = new BrowserPool({ chromiumPath: '/usr/bin/chromium', concurrency: 1, logger });
    try {
      let open = 0;
      let maxOpen = 0;
      const opts = { viewport: { width: 800, height: 600 }, locale: 'ar-SY', timezoneId: 'Asia/Damascus', userAgent: null };
      const job = () =>
        small.withContext(opts, async (context) => {
          open += 1;
          maxOpen = Math.max(maxOpen, open);
          const page = await context.newPage();
          await page.goto(`${site.url}/`);
          const seen = await page.evaluate('[document.cookie, localStorage.length, navigator.language, Intl.DateTimeFormat().resolvedOptions().timeZone, innerWidth]');
          // State a reused context would leak into the next capture.
          await page.evaluate('document.cookie = "seen=1; max-age=3600"; localStorage.setItem("seen", "1")');
          await new Promise((r) => setTimeout(r, 150));
          open -= 1;
          return seen;
        });
      const results = await Promise.all([job(), job(), job()]);
      expect(maxOpen).toBe(1);
      for (const r of results) expect(r).toEqual(['', 0, 'ar-SY', 'Asia/Damascus', 800]);
      expect(small.activeContexts()).toBe(0);

      const first = await small.browserInstance();
      await first.close();
      const version = await small.withContext(opts, async (_c, browser) => {
        expect(browser).not.toBe(first);
        return browser.version();
      });
      expect(version).toBe(await pool.browserVersion());
    } finally {
      await small.close();
    }
    await expect(small.withContext({ viewport: { width: 1, height: 1 }, locale: 'en', timezoneId: 'UTC', userAgent: null }, async () => 1)).rejects.toMatchObject({ code: 'BROWSER_ERROR' });
  });
});
