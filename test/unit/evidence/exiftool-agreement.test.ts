import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractImageMetadata } from '../../../evidence/metadata.js';

/**
 * Every image in the fixture corpus, read by us and by exiftool (an independent implementation):
 * the core facts must agree. exiftool runs once with -n (numbers: orientation, decimal GPS, sizes)
 * and once without (the date strings as the file states them).
 */
const ROOT = path.resolve('test/fixtures/images');
const IMAGE = /\.(jpe?g|png|webp|avif|heic|heif|tiff?)$/i;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name)) : IMAGE.test(d.name) ? [path.join(dir, d.name)] : []));
}
const FILES = walk(ROOT).sort();

type Tags = Record<string, unknown>;
function exiftool(args: string[]): Map<string, Tags> {
  const out = JSON.parse(execFileSync('exiftool', ['-j', '-G1', ...args, ...FILES], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as Tags[];
  return new Map(out.map((t) => [path.resolve(String(t.SourceFile)), t]));
}
const numeric = exiftool(['-n']);
const asStated = exiftool([]);

/** What exiftool says, reduced to the fields we compare. EXIF values only: XMP is compared apart. */
function theirs(file: string) {
  const n = numeric.get(file)!;
  const s = asStated.get(file)!;
  const size = typeof n['Composite:ImageSize'] === 'string' ? (n['Composite:ImageSize'] as string).split(' ').map(Number) : null;
  const str = (v: unknown): string | null => (v === undefined ? null : String(v));
  return {
    make: str(n['IFD0:Make']),
    model: str(n['IFD0:Model']),
    dateTimeOriginal: str(s['ExifIFD:DateTimeOriginal']),
    orientation: (n['IFD0:Orientation'] as number | undefined) ?? null,
    gps:
      typeof n['Composite:GPSLatitude'] === 'number' && typeof n['Composite:GPSLongitude'] === 'number'
        ? { source: 'exif', latitude: n['Composite:GPSLatitude'] as number, longitude: n['Composite:GPSLongitude'] as number }
        : typeof n['XMP-exif:GPSLatitude'] === 'number' && typeof n['XMP-exif:GPSLongitude'] === 'number'
          ? { source: 'xmp', latitude: n['XMP-exif:GPSLatitude'] as number, longitude: n['XMP-exif:GPSLongitude'] as number }
          : null,
    dimensions: size ? { width: size[0], height: size[1] } : null,
  };
}

describe('agreement with exiftool over the fixture corpus', () => {
  it('the corpus covers many makers and every kind of file', async () => {
    const makes = new Set(FILES.map((f) => theirs(f).make).filter(Boolean));
    expect(makes.size).toBeGreaterThanOrEqual(8);
    const kinds = new Set(FILES.map((f) => path.extname(f).toLowerCase()));
    for (const k of ['.jpg', '.png', '.webp', '.avif', '.heic', '.heif', '.tiff']) expect(kinds, k).toContain(k);
    expect(FILES.filter((f) => theirs(f).gps?.source === 'exif').length).toBeGreaterThanOrEqual(5);
    expect(FILES.some((f) => theirs(f).gps?.source === 'xmp')).toBe(true);
  });

  it.each(FILES.map((f) => [path.relative(ROOT, f), f]))('%s', async (_name, file) => {
    const want = theirs(file);
    const r = await extractImageMetadata(file);
    expect(r.ok, r.ok ? '' : r.error).toBe(true);
    if (!r.ok) return;
    const f = r.facts;
    expect(f.make).toBe(want.make);
    expect(f.model).toBe(want.model);
    expect(f.dates.DateTimeOriginal?.stated ?? null).toBe(want.dateTimeOriginal);
    expect(f.orientation?.value ?? null).toBe(want.orientation);
    if (want.gps) {
      expect(f.gps?.source).toBe(want.gps.source);
      expect(f.gps?.decimal?.latitude).toBeCloseTo(want.gps.latitude, 6);
      expect(f.gps?.decimal?.longitude).toBeCloseTo(want.gps.longitude, 6);
    } else {
      expect(f.gps?.decimal ?? null).toBeNull();
    }
    expect(f.dimensions && { width: f.dimensions.width, height: f.dimensions.height }).toEqual(want.dimensions);
  });
});
