import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utcReading } from '../../../evidence/image-facts.js';
import { heifColourType } from '../../../evidence/image-containers.js';
import { EXIFR_TOOL, extractImageMetadata, ffprobeTool, gpsPosition, probeMedia, toJsonSafe } from '../../../evidence/metadata.js';
import { ImageFacts } from '../../../schemas/image-metadata.js';

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
    // XMP is kept apart, by namespace, never merged into the EXIF blocks.
    expect((d.xmp as Record<string, Record<string, unknown>>).dc).toMatchObject({ creator: 'Exhibit Fixture Photographer' });
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

  it('a broken IFD0 costs only the TIFF blocks: JFIF is kept and IFD0 is named in a flag (exiftool agrees it is bad)', async () => {
    const file = path.join(FIX, 'corrupt-exif.jpg');
    const r = await extractImageMetadata(file);
    expect(r).toMatchObject({ ok: true, tool: EXIFR_TOOL, data: { jfif: expect.objectContaining({ JFIFVersion: expect.anything() }) } });
    if (!r.ok) return;
    expect(r.flags).toContainEqual({ code: 'METADATA_BLOCK_UNREADABLE', block: 'ifd0', message: expect.stringMatching(/could not read the ifd0 block: IFD0 offset points to outside of file/) });
    expect(r.data.ifd0).toBeUndefined();
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

const REAL = path.join(FIX, 'real');
const MADE = path.join(FIX, 'made');
function exiftoolWarning(file: string): string {
  return execFileSync('exiftool', ['-s3', '-Warning', file], { encoding: 'utf8' });
}
async function readOk(file: string) {
  const r = await extractImageMetadata(file);
  if (!r.ok) throw new Error(`expected ok, got ${r.error}`);
  return r;
}

describe('one damaged block costs nothing else', () => {
  it('a JPEG whose GPS IFD holds a tag of invalid type keeps Make, Model, dates and exposure, and names the gps block', async () => {
    const file = path.join(MADE, 'pixel6-gps-invalid-type.jpg');
    // exiftool sees the same damage.
    expect(exiftoolWarning(file)).toMatch(/Bad format \(99\) for GPS entry 0/);
    const r = await readOk(file);
    expect(r.flags).toEqual([{ code: 'METADATA_BLOCK_UNREADABLE', block: 'gps', message: expect.stringMatching(/^exifr 7\.1\.3 could not read the gps block: Invalid TIFF value type\. block: GPS, tag: 0, type: 99/) }]);
    const d = r.data as Record<string, Record<string, unknown>>;
    expect(d.ifd0).toMatchObject({ Make: 'Google', Model: 'Pixel 6' });
    expect(d.exif).toMatchObject({ DateTimeOriginal: '2024-05-07T09:33:04', ExposureTime: 0.04, FNumber: 1.85, ISO: 89, OffsetTimeOriginal: '+08:00' });
    expect(d.gps).toBeUndefined();
    expect(d.icc).toBeDefined();
    expect(r.facts).toMatchObject({ make: 'Google', model: 'Pixel 6', dates: { DateTimeOriginal: { stated: '2024:05:07 09:33:04' } }, gps: null });
  });

  it('a real edited file whose GPS pointer has the wrong type (Photoshop Elements) keeps IFD0, IFD1 and XMP', async () => {
    const file = path.join(REAL, 'photoshop-elements-bad-gps-pointer.jpg');
    expect(exiftoolWarning(file)).toMatch(/Wrong format \(string\) for IFD0 0x8825 GPSInfo/);
    const r = await readOk(file);
    expect(r.flags.map((f) => f.block)).toEqual(['gps']);
    expect(r.data.ifd0).toMatchObject({ Software: 'Adobe Photoshop Elements 5.0' });
    expect((r.data.xmp as Record<string, Record<string, unknown>>).exif).toMatchObject({ PixelXDimension: 3008 });
  });

  it.each([
    ['made/iphone-xs-truncated-icc.heic', { make: 'Apple', model: 'iPhone XS', stated: '2021:07:06 16:08:14' }],
    ['made/avif-truncated-icc.avif', { make: 'Exhibit', model: 'AVIF fixture', stated: '2024:02:29 23:59:58' }],
  ])('%s: a truncated ICC profile is named, Make, Model, dates and GPS are kept', async (name, want) => {
    const file = path.join(FIX, name);
    expect(exiftoolWarning(file)).toMatch(/Bad length ICC_Profile/);
    const r = await readOk(file);
    expect(r.flags).toEqual([{ code: 'METADATA_BLOCK_UNREADABLE', block: 'icc', message: 'exifr 7.1.3 could not read the icc block: ICC header is too short' }]);
    expect(r.facts).toMatchObject({ make: want.make, model: want.model, dates: { DateTimeOriginal: { stated: want.stated } } });
    expect(r.data.icc).toBeUndefined();
  });

  it('the untouched iPhone file reads whole, its position included', async () => {
    const r = await readOk(path.join(REAL, 'apple-iphone-xs.heic'));
    expect(r.flags).toEqual([]);
    expect(r.data.icc).toMatchObject({ ProfileDescription: 'Display P3' });
    expect(r.facts.gps?.decimal).toEqual({ latitude: expect.closeTo(46.754703, 5), longitude: expect.closeTo(33.336106, 5) });
  });

  it('an AVIF whose colr box is nclx colour information (not an ICC profile) is not flagged', async () => {
    const file = path.join(REAL, 'exif-nclx.avif');
    const buf = readFileSync(file);
    expect(heifColourType(buf)).toBe('nclx');
    const r = await readOk(file);
    expect(r.flags).toEqual([]);
    expect(r.facts.orientation).toEqual({ value: 1, label: 'Horizontal (normal)' });
    expect(r.blocks).not.toContain('icc');
  });

  it('a HEIC whose Exif item exifr cannot locate is read from its stated TIFF offset (Sony ILCE-7SM3)', async () => {
    const r = await readOk(path.join(REAL, 'sony-ilce-7sm3.heic'));
    expect(r.flags).toEqual([]);
    expect(r.facts).toMatchObject({ make: 'SONY', model: 'ILCE-7SM3', dates: { DateTimeOriginal: { stated: '2020:09:14 11:09:34', offset: '-05:00', utc: '2020-09-14T16:09:34.641Z' } } });
  });

  it('WebP EXIF, XMP and ICC chunks are read', async () => {
    expect((await readOk(path.join(REAL, 'canon-powershot-s40.webp'))).facts).toMatchObject({ make: 'Canon', model: 'Canon PowerShot S40' });
    const edited = await readOk(path.join(REAL, 'photoshop-cs6-xmp-icc.webp'));
    expect(edited.flags).toEqual([]);
    expect(edited.data.icc).toMatchObject({ ProfileDescription: 'sRGB IEC61966-2.1' });
    expect((edited.data.xmp as Record<string, unknown>).xmpMM).toMatchObject({ DocumentID: 'EF92CAFE8066E13725AE6CAE71FED064' });
  });

  it('ok:false only when nothing at all can be read', async () => {
    const bad = path.join(dir, 'all-broken.jpg');
    // A JPEG with nothing but a broken EXIF segment: every TIFF block fails, nothing else exists.
    const src = readFileSync(path.join(FIX, 'corrupt-exif.jpg'));
    const app1 = src.indexOf(Buffer.from('Exif\0\0', 'latin1')) - 4;
    writeFileSync(bad, Buffer.concat([Buffer.from([0xff, 0xd8]), src.subarray(app1, app1 + 2 + src.readUInt16BE(app1 + 2)), Buffer.from([0xff, 0xd9])]));
    const r = await extractImageMetadata(bad);
    expect(r).toMatchObject({ ok: false, tool: EXIFR_TOOL, error: expect.stringMatching(/could not read the ifd0 block: IFD0 offset points to outside of file/) });
  });
});

describe('values as the file states them', () => {
  it('keeps raw date strings, offsets and sub-seconds, with a UTC reading only where an offset is stated (Pixel 6)', async () => {
    const r = await readOk(path.join(REAL, 'google-pixel6.jpg'));
    ImageFacts.parse(r.facts);
    expect(r.facts.dates).toEqual({
      DateTimeOriginal: { stated: '2024:05:07 09:33:04', subSec: '046', subSecTag: 'SubSecTimeOriginal', offset: '+08:00', offsetTag: 'OffsetTimeOriginal', utc: '2024-05-07T01:33:04.046Z' },
      CreateDate: { stated: '2024:05:07 09:33:04', subSec: '046', subSecTag: 'SubSecTimeDigitized', offset: '+08:00', offsetTag: 'OffsetTimeDigitized', utc: '2024-05-07T01:33:04.046Z' },
      ModifyDate: { stated: '2024:05:07 09:33:04', subSec: '046', subSecTag: 'SubSecTime', offset: '+08:00', offsetTag: 'OffsetTime', utc: '2024-05-07T01:33:04.046Z' },
    });
    expect(r.facts.orientation).toEqual({ value: 1, label: 'Horizontal (normal)' });
  });

  it('keeps GPS as stated rationals and refs beside the decimal reading, with GPS date/time, altitude and direction', async () => {
    const file = path.join(REAL, 'google-pixel6.jpg');
    const r = await readOk(file);
    expect(r.facts.gps).toEqual({
      source: 'exif',
      latitude: { stated: [[30, 1], [37, 1], [3954, 100]], degrees: [30, 37, 39.54], ref: 'N' },
      longitude: { stated: [[119, 1], [44, 1], [1956, 100]], degrees: [119, 44, 19.56], ref: 'E' },
      decimal: { latitude: expect.closeTo(30.62765, 9), longitude: expect.closeTo(119.7387667, 6) },
      datum: null,
      dateStamp: '2024:05:07',
      timeStamp: { stated: [[1, 1], [32, 1], [9, 1]], values: [1, 32, 9] },
      utc: '2024-05-07T01:32:09.000Z',
      altitude: { stated: [9890, 100], ref: 0, metres: 98.9 },
      direction: { stated: [99, 1], ref: 'M', degrees: 99 },
    });
    // exiftool, asked for the raw values, states the same.
    const gt = (JSON.parse(execFileSync('exiftool', ['-j', '-n', '-GPSAltitude', '-GPSImgDirectionRef', '-GPSTimeStamp', '-GPSDateStamp', file], { encoding: 'utf8' })) as Array<Record<string, unknown>>)[0]!;
    expect(gt).toMatchObject({ GPSAltitude: 98.9, GPSImgDirectionRef: 'M', GPSTimeStamp: '01:32:09', GPSDateStamp: '2024:05:07' });
  });

  it('orientation as number and label; a zone-less date gets no UTC reading', async () => {
    const r = await readOk(path.join(FIX, 'exif-gps.jpg'));
    expect(r.facts.orientation).toEqual({ value: 6, label: 'Rotate 90 CW' });
    expect(r.facts.dates.DateTimeOriginal).toEqual({ stated: '2025:03:14 09:26:53', subSec: null, subSecTag: null, offset: '+02:00', offsetTag: 'OffsetTimeOriginal', utc: '2025-03-14T07:26:53.000Z' });
    expect(r.facts.dates.CreateDate).toMatchObject({ stated: '2025:03:14 09:26:53', offset: null, utc: null });
    const nikon = await readOk(path.join(REAL, 'nikon-d800.jpg'));
    expect(nikon.facts.dates.DateTimeOriginal).toMatchObject({ stated: '2013:09:11 16:45:13', subSec: '90', offset: null, utc: null });
  });

  it('GPS stated only in XMP is read from XMP, its text kept as stated', async () => {
    const r = await readOk(path.join(MADE, 'xmp-only-gps.jpg'));
    expect(r.data.gps).toBeUndefined();
    expect(r.facts.gps).toMatchObject({ source: 'xmp', latitude: { statedText: '55,2.32533333N' }, decimal: { latitude: expect.closeTo(55.038756, 5), longitude: expect.closeTo(8.457192, 5) } });
  });

  it('utcReading: only with a stated offset, and only for a real date', () => {
    expect(utcReading('2018:07:25 16:34:23', '+02:00', null)).toBe('2018-07-25T14:34:23.000Z');
    expect(utcReading('2018:07:25 16:34:23', '-05:30', '5')).toBe('2018-07-25T22:04:23.500Z');
    expect(utcReading('2018:07:25 16:34:23', null, null)).toBeNull();
    expect(utcReading('0000:00:00 00:00:00', '+00:00', null)).toBeNull();
    expect(utcReading('2023:02:31 10:00:00', '+00:00', null)).toBeNull();
    expect(utcReading('    :  :     :  :  ', '+01:00', null)).toBeNull();
    expect(utcReading('2018:07:25 16:34:23', 'Z', null)).toBeNull();
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

  it('keeps time and place tags as the file states them (QuickTime creationdate with its offset, ISO 6709 location)', async () => {
    const mov = path.join(dir, 'phone.mov');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=32x24:rate=5:duration=0.4', '-c:v', 'mpeg4',
      '-metadata', 'creation_time=2018-07-25T14:34:23.000000Z', '-metadata', 'com.apple.quicktime.creationdate=2018-07-25T16:34:23+0200',
      '-metadata', 'location=+33.8938+035.5018/', '-movflags', 'use_metadata_tags', mov]);
    const r = await probeMedia(mov, 'ffprobe');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect((r.data as { format: { tags: Record<string, string> } }).format.tags).toMatchObject({
      creation_time: '2018-07-25T14:34:23.000000Z',
      'com.apple.quicktime.creationdate': '2018-07-25T16:34:23+0200',
      location: '+33.8938+035.5018/',
    });
    // exiftool reads the same two instants from the file.
    expect(execFileSync('exiftool', ['-s3', '-CreationDate', '-CreateDate', mov], { encoding: 'utf8' }).trim().split('\n')).toEqual(['2018:07:25 16:34:23+02:00', '2018:07:25 14:34:23']);
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
