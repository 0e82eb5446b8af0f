import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsStore } from '../../../evidence/fs-store.js';
import { sealCapture } from '../../../evidence/seal-capture.js';
import { newId } from '../../../lib/clock.js';
import type { SealPayload } from '../../../schemas/jobs.js';

const SIZE = 1024 * 1024 * 1024; // 1 GiB
const RSS_BUDGET = 200 * 1024 * 1024;

describe('sealing a 1 GiB file', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'exhibit-large-'));
    mkdirSync(path.join(root, 'spool', 'media'), { recursive: true });
    // Random bytes written in 8 MiB chunks from one reused buffer: the test itself stays small.
    const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
    const fd = openSync(path.join(root, 'spool', 'media', 'big.mp4'), 'w');
    for (let off = 0; off < SIZE; off += buf.length) writeSync(fd, randomFillSync(buf));
    closeSync(fd);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('streams it through both digests into the store in bounded memory', { timeout: 600_000 }, async () => {
    const store = await FsStore.open(path.join(root, 'store'));
    const payload: SealPayload = {
      captureId: newId(),
      submittedAt: '2026-01-02T03:00:00.000Z',
      request: { url: 'http://127.0.0.1/video', caseId: 'C-LARGE', requestedBy: 'analyst-01', options: {} },
      spoolDir: path.join(root, 'spool'),
      output: {
        status: 'captured', failure: null,
        page: { requestedUrl: 'http://127.0.0.1/video', finalUrl: null, redirects: [], status: 200, headers: [], remoteIp: null, dns: null, tls: null, title: null, canonicalUrl: null, lang: null, dir: null, meta: { openGraph: {}, twitter: {}, description: null }, jsonLd: [], documentSize: null, requestCount: 1, blockedRequests: [] },
        environment: { exhibitVersion: '0.1.0', gitCommit: null, collector: { id: 'web', version: '1' }, playwrightVersion: '-', browserVersion: '-', userAgent: '-', viewport: { width: 1, height: 1 }, locale: 'en', timezone: 'UTC', hostname: 'h', platform: 'linux', nodeVersion: process.version, operator: 'analyst-01', startedAt: '2026-01-02T03:00:00.000Z', finishedAt: '2026-01-02T03:00:01.000Z', network: { localAddresses: [], proxy: null, egressIp: null, egressIpSource: null, egressIpError: null }, captureMethod: 'test' },
        files: [{ path: 'media/big.mp4', role: 'media', mediaType: 'video/mp4', sourceUrl: null, flags: [] }],
      },
    };
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const started = performance.now();
    let result;
    try {
      result = await sealCapture(payload, {
        store, clock: { now: () => new Date('2026-01-02T03:00:02.000Z') }, logger: pino({ level: 'silent' }),
        config: { seal: { concurrency: 1, thumbnailSize: 512, ffprobePath: 'ffprobe', heifConvertPath: 'heif-convert' } }, software: { exhibitVersion: '0.1.0' }, hostname: 'h',
      });
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    peak = Math.max(peak, process.memoryUsage().rss);
    const growthMb = (peak - baseline) / (1024 * 1024);
    console.info(`[seal-large] 1 GiB sealed in ${seconds.toFixed(2)} s (${(SIZE / 1e6 / seconds).toFixed(0)} MB/s incl. store write + fsync); RSS baseline ${(baseline / 1048576).toFixed(0)} MiB, peak growth ${growthMb.toFixed(1)} MiB`);
    expect(peak - baseline).toBeLessThan(RSS_BUDGET);

    const big = result.manifest.artifacts.find((a) => a.name === 'media/big.mp4')!;
    expect(big.size).toBe(SIZE);
    const sum = execFileSync('sha256sum', [path.join(root, 'spool', 'media', 'big.mp4')], { encoding: 'utf8', maxBuffer: 1024 }).split(' ')[0];
    expect(big.sha256).toBe(`sha256:${sum}`);
    expect(await store.stat(big.storeKey)).toEqual({ size: SIZE });
    // Random bytes are not a video: ffprobe's failure is recorded, the seal still stands.
    expect(result.manifest.enrichment).toContainEqual({ artifact: 'media/big.mp4', step: 'ffprobe', status: 'failed', tool: expect.stringMatching(/^ffprobe /), message: expect.stringMatching(/moov atom not found|Invalid data/) });
  });
});
