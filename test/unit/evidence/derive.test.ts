import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_INPUT_PIXELS, SHARP_TOOL, hammingDistance, heifConvertTool, imageDimensions, makeThumbnail, openRaster, perceptualHash } from '../../../evidence/derive.js';

const FIX = path.resolve('test/fixtures/images');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-derive-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
/** A ~100-byte PNG that declares width×height pixels: a decompression bomb if anyone decodes it. */
function bombPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(1024))), chunk('IEND', Buffer.alloc(0))]);
}

function exiftoolJson(file: string): Record<string, unknown> {
  return (JSON.parse(execFileSync('exiftool', ['-j', '-G', file], { encoding: 'utf8' })) as Array<Record<string, unknown>>)[0]!;
}

describe('makeThumbnail', () => {
  it('turns the image upright per EXIF orientation, bounds the longest edge, strips all metadata', async () => {
    const dest = path.join(dir, 'gps.thumb.webp');
    const t = await makeThumbnail(path.join(FIX, 'exif-gps.jpg'), dest, 48);
    // Stored 96x64 with Orientation 6 (rotate 90° CW): upright it is 64x96, scaled to 32x48.
    expect(t).toMatchObject({ tool: SHARP_TOOL, method: 'thumbnail-48-webp', format: 'webp', width: 32, height: 48 });
    const meta = await sharp(dest).metadata();
    expect({ format: meta.format, width: meta.width, height: meta.height, orientation: meta.orientation, exif: meta.exif, icc: meta.icc, xmp: meta.xmp }).toEqual({
      format: 'webp', width: 32, height: 48, orientation: undefined, exif: undefined, icc: undefined, xmp: undefined,
    });
    // A tool we did not write agrees: no camera, GPS or IPTC tags survive.
    const tags = Object.keys(exiftoolJson(dest)).join(' ');
    expect(tags).not.toMatch(/GPS|Make|Model|IPTC|XMP|ICC|Orientation/);
    expect(tags).toMatch(/RIFF|File/);
  });

  it('never enlarges, and can write JPEG', async () => {
    const dest = path.join(dir, 'sw.thumb.jpg');
    const t = await makeThumbnail(path.join(FIX, 'exif-south-west.jpg'), dest, 512, { format: 'jpeg' });
    expect(t).toMatchObject({ width: 80, height: 60, format: 'jpeg', method: 'thumbnail-512-jpeg' });
    expect((await sharp(dest).metadata()).format).toBe('jpeg');
  });

  it('names the tool as sharp and libvips versions', () => {
    expect(SHARP_TOOL).toBe(`sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}`);
    expect(SHARP_TOOL).toMatch(/^sharp \d+\.\d+\.\d+ \/ libvips \d+\.\d+\.\d+$/);
  });

  it('refuses a truncated JPEG with CORRUPT_MEDIA, and a non-image', async () => {
    await expect(makeThumbnail(path.join(FIX, 'truncated.jpg'), path.join(dir, 'x.webp'), 64)).rejects.toMatchObject({ name: 'PermanentError', code: 'CORRUPT_MEDIA', message: expect.stringMatching(/premature end/i) });
    const txt = path.join(dir, 'not-an-image.jpg');
    writeFileSync(txt, 'hello, I am text');
    await expect(makeThumbnail(txt, path.join(dir, 'y.webp'), 64)).rejects.toMatchObject({ code: 'CORRUPT_MEDIA' });
  });

  it('refuses a decompression bomb before decoding it, without naming host paths', async () => {
    const bomb = path.join(dir, 'bomb.png');
    writeFileSync(bomb, bombPng(50_000, 50_000));
    expect(50_000 * 50_000).toBeGreaterThan(DEFAULT_MAX_INPUT_PIXELS);
    const started = Date.now();
    const err = (await makeThumbnail(bomb, path.join(dir, 'bomb.webp'), 64).then(
      () => new Error('resolved'),
      (e: unknown) => e,
    )) as Error & { code?: string };
    expect(err).toMatchObject({ name: 'PermanentError', code: 'TOO_LARGE' });
    expect(err.message).toMatch(/pixel limit/);
    expect(err.message).not.toContain(dir);
    await expect(perceptualHash(bomb)).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect(Date.now() - started).toBeLessThan(5000);
    // The limit is configurable: a 96x64 image is refused under a 1000-pixel limit.
    await expect(perceptualHash(path.join(FIX, 'exif-gps.jpg'), { maxInputPixels: 1000 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });
});

describe('perceptualHash', () => {
  it('is a deterministic 64-bit dHash', async () => {
    const a = await perceptualHash(path.join(FIX, 'exif-gps.jpg'));
    expect(a).toMatch(/^dhash:[0-9a-f]{16}$/);
    expect(await perceptualHash(path.join(FIX, 'exif-gps.jpg'))).toBe(a);
    // A pure top-to-bottom gradient has no left/right differences: every bit is 0.
    expect(await perceptualHash(path.join(FIX, 'plain.png'))).toBe('dhash:0000000000000000');
  });

  it('follows EXIF orientation: matches an upright re-encode, not the unrotated pixels', async () => {
    const src = path.join(FIX, 'exif-gps.jpg');
    const upright = path.join(dir, 'upright.jpg');
    const raw = path.join(dir, 'raw-orientation.jpg');
    await sharp(src).rotate().jpeg({ quality: 95 }).toFile(upright);
    await sharp(src).jpeg({ quality: 95 }).toFile(raw); // pixels as stored, orientation tag dropped
    const h = await perceptualHash(src);
    expect(hammingDistance(h, await perceptualHash(upright))).toBeLessThanOrEqual(3);
    expect(hammingDistance(h, await perceptualHash(raw))).toBeGreaterThan(8);
    const thumb = path.join(dir, 'same-size-thumb.webp');
    await makeThumbnail(src, thumb, 512);
    expect(hammingDistance(h, await perceptualHash(thumb))).toBeLessThanOrEqual(4);
  });

  it('hammingDistance counts differing bits and refuses other formats', () => {
    expect(hammingDistance('dhash:0000000000000000', 'dhash:ffffffffffffffff')).toBe(64);
    expect(hammingDistance('dhash:0000000000000001', 'dhash:0000000000000003')).toBe(1);
    expect(() => hammingDistance('sha256:00', 'dhash:0000000000000000')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

describe('derivations running side by side', () => {
  // libvips has one error buffer per process; failure messages go into sealed manifests, so they
  // must not depend on what else was decoding at the time (a retried seal must match the first).
  it('give every failing image the same message whatever runs beside it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'exhibit-derive-par-'));
    try {
      const messages = new Map<string, Set<string>>();
      const note = (k: string, v: string) => messages.set(k, (messages.get(k) ?? new Set()).add(v));
      const settle = (p: Promise<unknown>) => p.then((v) => JSON.stringify(v), (e: unknown) => (e as Error).message);
      for (let round = 0; round < 30; round++) {
        await Promise.all(
          ['truncated.jpg', 'corrupt-exif.jpg', 'plain.png', 'exif-gps.jpg'].map(async (f, i) => {
            const src = path.join(FIX, f);
            // imageDimensions (read for every image's metadata facts) runs beside them: it must not touch the shared error buffer either.
            const [h, t] = await Promise.all([settle(perceptualHash(src)), settle(makeThumbnail(src, path.join(dir, `${round}-${i}.webp`), 64)), settle(imageDimensions(src))]);
            note(`${f} dhash`, h);
            note(`${f} thumbnail`, t);
          }),
        );
      }
      for (const [what, seen] of messages) expect([...seen], what).toHaveLength(1);
      expect([...messages.get('truncated.jpg dhash')!][0]).toMatch(/premature end of JPEG/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('images sharp cannot decode itself', () => {
  const REAL = path.join(FIX, 'real');
  const MADE = path.join(FIX, 'made');
  const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
  const heifVersion = /libheif version:\s*(\S+)/.exec(execFileSync('sh', ['-c', 'heif-convert -h 2>&1 || true'], { encoding: 'utf8' }))![1];
  const heifTool = `heif-convert (libheif ${heifVersion}) to PNG + ${SHARP_TOOL}`;

  it('sharp alone refuses HEVC-coded HEIC (why a decoder is needed at all)', async () => {
    await expect(sharp(path.join(REAL, 'apple-iphone-xs.heic')).png().toBuffer()).rejects.toThrow(/compression format has not been built in/);
  });

  it('a phone HEIC gets a thumbnail and dHash through libheif, the tool chain named and the original untouched', async () => {
    const src = path.join(REAL, 'apple-iphone-xs.heic');
    const before = sha(src);
    const raster = await openRaster(src);
    try {
      expect(raster.tool).toBe(heifTool);
      expect(raster.path).not.toBe(src);
      const dest = path.join(dir, 'iphone.webp');
      const t = await makeThumbnail(raster, dest, 64);
      // The primary image is 1025x900 (heif-info); the file holds a second, 932x1044 one.
      expect(t).toMatchObject({ tool: heifTool, width: 64, height: 56, format: 'webp' });
      expect(execFileSync('heif-info', [src], { encoding: 'utf8' })).toMatch(/image: 1025x900 \(id=\d+\), primary/);
      const meta = await sharp(dest).metadata();
      expect([meta.width, meta.height, meta.exif, meta.icc]).toEqual([64, 56, undefined, undefined]);
      expect(await perceptualHash(raster)).toMatch(/^dhash:[0-9a-f]{16}$/);
    } finally {
      await raster.dispose();
    }
    expect(existsSync(path.dirname(raster.path))).toBe(false);
    expect(sha(src)).toBe(before);
  });

  it('the same picture hashes alike as HEVC HEIF (through libheif) and as AV1 AVIF (sharp alone)', async () => {
    const heif = await openRaster(path.join(REAL, 'hopper-hevc.heif'));
    const avif = await openRaster(path.join(REAL, 'hopper-av1.avif'));
    try {
      expect(avif.tool).toBe(SHARP_TOOL);
      expect(heif.tool).toBe(heifTool);
      expect(hammingDistance(await perceptualHash(heif), await perceptualHash(avif))).toBeLessThanOrEqual(2);
    } finally {
      await heif.dispose();
      await avif.dispose();
    }
  });

  it('a HEIC with a truncated ICC profile still decodes (JPEG q100 intermediate, named) to the same picture', async () => {
    const damaged = await openRaster(path.join(MADE, 'iphone-xs-truncated-icc.heic'));
    const whole = await openRaster(path.join(REAL, 'apple-iphone-xs.heic'));
    try {
      expect(damaged.tool).toMatch(/^heif-convert \(libheif [^)]+\) to JPEG q100 \(PNG refused: .*profile.*\) \+ sharp /);
      expect(hammingDistance(await perceptualHash(damaged), await perceptualHash(whole))).toBeLessThanOrEqual(3);
    } finally {
      await damaged.dispose();
      await whole.dispose();
    }
  });

  it('files sharp reads itself are not copied', async () => {
    const src = path.join(FIX, 'exif-gps.jpg');
    const r = await openRaster(src);
    expect(r).toMatchObject({ path: src, tool: SHARP_TOOL, orient: true });
  });

  it('a missing decoder, a hung one and an unreadable format are errors with a reason, never a silent gap', async () => {
    const src = path.join(REAL, 'hopper-hevc.heif');
    await expect(openRaster(src, { heifConvertPath: path.join(dir, 'no-such-heif-convert') })).rejects.toMatchObject({
      name: 'PermanentError', code: 'CORRUPT_MEDIA', message: expect.stringMatching(/cannot decode hevc image with no-such-heif-convert \(unavailable: .*not installed\)/),
    });
    const bin = mkdtempSync(path.join(os.tmpdir(), 'exhibit-fake-heif-'));
    try {
      writeFileSync(path.join(bin, 'heif-convert'), '#!/bin/sh\nif [ "$1" = "-h" ]; then echo " heif-convert  libheif version: 9.9.9"; exit 0; fi\nexec sleep 10\n');
      writeFileSync(path.join(bin, 'heif-info'), '#!/bin/sh\necho "image: 64x64 (id=1), primary"\n');
      chmodSync(path.join(bin, 'heif-convert'), 0o755);
      chmodSync(path.join(bin, 'heif-info'), 0o755);
      expect(await heifConvertTool(path.join(bin, 'heif-convert'))).toBe('heif-convert (libheif 9.9.9)');
      await expect(openRaster(src, { heifConvertPath: path.join(bin, 'heif-convert'), timeoutMs: 300 })).rejects.toMatchObject({ code: 'CORRUPT_MEDIA', message: expect.stringMatching(/timed out after 300 ms/) });
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
    const junk = path.join(dir, 'unknown.bin');
    writeFileSync(junk, Buffer.from('BM this is not really a bitmap at all'));
    await expect(openRaster(junk)).rejects.toMatchObject({ code: 'CORRUPT_MEDIA', message: expect.stringMatching(/unsupported image format/) });
  });

  it('the pixel limit holds before any outside decoder runs', async () => {
    await expect(openRaster(path.join(REAL, 'apple-iphone-xs.heic'), { maxInputPixels: 1000, heifConvertPath: path.join(dir, 'never-run') })).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });
});
