import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalBytes } from '../../../evidence/canonical.js';
import { FsStore } from '../../../evidence/fs-store.js';
import { sealCapture, type SealDeps } from '../../../evidence/seal-capture.js';
import type { EvidenceStore } from '../../../evidence/store.js';
import { newId, type Clock } from '../../../lib/clock.js';
import type { SpoolFile } from '../../../schemas/artifact.js';
import type { JobProgress, SealPayload } from '../../../schemas/jobs.js';
import { ImageMetadataDocument } from '../../../schemas/image-metadata.js';
import { CaptureManifest, StoredCaptureManifest } from '../../../schemas/manifest.js';
import { coreutilsDigests } from '../../support/store-contract.js';

const FIX = path.resolve('test/fixtures/images');
const clock = (iso: string): Clock => ({ now: () => new Date(iso) });
const logger = pino({ level: 'silent' });

function spoolFile(p: string, role: SpoolFile['role'], mediaType: string, sourceUrl: string | null = null): SpoolFile {
  return { path: p, role, mediaType, sourceUrl, flags: [] };
}

function payloadFor(spoolDir: string, files: SpoolFile[], captureId = newId()): SealPayload {
  return {
    captureId,
    submittedAt: '2026-01-02T03:00:00.000Z',
    request: { url: 'http://127.0.0.1:8080/post/1', caseId: 'C-2026-001', requestedBy: 'analyst-01', legalBasis: 'Warrant 42/2026', options: { allowPrivateNetwork: true } },
    spoolDir,
    output: {
      status: 'captured',
      failure: null,
      page: {
        requestedUrl: 'http://127.0.0.1:8080/post/1', finalUrl: 'http://127.0.0.1:8080/post/1', redirects: [], status: 200,
        headers: [['content-type', 'text/html; charset=utf-8']], remoteIp: '127.0.0.1', dns: null, tls: null, title: 'مرحبا — post', canonicalUrl: null,
        lang: 'ar', dir: 'rtl', meta: { openGraph: {}, twitter: {}, description: null }, jsonLd: [], documentSize: { width: 1280, height: 2400 },
        requestCount: 7, blockedRequests: [],
      },
      environment: {
        exhibitVersion: '0.1.0', gitCommit: null, collector: { id: 'web', version: '1.0.0' }, playwrightVersion: '1.64.0', browserVersion: '140.0',
        userAgent: 'Mozilla/5.0', viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezone: 'UTC', hostname: 'collector-1', platform: 'linux',
        nodeVersion: process.version, operator: 'analyst-01', startedAt: '2026-01-02T03:00:01.000Z', finishedAt: '2026-01-02T03:00:09.000Z',
        network: { localAddresses: ['127.0.0.1'], proxy: null, egressIp: null, egressIpSource: null, egressIpError: 'not configured' },
        captureMethod: 'playwright-chromium',
      },
      files,
    },
  };
}

/** Wraps a store and records the `created` flag of every write, to prove idempotence. */
function recording(store: EvidenceStore): { store: EvidenceStore; created: boolean[] } {
  const created: boolean[] = [];
  const wrap: EvidenceStore = {
    kind: store.kind,
    location: store.location,
    putFile: async (p, o) => { const r = await store.putFile(p, o); created.push(r.created); return r; },
    putBytes: async (b, o) => { const r = await store.putBytes(b, o); created.push(r.created); return r; },
    putRecord: async (k, b, o) => { const r = await store.putRecord(k, b, o); created.push(r.created); return r; },
    get: (k) => store.get(k), getBytes: (k) => store.getBytes(k), stat: (k) => store.stat(k), list: (p) => store.list(p),
  };
  return { store: wrap, created };
}

function deps(store: EvidenceStore, at = '2026-01-02T03:00:10.000Z', onProgress?: (p: JobProgress) => void): SealDeps {
  return { store, clock: clock(at), logger, config: { seal: { concurrency: 1, thumbnailSize: 64, ffprobePath: 'ffprobe', heifConvertPath: 'heif-convert' } }, software: { exhibitVersion: '0.1.0-test' }, hostname: 'sealer-1', ...(onProgress ? { onProgress } : {}) };
}

