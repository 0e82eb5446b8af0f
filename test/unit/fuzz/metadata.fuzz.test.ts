import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { extractImageMetadata, gpsPosition } from '../../../evidence/metadata.js';
import { applyMutations, fuzzParams, fuzzTimeout, mutations } from '../../support/fuzz.js';

const IMAGES = path.resolve('test/fixtures/images');
/** Real JPEGs and PNGs with EXIF, GPS, XMP, ICC (and two damaged ones), small enough to mutate quickly. */
const seeds = readdirSync(IMAGES)
  .filter((f) => /\.(jpe?g|png)$/i.test(f) && statSync(path.join(IMAGES, f)).size < 256 * 1024)
  .map((f) => ({ name: f, bytes: readFileSync(path.join(IMAGES, f)) }));
const work = mkdtempSync(path.join(os.tmpdir(), 'exhibit-fuzz-meta-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

describe('fuzz: image metadata extraction on damaged JPEG and PNG files', () => {
  it('has seeds', () => {
    expect(seeds.map((s) => s.name)).toEqual(expect.arrayContaining(['exif-gps.jpg', 'plain.png']));
  });

  it(
    'never throws; ok results are plain, bounded JSON; failures say why without the host path',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...seeds), mutations(4), async (seed, ms) => {
          const bytes = applyMutations(seed.bytes, ms);
          const file = path.join(work, `m-${++n}-${seed.name}`);
          writeFileSync(file, bytes);
          const r = await extractImageMetadata(file);
          rmSync(file);
          expect(r.tool).toMatch(/^exifr \d/);
          if (!r.ok) {
            expect(r.error.trim().length).toBeGreaterThan(0);
            expect(r.error.length).toBeLessThan(2000);
            expect(r.error).not.toContain(work);
            return;
          }
          const json = JSON.stringify(r.data);
          // Plain JSON: no Dates, Buffers, NaN or undefined that would change on a round trip.
          expect(JSON.parse(json)).toEqual(r.data);
          // Bounded: never more than a small multiple of the file (byte arrays are summarised).
          expect(json.length).toBeLessThan(64 * 1024 + bytes.length * 8);
          // GPS out of range is a known bug (see the `it.fails` below), not asserted here.
          const gps = gpsPosition(r.data);
          if (gps) expect(Number.isFinite(gps.latitude) && Number.isFinite(gps.longitude)).toBe(true);
        }),
        fuzzParams(150, 2),
      );
    },
    fuzzTimeout(150, 30, 2),
  );

  // Found by this fuzz test; not fixed here (evidence/metadata.ts's GPS handling is being reworked):
  // one damaged byte in a GPS rational gives a "position" thousands of degrees off, which the
  // metadata API hands out as `gps`. When this starts passing, drop `.fails`.
  it.fails('a damaged GPS latitude (one byte of exif-south-west.jpg) is not presented as a position', async () => {
    const bytes = Buffer.from(readFileSync(path.join(IMAGES, 'exif-south-west.jpg')));
    bytes[338] = 0xff;
    const file = path.join(work, 'gps-338.jpg');
    writeFileSync(file, bytes);
    const r = await extractImageMetadata(file);
    expect(r.ok).toBe(true);
    const gps = r.ok ? gpsPosition(r.data) : null;
    expect(gps === null || Math.abs(gps.latitude) <= 90).toBe(true);
  });
});
