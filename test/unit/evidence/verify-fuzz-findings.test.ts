/** Counterexamples the fuzz tests (test/unit/fuzz/verify.fuzz.test.ts) found, kept as plain tests. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyPackage } from '../../../evidence/package/verify.js';

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
    const r = await verifyPackage(bag);
    expect(r.ok).toBe(false);
    expect(r.failures).toContainEqual(expect.objectContaining({ item: 'tagmanifest-sha256.txt', check: 'tagmanifest', message: expect.stringContaining(right) }));
  });

  it('fails on a tag manifest with a line simply repeated (found by fuzzing)', async () => {
    const bag = unzippedSeed('dup-same');
    const tm = path.join(bag, 'tagmanifest-sha256.txt');
    const [first, ...rest] = readFileSync(tm, 'utf8').split('\n');
    writeFileSync(tm, [first, first, ...rest].join('\n'));
    const r = await verifyPackage(bag);
    expect(r.ok).toBe(false);
    expect(r.failures.map((f) => `${f.item} ${f.check}`)).toEqual(['tagmanifest-sha256.txt tagmanifest']);
  });

  it('the untouched seed package passes these checks', async () => {
    const r = await verifyPackage(unzippedSeed('pristine'));
    expect(r.failures.filter((f) => /manifest/.test(f.check))).toEqual([]);
  });
});