let root: string;
let spool: string;
let files: SpoolFile[];
beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'exhibit-seal-'));
  spool = path.join(root, 'spool');
  mkdirSync(path.join(spool, 'media'), { recursive: true });
  copyFileSync(path.join(FIX, 'plain.png'), path.join(spool, 'screenshot.png'));
  writeFileSync(path.join(spool, 'dom.html'), '<html dir="rtl"><body><p>مرحبا بالعالم</p></body></html>');
  copyFileSync(path.join(FIX, 'exif-gps.jpg'), path.join(spool, 'media', '001-photo.jpg'));
  copyFileSync(path.join(FIX, 'corrupt-exif.jpg'), path.join(spool, 'media', '002-broken.jpg'));
  copyFileSync(path.join(FIX, 'truncated.jpg'), path.join(spool, 'media', '003-truncated.jpg'));
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=1', '-c:v', 'mpeg4', path.join(spool, 'media', '004-clip.mp4')]);
  writeFileSync(path.join(spool, 'media', '005-logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
  files = [
    spoolFile('screenshot.png', 'screenshot', 'image/png'),
    spoolFile('dom.html', 'dom', 'text/html; charset=utf-8'),
    spoolFile('media/004-clip.mp4', 'media', 'video/mp4', 'http://127.0.0.1:8080/clip.mp4'),
    spoolFile('media/001-photo.jpg', 'media', 'image/jpeg', 'http://127.0.0.1:8080/photo.jpg'),
    spoolFile('media/002-broken.jpg', 'media', 'image/jpeg', 'http://127.0.0.1:8080/broken.jpg'),
    spoolFile('media/003-truncated.jpg', 'media', 'image/jpeg', 'http://127.0.0.1:8080/truncated.jpg'),
    spoolFile('media/005-logo.svg', 'media', 'image/svg+xml', 'http://127.0.0.1:8080/logo.svg'),
  ];
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sealCapture into an FsStore', () => {
  let store: FsStore;
  let payload: SealPayload;
  let result: Awaited<ReturnType<typeof sealCapture>>;
  const progress: JobProgress[] = [];

  beforeAll(async () => {
    store = await FsStore.open(path.join(root, 'store'));
    payload = payloadFor(spool, files);
    result = await sealCapture(payload, deps(store, undefined, (p) => progress.push(p)));
  });

  it('writes a manifest that validates, as canonical bytes, under the manifest key and as a blob', async () => {
    const { manifest, manifestBytes, manifestDigest, manifestKey } = result;
    expect(manifestKey).toBe(`cases/C-2026-001/captures/${payload.captureId}/manifest.json`);
    const stored = await store.getBytes(manifestKey);
    expect(stored.equals(manifestBytes)).toBe(true);
    expect(CaptureManifest.parse(JSON.parse(stored.toString('utf8')))).toEqual(manifest);
    expect(canonicalBytes(JSON.parse(stored.toString('utf8'))).equals(stored)).toBe(true);
    writeFileSync(path.join(root, 'manifest.json'), stored);
    expect(manifestDigest).toBe(coreutilsDigests(path.join(root, 'manifest.json')).sha256);
    expect((await store.getBytes(`sha256/${manifestDigest.slice(7)}`)).equals(stored)).toBe(true);
    expect(manifest).toMatchObject({
      schemaVersion: 'exhibit.capture-manifest/2', captureId: payload.captureId, caseId: 'C-2026-001', status: 'captured', failure: null,
      sealedAt: '2026-01-02T03:00:10.000Z', sealer: { exhibitVersion: '0.1.0-test', hostname: 'sealer-1' },
      request: { url: payload.request.url, requestedBy: 'analyst-01', legalBasis: 'Warrant 42/2026', submittedAt: payload.submittedAt },
    });
    expect(manifest.page.title).toBe('مرحبا — post');
  });

  it('stores every original byte-identical, with digests equal to sha256sum/sha512sum', async () => {
    for (const f of files) {
      const a = result.manifest.artifacts.find((x) => x.name === f.path)!;
      const spoolPath = path.join(spool, f.path);
      expect(a, f.path).toMatchObject({ role: f.role, mediaType: f.mediaType, sourceUrl: f.sourceUrl, derivedFrom: null, ...coreutilsDigests(spoolPath) });
      expect(a.storeKey).toBe(`sha256/${a.sha256.slice(7)}`);
      expect((await store.getBytes(a.storeKey)).equals(readFileSync(spoolPath)), f.path).toBe(true);
    }
  });

  it('lists artifacts sorted by name, perceptual hashes on decodable images only', () => {
    const names = result.manifest.artifacts.map((a) => a.name);
    expect(names).toEqual([...names].sort());
    const byName = new Map(result.manifest.artifacts.map((a) => [a.name, a]));
    expect(byName.get('media/001-photo.jpg')!.perceptualHash).toMatch(/^dhash:[0-9a-f]{16}$/);
    expect(byName.get('screenshot.png')!.perceptualHash).toBe('dhash:0000000000000000');
    expect(byName.get('dom.html')!.perceptualHash).toBeNull();
    expect(byName.get('media/003-truncated.jpg')!.perceptualHash).toBeNull();
  });

  it('stores EXIF as a derived JSON artifact naming its source, with GPS matching the ground truth', async () => {
    const photo = result.manifest.artifacts.find((a) => a.name === 'media/001-photo.jpg')!;
    const exif = result.manifest.artifacts.find((a) => a.name === 'derived/media/001-photo.jpg.exif.json')!;
    expect(exif).toMatchObject({ role: 'metadata', mediaType: 'application/json', derivedFrom: { source: photo.name, sourceSha256: photo.sha256, method: 'exif-extract', tool: 'exifr 7.1.3' } });
    const doc = JSON.parse((await store.getBytes(exif.storeKey)).toString('utf8')) as { source: string; sourceSha256: string; data: { gps: { latitude: number; longitude: number }; ifd0: { Make: string } } };
    expect(doc.source).toBe(photo.name);
    expect(doc.sourceSha256).toBe(photo.sha256);
    expect(doc.data.gps.latitude).toBeCloseTo(33.8938, 6);
    expect(doc.data.gps.longitude).toBeCloseTo(35.5018, 6);
    expect(doc.data.ifd0.Make).toBe('Canon');
    expect(result.manifest.enrichment).toContainEqual({ artifact: photo.name, step: 'exif', status: 'ok', tool: 'exifr 7.1.3', message: null });
  });

  it('records a damaged EXIF block as a partial enrichment with a flag naming the block, keeps the rest, and still seals', async () => {
    const broken = result.manifest.artifacts.find((a) => a.name === 'media/002-broken.jpg')!;
    expect(result.manifest.status).toBe('captured');
    expect(result.manifest.enrichment).toContainEqual({ artifact: broken.name, step: 'exif', status: 'partial', tool: 'exifr 7.1.3', message: expect.stringMatching(/^unreadable: ifd0\b/) });
    expect(broken.flags).toContainEqual({ code: 'METADATA_BLOCK_UNREADABLE', block: 'ifd0', message: expect.stringMatching(/IFD0 offset points to outside/) });
    const exif = result.manifest.artifacts.find((a) => a.name === 'derived/media/002-broken.jpg.exif.json')!;
    const doc = ImageMetadataDocument.parse(JSON.parse((await store.getBytes(exif.storeKey)).toString('utf8')));
    expect(doc.data.jfif).toBeDefined();
    expect(doc.flags).toEqual(broken.flags.filter((f) => f.code === 'METADATA_BLOCK_UNREADABLE'));
    // Its pixels are fine, so it still gets a thumbnail.
    expect(result.manifest.enrichment).toContainEqual({ artifact: broken.name, step: 'thumbnail', status: 'ok', tool: expect.stringMatching(/^sharp /), message: null });
  });

  it('records a truncated JPEG\'s failed thumbnail and hash, without host paths in messages', () => {
    const e = result.manifest.enrichment.filter((r) => r.artifact === 'media/003-truncated.jpg');
    const sharpTool = expect.stringMatching(/^sharp .* \/ libvips /);
    expect(e).toEqual([
      { artifact: 'media/003-truncated.jpg', step: 'exif', status: 'ok', tool: 'exifr 7.1.3', message: null },
      { artifact: 'media/003-truncated.jpg', step: 'perceptual-hash', status: 'failed', tool: sharpTool, message: expect.stringMatching(/premature end/i) },
      { artifact: 'media/003-truncated.jpg', step: 'thumbnail', status: 'failed', tool: sharpTool, message: expect.stringMatching(/premature end/i) },
    ]);
    // Undecodable pixels are flagged on the artifact itself, not only in the enrichment list.
    const truncated = result.manifest.artifacts.find((a) => a.name === 'media/003-truncated.jpg')!;
    expect(truncated.flags).toEqual([{ code: 'IMAGE_NOT_DECODED', message: expect.stringMatching(/premature end/i) }]);
    expect(result.manifestBytes.toString('utf8')).not.toContain(root);
  });

  it('makes thumbnails (screenshot included) that name their source and are upright webp', async () => {
    const thumbs = result.manifest.artifacts.filter((a) => a.role === 'thumbnail');
    expect(thumbs.map((t) => t.name).sort()).toEqual(['derived/media/001-photo.jpg.thumb.webp', 'derived/media/002-broken.jpg.thumb.webp', 'derived/screenshot.png.thumb.webp']);
    for (const t of thumbs) {
      const src = result.manifest.artifacts.find((a) => a.name === t.derivedFrom!.source)!;
      expect(t.derivedFrom).toEqual({ source: src.name, sourceSha256: src.sha256, method: 'thumbnail-64-webp', tool: expect.stringMatching(/^sharp .* \/ libvips /) });
      expect(t.mediaType).toBe('image/webp');
      const meta = await sharp(await store.getBytes(t.storeKey)).metadata();
      expect(meta.format).toBe('webp');
      expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(64);
    }
    const photoThumb = await sharp(await store.getBytes(thumbs.find((t) => t.name.includes('001-photo'))!.storeKey)).metadata();
    expect([photoThumb.width, photoThumb.height]).toEqual([43, 64]);
  });

  it('stores ffprobe JSON for video and skips SVG', async () => {
    const probe = result.manifest.artifacts.find((a) => a.name === 'derived/media/004-clip.mp4.ffprobe.json')!;
    expect(probe.derivedFrom).toMatchObject({ source: 'media/004-clip.mp4', method: 'ffprobe', tool: expect.stringMatching(/^ffprobe \d/) });
    const doc = JSON.parse((await store.getBytes(probe.storeKey)).toString()) as { data: { streams: Array<{ codec_type: string; width: number }> } };
    expect(doc.data.streams[0]).toMatchObject({ codec_type: 'video', width: 64 });
    expect(result.manifest.enrichment.filter((r) => r.artifact === 'media/005-logo.svg').map((r) => r.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(result.manifest.enrichment.filter((r) => r.artifact === 'dom.html')).toEqual([]);
  });

  it('reports progress through hashing, enriching and storing up to 100 %', () => {
    const stages = new Set(progress.map((p) => p.stage));
    expect([...stages].sort()).toEqual(['enriching', 'hashing', 'storing']);
    const pct = progress.map((p) => p.percent);
    expect(pct).toEqual([...pct].sort((a, b) => a - b));
    expect(pct.at(-1)).toBe(100);
  });

  it('is idempotent: the same payload again gives the same bytes and creates nothing', async () => {
    const before = await store.list('');
    const rec = recording(store);
    const again = await sealCapture(payload, deps(rec.store));
    expect(again.manifestBytes.equals(result.manifestBytes)).toBe(true);
    expect(again.manifestDigest).toBe(result.manifestDigest);
    expect(rec.created.length).toBeGreaterThan(10);
    expect(rec.created.every((c) => c === false)).toBe(true);
    expect(await store.list('')).toEqual(before);
    // A retry later in time keeps the manifest already sealed.
    const later = await sealCapture(payload, deps(rec.store, '2026-02-01T00:00:00.000Z'));
    expect(later.manifest.sealedAt).toBe('2026-01-02T03:00:10.000Z');
    expect(later.manifestBytes.equals(result.manifestBytes)).toBe(true);
    expect(await store.list('')).toEqual(before);
  });

  it('refuses to reseal a capture whose content changed (STORE_CONFLICT), keeping the first manifest', async () => {
    const changedSpool = path.join(root, 'changed');
    mkdirSync(changedSpool);
    writeFileSync(path.join(changedSpool, 'dom.html'), '<html>different</html>');
    const p2 = { ...payload, spoolDir: changedSpool, output: { ...payload.output, files: [spoolFile('dom.html', 'dom', 'text/html')] } };
    await expect(sealCapture(p2, deps(store))).rejects.toMatchObject({ name: 'IntegrityError', code: 'STORE_CONFLICT' });
    expect((await store.getBytes(result.manifestKey)).equals(result.manifestBytes)).toBe(true);
  });
});

describe('sealCapture refuses spool files outside the spool directory', () => {
  let store: FsStore;
  let evil: string;
  beforeAll(async () => {
    store = await FsStore.open(path.join(root, 'store-refuse'));
    evil = path.join(root, 'evil-spool');
    mkdirSync(path.join(evil, 'media'), { recursive: true });
    writeFileSync(path.join(root, 'secret.txt'), 'host secret');
    writeFileSync(path.join(evil, 'ok.html'), '<p>ok</p>');
    symlinkSync(path.join(root, 'secret.txt'), path.join(evil, 'media', 'link.jpg'));
    symlinkSync(root, path.join(evil, 'linkdir'));
  });

  const cases: Array<[string, string, string]> = [
    ['.. traversal', '../secret.txt', 'INVALID_INPUT'],
    ['absolute path', '/etc/hostname', 'INVALID_INPUT'],
    ['symlinked file', 'media/link.jpg', 'INVALID_INPUT'],
    ['symlinked directory', 'linkdir/secret.txt', 'INVALID_INPUT'],
    ['a directory', 'media', 'INVALID_INPUT'],
    ['the reserved derived/ prefix', 'derived/x.json', 'INVALID_INPUT'],
    ['a missing file', 'media/nope.jpg', 'NOT_FOUND'],
  ];
  it.each(cases)('%s', async (_label, p, code) => {
    const payload = payloadFor(evil, [spoolFile('ok.html', 'dom', 'text/html'), spoolFile(p, 'media', 'image/jpeg')]);
    await expect(sealCapture(payload, deps(store))).rejects.toMatchObject({ code });
    // Checked before anything is stored: not even the good file went in.
    expect(await store.list('')).toEqual([]);
  });

  it('a file listed twice', async () => {
    const payload = payloadFor(evil, [spoolFile('ok.html', 'dom', 'text/html'), spoolFile('ok.html', 'dom', 'text/html')]);
    await expect(sealCapture(payload, deps(store))).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/twice/) });
  });
});

