import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIFR_TOOL, extractImageMetadata, ffprobeTool, gpsPosition, probeMedia, toJsonSafe } from '../../../evidence/metadata.js';

const FIX = path.resolve('test/fixtures/images');
let dir: string;
let mp4: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-meta-'));
  mp4 = path.join(dir, 'clip.mp4');
  execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=1', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:v', 'mpeg4', '-c:a', 'aac', '-shortest', mp4]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Only plain JSON values: what JSON.stringify then JSON.parse returns unchanged. */
function expectPlainJson(v: unknown): void {
  expect(JSON.parse(JSON.stringify(v))).toEqual(v);
  const walk = (x: unknown): void => {
    if (x === null || ['string', 'number', 'boolean'].includes(typeof x)) return;
    expect(Array.isArray(x) || Object.getPrototypeOf(x) === Object.prototype, `non-plain value ${String(x)}`).toBe(true);
    for (const y of Object.values(x as object)) walk(y);
  };
  walk(v);
}

function ground(file: string): Record<string, unknown> {
  return (JSON.parse(execFileSync('exiftool', ['-j', '-n', file], { encoding: 'utf8' })) as Array<Record<string, unknown>>)[0]!;
}

describe('extractImageMetadata', () => {
  it('reads EXIF, GPS as decimal degrees, XMP, IPTC and ICC, matching exiftool and the README ground truth', async () => {
    const file = path.join(FIX, 'exif-gps.jpg');
    const r = await extractImageMetadata(file);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.tool).toBe('exifr 7.1.3');
    expect(r.tool).toBe(EXIFR_TOOL);
    const d = r.data as Record<string, Record<string, unknown>>;
    const gt = ground(file);
    expect(gpsPosition(r.data)).toEqual({ latitude: expect.closeTo(33.8938, 6), longitude: expect.closeTo(35.5018, 6) });
    expect(d.gps!.latitude).toBeCloseTo(gt.GPSLatitude as number, 6);
    expect(d.gps!.longitude).toBeCloseTo(gt.GPSLongitude as number, 6);
    expect(d.gps!.GPSAltitude).toBe(42);
    expect(d.ifd0).toMatchObject({ Make: 'Canon', Model: 'Canon EOS 5D Mark IV', Orientation: 'Rotate 90 CW' });
    expect(d.exif).toMatchObject({ DateTimeOriginal: '2025-03-14T09:26:53', OffsetTimeOriginal: '+02:00' });
    expect(d.dc ?? d.xmp).toMatchObject({ creator: 'Exhibit Fixture Photographer' });
    expect(d.iptc).toMatchObject({ Keywords: ['harbour', 'dawn'], Caption: 'Fixture caption' });
    expect(d.icc).toMatchObject({ ProfileDescription: expect.stringContaining('sRGB') });
    expectPlainJson(r.data);
  });

  it('gives negative degrees south and west', async () => {
    const r = await extractImageMetadata(path.join(FIX, 'exif-south-west.jpg'));
    expect(r.ok && gpsPosition(r.data)).toEqual({ latitude: expect.closeTo(-22.907, 6), longitude: expect.closeTo(-43.173, 6) });
  });

  it('writes EXIF times as the camera wall clock, whatever the sealer time zone', async () => {
    const file = path.join(FIX, 'exif-gps.jpg');
    const before = process.env.TZ;
    try {
      process.env.TZ = 'Pacific/Kiritimati';
      const far = await extractImageMetadata(file);
      process.env.TZ = 'America/Los_Angeles';
      const west = await extractImageMetadata(file);
      expect(far).toEqual(west);
      expect(far.ok && (far.data.exif as Record<string, unknown>).DateTimeOriginal).toBe('2025-03-14T09:26:53');
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  it('reports corrupt EXIF as ok:false (and exiftool agrees it is corrupt), never throwing', async () => {
    const file = path.join(FIX, 'corrupt-exif.jpg');
    const r = await extractImageMetadata(file);
    expect(r).toMatchObject({ ok: false, tool: EXIFR_TOOL, error: expect.stringMatching(/IFD0/) });
    const warn = execFileSync('exiftool', ['-s3', '-Warning', file], { encoding: 'utf8' });
    expect(warn).toMatch(/Bad IFD0/);
  });

  it('still reads the intact header of a truncated JPEG', async () => {
    const r = await extractImageMetadata(path.join(FIX, 'truncated.jpg'));
    expect(r.ok && gpsPosition(r.data)).toEqual({ latitude: expect.closeTo(33.8938, 6), longitude: expect.closeTo(35.5018, 6) });
  });

  it('a PNG without metadata is ok with only its header facts', async () => {
    const r = await extractImageMetadata(path.join(FIX, 'plain.png'));
    expect(r.ok).toBe(true);
    expect(r.ok && r.data).toEqual({ ihdr: expect.objectContaining({ ImageWidth: 120, ImageHeight: 80 }) });
  });

  it('text and missing files are ok:false, not exceptions', async () => {
    const txt = path.join(dir, 'x.jpg');
    writeFileSync(txt, 'not an image');
    expect(await extractImageMetadata(txt)).toMatchObject({ ok: false, tool: EXIFR_TOOL });
    const missing = await extractImageMetadata(path.join(dir, 'missing.jpg'));
    expect(missing.ok).toBe(false);
  });
});

describe('toJsonSafe', () => {
  it('turns tool output into plain JSON', () => {
    const big = new Uint8Array(5000);
    const out = toJsonSafe({ d: new Date(2020, 0, 2, 3, 4, 5), b: Buffer.from([1, 2, 255]), u: new Uint16Array([1]), big, m: new Map([['k', 1]]), n: Number.NaN, i: 10n, x: undefined, a: [undefined, 1] });
    expect(out).toEqual({ d: '2020-01-02T03:04:05', b: '0102ff', u: '0100', big: '[5000 bytes omitted]', m: { k: 1 }, n: null, i: '10', a: [null, 1] });
    expectPlainJson(out);
  });
});

describe('probeMedia', () => {
  it('reports format and streams with the ffprobe version as tool, and no host path', async () => {
    const r = await probeMedia(mp4, 'ffprobe');
    const version = /^ffprobe version (\S+)/.exec(execFileSync('ffprobe', ['-version'], { encoding: 'utf8' }))![1];
    expect(r.tool).toBe(`ffprobe ${version}`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const data = r.data as { format: Record<string, unknown>; streams: Array<Record<string, unknown>> };
    expect(data.format.filename).toBe('clip.mp4');
    expect(JSON.stringify(data)).not.toContain(dir);
    expect(data.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(data.streams.find((s) => s.codec_type === 'video')).toMatchObject({ width: 64, height: 48, codec_name: 'mpeg4' });
    expect(Number(data.format.duration)).toBeCloseTo(1, 0);
    expectPlainJson(r.data);
  });

  it('garbage input is ok:false with ffprobe\'s reason, not an exception', async () => {
    const bad = path.join(dir, 'bad.mp4');
    writeFileSync(bad, Buffer.alloc(4096, 7));
    const r = await probeMedia(bad, 'ffprobe');
    expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/invalid data/i) });
    expect(r.ok || r.error.includes(dir)).toBe(false);
  });

  it('a missing binary and a hung one are recorded as failures', async () => {
    const missing = await probeMedia(mp4, path.join(dir, 'no-such-ffprobe')); // spawns: -
    expect(missing).toMatchObject({ ok: false, tool: expect.stringMatching(/^ffprobe \(unavailable/) });
    const slow = path.join(dir, 'slow-ffprobe');
    writeFileSync(slow, '#!/bin/sh\nif [ "$1" = "-version" ]; then echo "ffprobe version 9.9-fake"; exit 0; fi\nexec sleep 10\n');
    chmodSync(slow, 0o755);
    expect(await ffprobeTool(slow)).toBe('ffprobe 9.9-fake'); // spawns: sh sleep
    const started = Date.now();
    const hung = await probeMedia(mp4, slow, { timeoutMs: 300 }); // spawns: sh sleep
    expect(hung).toEqual({ ok: false, tool: 'ffprobe 9.9-fake', error: 'timed out after 300 ms' });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
