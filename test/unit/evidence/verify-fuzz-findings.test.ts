/** Counterexamples the fuzz tests (test/unit/fuzz/verify.fuzz.test.ts) found, kept as plain tests. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyPackage } from '../../../evidence/package/verify.js';

/** The seed's signing key and TSA CA (test/fixtures/packages/make-package.ts), pinned: the seed itself is `verified`. */
const PINS = JSON.parse(readFileSync(path.resolve('test/fixtures/packages/small.pins.json'), 'utf8')) as { signingKeys: string[]; trustAnchors: string[] };
const work = mkdtempSync(path.join(os.tmpdir(), 'exhibit-verify-found-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function unzippedSeed(name: string): string {
  const dir = path.join(work, name);
  execFileSync('unzip', ['-q', path.resolve('test/fixtures/packages/small.zip'), '-d', dir]);
  return path.join(dir, 'small');
}

describe('verify: a manifest that lists a path twice', () => {
  it('fails on a tag manifest listing bag-info.txt twice, a wrong digest hidden by a later right one', async () => {
    const bag = unzippedSeed('dup-wrong');
    const tm = path.join(bag, 'tagmanifest-sha256.txt');
    const right = readFileSync(tm, 'utf8').split('\n').find((l) => l.endsWith('  bag-info.txt'))!;
    writeFileSync(tm, `${'0'.repeat(64)}  bag-info.txt\n${readFileSync(tm, 'utf8')}`);
    const r = await verifyPackage(bag, PINS);
    expect(r.verdict).toBe('failed');
    expect(r.ok).toBe(false);
    expect(r.failures).toContainEqual(expect.objectContaining({ item: 'tagmanifest-sha256.txt', check: 'tagmanifest', message: expect.stringContaining(right) }));
  });

  it('fails on a tag manifest with a line simply repeated (found by fuzzing)', async () => {
    const bag = unzippedSeed('dup-same');
    const tm = path.join(bag, 'tagmanifest-sha256.txt');
    const [first, ...rest] = readFileSync(tm, 'utf8').split('\n');
    writeFileSync(tm, [first, first, ...rest].join('\n'));
    const r = await verifyPackage(bag, PINS);
    expect(r.verdict).toBe('failed');
    expect(r.ok).toBe(false);
    expect(r.failures.map((f) => `${f.item} ${f.check}`)).toEqual(['tagmanifest-sha256.txt tagmanifest']);
  });

  it('the untouched seed package verifies, with no failure at all', async () => {
    const r = await verifyPackage(unzippedSeed('pristine'), PINS);
    expect(r.failures).toEqual([]);
    expect(r.verdict).toBe('verified');
    expect(r.ok).toBe(true);
  });
});

describe('verify: a tag manifest that no longer lists the package seal (found by fuzzing)', () => {
  for (const [tm, sealFile] of [['tagmanifest-sha512.txt', 'package-seal.json'], ['tagmanifest-sha256.txt', 'package-seal.sig']] as const) {
    it(`fails when ${tm} drops its ${sealFile} line (the seal's own signature still holds)`, async () => {
      const bag = unzippedSeed(`unlisted-${tm}`);
      const p = path.join(bag, tm);
      const lines = readFileSync(p, 'utf8').split('\n');
      const kept = lines.filter((l) => !l.endsWith(`  ${sealFile}`));
      expect(kept).toHaveLength(lines.length - 1);
      writeFileSync(p, kept.join('\n'));
      const r = await verifyPackage(bag, PINS);
      expect(r.verdict).toBe('failed');
      expect(r.failures).toEqual([expect.objectContaining({ item: sealFile, check: `tag-${tm.slice(12, 18)}`, message: `not listed in ${tm}` })]);
    });
  }
});

describe('verify: a zip whose local header names an entry differently (found by fuzzing)', () => {
  it('refuses it with a bounded message, however long the name the local header claims', async () => {
    const zip = Buffer.from(readFileSync(path.resolve('test/fixtures/packages/small.zip')));
    expect(zip.readUInt32LE(0)).toBe(0x04034b50);
    // The first local header's name length (offset 26) grows to ~32 KB: the "name" runs on into the entry's data.
    zip[27] = 0x7f;
    const p = path.join(work, 'long-local-name.zip');
    writeFileSync(p, zip);
    const r = await verifyPackage(p, PINS);
    expect(r.verdict).toBe('failed');
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatchObject({ check: 'zip', message: expect.stringMatching(/^refusing the zip: zip entry .* in its local header: the zip is ambiguous$/s) });
    expect(r.failures[0]!.message.length).toBeLessThan(1000);
  });
});
