import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsStore } from '../../../evidence/fs-store.js';
import { collectorDerivation, sealCapture, type SealDeps } from '../../../evidence/seal-capture.js';
import { newId } from '../../../lib/clock.js';
import type { SpoolFile } from '../../../schemas/artifact.js';
import type { SealPayload } from '../../../schemas/jobs.js';
import { sha256sum } from '../../collectors/conformance.js';

const FIX = path.resolve('test/fixtures/bluesky/public/video');
const logger = pino({ level: 'silent' });
let root: string;

function payload(spoolDir: string, files: SpoolFile[]): SealPayload {
  return {
    captureId: newId(),
    submittedAt: '2026-01-02T03:00:00.000Z',
    request: { url: 'https://bsky.app/profile/a/post/b', caseId: 'C-2026-004', requestedBy: 'analyst-01', options: {} },
    spoolDir,
    output: {
      status: 'captured',
      failure: null,
      page: { requestedUrl: 'https://bsky.app/profile/a/post/b', finalUrl: null, redirects: [], status: 200, headers: [], remoteIp: null, dns: null, tls: null, title: null, canonicalUrl: null, lang: null, dir: null, meta: { openGraph: {}, twitter: {}, description: null }, jsonLd: [], documentSize: null, requestCount: 1, blockedRequests: [] },
      environment: { exhibitVersion: '0.1.0', gitCommit: null, collector: { id: 'bluesky', version: '1.0.0' }, playwrightVersion: '-', browserVersion: '-', userAgent: '-', viewport: { width: 1, height: 1 }, locale: 'en', timezone: 'UTC', hostname: 'h', platform: 'linux', nodeVersion: process.version, operator: 'analyst-01', startedAt: '2026-01-02T03:00:00.000Z', finishedAt: '2026-01-02T03:00:01.000Z', network: { localAddresses: [], proxy: null, egressIp: null, egressIpSource: null, egressIpError: null }, captureMethod: 'test' },
      files,
    },
  };
}
const deps = (store: FsStore): SealDeps => ({ store, clock: { now: () => new Date('2026-01-02T03:00:10.000Z') }, logger, config: { seal: { concurrency: 1, thumbnailSize: 64, ffprobePath: 'ffprobe', heifConvertPath: 'heif-convert' } }, software: { exhibitVersion: '0.1.0-test' }, hostname: 'sealer-1' });

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'exhibit-seal-derived-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('collector-made derivatives', () => {
  it('carry their source and its sealed digest into the manifest', async () => {
    const spool = path.join(root, 'ok');
    mkdirSync(path.join(spool, 'media'), { recursive: true });
    copyFileSync(path.join(FIX, 'video.m3u8'), path.join(spool, 'media/001-video.m3u8'));
    copyFileSync(path.join(FIX, 'video0.mpegts'), path.join(spool, 'media/001-video-assembled.mp4'));
    const files: SpoolFile[] = [
      { path: 'media/001-video.m3u8', role: 'media', mediaType: 'application/vnd.apple.mpegurl', sourceUrl: 'https://video.example/360p/video.m3u8', flags: [] },
      { path: 'media/001-video-assembled.mp4', role: 'media', mediaType: 'video/mp4', sourceUrl: null, flags: [{ code: 'ASSEMBLED', message: 'ffmpeg …' }], derivedFrom: { source: 'media/001-video.m3u8', method: 'hls-assemble', tool: 'ffmpeg 5.1: ffmpeg -i local.m3u8 -c copy assembled.mp4' } },
    ];
    const store = await FsStore.open(path.join(root, 'store-ok'));
    const { manifest } = await sealCapture(payload(spool, files), deps(store));
    const mp4 = manifest.artifacts.find((a) => a.name === 'media/001-video-assembled.mp4')!;
    expect(mp4.derivedFrom).toEqual({ source: 'media/001-video.m3u8', sourceSha256: sha256sum(path.join(FIX, 'video.m3u8')), method: 'hls-assemble', tool: 'ffmpeg 5.1: ffmpeg -i local.m3u8 -c copy assembled.mp4' });
    expect(mp4.flags.map((f) => f.code)).toContain('ASSEMBLED');
    expect(manifest.artifacts.find((a) => a.name === 'media/001-video.m3u8')!.derivedFrom).toBeNull();
  });

  it('refuses a derivative of something not in the capture, of itself, or with a digest that disagrees', () => {
    const originals = [{ name: 'media/001-video.m3u8', sha256: `sha256:${'a'.repeat(64)}` }];
    const from = { method: 'hls-assemble', tool: 'ffmpeg' };
    expect(() => collectorDerivation('x.mp4', { ...from, source: 'media/404.m3u8' }, originals)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => collectorDerivation('x.mp4', { ...from, source: 'x.mp4' }, [{ name: 'x.mp4', sha256: `sha256:${'b'.repeat(64)}` }])).toThrow(/derived from itself/);
    expect(() => collectorDerivation('x.mp4', { ...from, source: 'media/001-video.m3u8', sourceSha256: `sha256:${'c'.repeat(64)}` }, originals)).toThrow(expect.objectContaining({ name: 'IntegrityError', code: 'HASH_MISMATCH' }));
    // A URL source is accepted only with the digest the collector read.
    expect(collectorDerivation('x.mp4', { ...from, source: 'https://v.example/p.m3u8', sourceSha256: `sha256:${'d'.repeat(64)}` }, originals)).toEqual({ ...from, source: 'https://v.example/p.m3u8', sourceSha256: `sha256:${'d'.repeat(64)}` });
  });

  it('fails the seal, storing no manifest, when a derivative names a missing source', async () => {
    const spool = path.join(root, 'bad');
    mkdirSync(spool, { recursive: true });
    writeFileSync(path.join(spool, 'out.mp4'), 'not really');
    const store = await FsStore.open(path.join(root, 'store-bad'));
    await expect(sealCapture(payload(spool, [{ path: 'out.mp4', role: 'media', mediaType: 'video/mp4', sourceUrl: null, flags: [], derivedFrom: { source: 'gone.m3u8', method: 'hls-assemble', tool: 'ffmpeg' } }]), deps(store))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(await store.list('cases/')).toEqual([]);
  });
});
