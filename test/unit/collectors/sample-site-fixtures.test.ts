import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import exifr from 'exifr';
import { describe, expect, it } from 'vitest';
import { SAMPLE_PHOTOS, SAMPLE_POST_MEDIA, sampleSiteFile } from '../../fixtures/sample-site/server.js';

/** The sample site's media are ground truth for the capture and sealing tests: check them against their README. */
describe('sample site fixtures', () => {
  it('match SHA256SUMS', () => {
    const sums = readFileSync(path.join(sampleSiteFile(''), '..', 'SHA256SUMS'), 'utf8').trim().split('\n');
    expect(sums).toHaveLength(SAMPLE_POST_MEDIA.length);
    for (const line of sums) {
      const [hex, name] = line.split(/\s+/);
      expect(createHash('sha256').update(readFileSync(sampleSiteFile(`media/${name}`))).digest('hex'), name).toBe(hex);
    }
  });

  it.each(Object.entries(SAMPLE_PHOTOS))('%s carries the GPS, camera and orientation the README states', async (name, want) => {
    const exif = await exifr.parse(sampleSiteFile(`media/${name}`), { gps: true, tiff: true, exif: true, translateValues: false, reviveValues: false });
    expect(exif.latitude).toBeCloseTo(want.latitude, 4);
    expect(exif.longitude).toBeCloseTo(want.longitude, 4);
    expect(exif.Make).toBe(want.make);
    expect(exif.Model).toBe(want.model);
    expect(exif.DateTimeOriginal).toBe(want.dateTimeOriginal);
    expect(exif.Orientation).toBe(want.orientation);
  });

  it('keeps the Arabic text of the post free of markup the DOM serialiser would rewrite', () => {
    const html = readFileSync(sampleSiteFile('post/1.html'), 'utf8');
    const arabic = /<p[^>]*id="post-text-ar"[^>]*>([^<]+)<\/p>/.exec(html)?.[1] ?? '';
    expect(arabic).toMatch(/^[\u0600-\u06ff]/);
    expect(arabic).not.toMatch(/[&<>\u00a0]/);
    expect(readFileSync(path.join(sampleSiteFile(''), '..', 'README.md'), 'utf8')).toContain(arabic);
  });

  it('stays small', () => {
    const total = SAMPLE_POST_MEDIA.reduce((n, m) => n + statSync(sampleSiteFile(m)).size, 0);
    expect(total).toBeLessThan(2 * 1024 * 1024);
  });
});