describe('sealCapture: phone HEIC, damaged metadata and formats nothing decodes', () => {
  let store: FsStore;
  let result: Awaited<ReturnType<typeof sealCapture>>;
  const dir = () => path.join(root, 'phone-spool');
  beforeAll(async () => {
    mkdirSync(path.join(dir(), 'media'), { recursive: true });
    copyFileSync(path.join(FIX, 'real', 'apple-iphone-xs.heic'), path.join(dir(), 'media', '010-iphone.heic'));
    copyFileSync(path.join(FIX, 'made', 'pixel6-gps-invalid-type.jpg'), path.join(dir(), 'media', '011-pixel.jpg'));
    copyFileSync(path.join(FIX, 'real', 'canon-powershot-s40.webp'), path.join(dir(), 'media', '012-canon.webp'));
    writeFileSync(path.join(dir(), 'media', '013-unknown.jxl'), Buffer.from([0xff, 0x0a, 0xfa, 0x7f, 0x01, 0x02, 0x03, 0x04]));
    store = await FsStore.open(path.join(root, 'store-phone'));
    result = await sealCapture(
      payloadFor(dir(), [
        spoolFile('media/010-iphone.heic', 'media', 'image/heic'),
        spoolFile('media/011-pixel.jpg', 'media', 'image/jpeg'),
        spoolFile('media/012-canon.webp', 'media', 'image/webp'),
        spoolFile('media/013-unknown.jxl', 'media', 'image/jxl'),
      ]),
      deps(store),
    );
  });
  const byName = (n: string) => result.manifest.artifacts.find((a) => a.name === n)!;
  const steps = (n: string) => result.manifest.enrichment.filter((e) => e.artifact === n);

  it('a HEIC gets its thumbnail and perceptual hash through libheif, each naming the whole tool chain', async () => {
    const heic = byName('media/010-iphone.heic');
    expect(heic.perceptualHash).toMatch(/^dhash:[0-9a-f]{16}$/);
    expect(heic.flags).toEqual([]);
    const chain = expect.stringMatching(/^heif-convert \(libheif [\d.]+\) to PNG \+ sharp [\d.]+ \/ libvips [\d.]+$/);
    expect(steps(heic.name)).toEqual([
      { artifact: heic.name, step: 'exif', status: 'ok', tool: 'exifr 7.1.3', message: null },
      { artifact: heic.name, step: 'perceptual-hash', status: 'ok', tool: chain, message: null },
      { artifact: heic.name, step: 'thumbnail', status: 'ok', tool: chain, message: null },
    ]);
    const thumb = byName('derived/media/010-iphone.heic.thumb.webp');
    expect(thumb.derivedFrom).toEqual({ source: heic.name, sourceSha256: heic.sha256, method: 'thumbnail-64-webp', tool: chain });
    const meta = await sharp(await store.getBytes(thumb.storeKey)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 64, 56]);
    // The original is stored byte-identical.
    expect((await store.getBytes(heic.storeKey)).equals(readFileSync(path.join(dir(), heic.name)))).toBe(true);
    const doc = ImageMetadataDocument.parse(JSON.parse((await store.getBytes(byName('derived/media/010-iphone.heic.exif.json').storeKey)).toString('utf8')));
    expect(doc.facts).toMatchObject({ make: 'Apple', model: 'iPhone XS', dates: { DateTimeOriginal: { stated: '2021:07:06 16:08:14', offset: '+03:00' } } });
  });

  it('a damaged GPS IFD makes the exif step partial: the block is named on the artifact, the rest is in the metadata document', async () => {
    const jpg = byName('media/011-pixel.jpg');
    expect(steps(jpg.name).find((e) => e.step === 'exif')).toEqual({ artifact: jpg.name, step: 'exif', status: 'partial', tool: 'exifr 7.1.3', message: 'unreadable: gps' });
    expect(jpg.flags).toContainEqual({ code: 'METADATA_BLOCK_UNREADABLE', block: 'gps', message: expect.stringMatching(/could not read the gps block: Invalid TIFF value type/) });
    const doc = ImageMetadataDocument.parse(JSON.parse((await store.getBytes(byName('derived/media/011-pixel.jpg.exif.json').storeKey)).toString('utf8')));
    expect(doc).toMatchObject({ schemaVersion: 'exhibit.image-metadata/1', source: jpg.name, sourceSha256: jpg.sha256, tool: 'exifr 7.1.3', facts: { make: 'Google', model: 'Pixel 6', gps: null } });
    expect(doc.data.exif).toMatchObject({ ExposureTime: 0.04, ISO: 89 });
    // The Pillow test file's scan data ends early: its pixels are flagged too, separately.
    expect(jpg.flags).toContainEqual({ code: 'IMAGE_NOT_DECODED', message: expect.stringMatching(/premature end of JPEG/) });
  });

  it('WebP metadata is read; a format nothing here decodes is flagged on the artifact, never skipped quietly', () => {
    expect(steps('media/012-canon.webp').map((e) => [e.step, e.status])).toEqual([['exif', 'ok'], ['perceptual-hash', 'ok'], ['thumbnail', 'ok']]);
    const jxl = byName('media/013-unknown.jxl');
    expect(jxl.perceptualHash).toBeNull();
    expect(jxl.flags).toEqual([{ code: 'IMAGE_NOT_DECODED', message: expect.stringMatching(/^no thumbnail or perceptual hash \(sharp .*\): cannot decode image: .*unsupported image format/) }]);
    expect(steps(jxl.name).map((e) => [e.step, e.status])).toEqual([['exif', 'skipped'], ['perceptual-hash', 'failed'], ['thumbnail', 'failed']]);
  });

  it('writes manifest version 2; version 1 manifests stay readable, and the sealer never writes them', () => {
    const v2 = CaptureManifest.parse(result.manifest);
    expect(v2.schemaVersion).toBe('exhibit.capture-manifest/2');
    const v1 = { ...v2, schemaVersion: 'exhibit.capture-manifest/1', enrichment: v2.enrichment.filter((e) => e.status !== 'partial').map(({ tool: _tool, ...e }) => e) };
    expect(StoredCaptureManifest.parse(v1).schemaVersion).toBe('exhibit.capture-manifest/1');
    expect(CaptureManifest.safeParse(v1).success).toBe(false);
    // A v2 document must name each step's tool.
    expect(CaptureManifest.safeParse({ ...v2, enrichment: v1.enrichment }).success).toBe(false);
  });
});
