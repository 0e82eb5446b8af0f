import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { PackageReport } from '../../../schemas/custody.js';
import { applyMutations, fuzzParams, fuzzTimeout, mutations } from '../../support/fuzz.js';

/** A real certified package (test/fixtures/packages/make-package.ts): one sealed capture, custody log, tokens, package seal. */
const SEED_ZIP = path.resolve('test/fixtures/packages/small.zip');
/** Its signing key and TSA CA, pinned as the deployment that made it would: without them no package is `verified`. */
const PINS = JSON.parse(readFileSync(path.resolve('test/fixtures/packages/small.pins.json'), 'utf8')) as { signingKeys: string[]; trustAnchors: string[] };
const seed = readFileSync(SEED_ZIP);
const work = mkdtempSync(path.join(os.tmpdir(), 'exhibit-fuzz-verify-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What every report must be, whatever the input: a valid report, failures named and explained, bounded. */
function expectClearReport(report: PackageReport, inputBytes: number): void {
  PackageReport.parse(report);
  expect(report.failures).toEqual(report.checks.filter((c) => !c.ok));
  // Bounded: a check per file, digest, signature and event at most, never one per byte.
  expect(report.checks.length).toBeLessThan(2000);
  expect(JSON.stringify(report).length).toBeLessThan(Math.max(200_000, inputBytes * 20));
  for (const f of report.failures) {
    expect(f.item.trim(), JSON.stringify(f)).not.toBe('');
    expect(f.check.trim(), JSON.stringify(f)).not.toBe('');
    expect(f.message.trim().length, JSON.stringify(f)).toBeGreaterThan(5);
    expect(f.message.length, JSON.stringify(f)).toBeLessThan(5000);
  }
}

let n = 0;
const file = (bytes: Buffer): string => {
  const p = path.join(work, `in-${++n}.zip`);
  writeFileSync(p, bytes);
  return p;
};

describe('fuzz: verifyPackage on damaged zips', () => {
  it('the seed package reads completely (the mutations start from a package verify gets all the way through)', async () => {
    const r = await verifyPackage(SEED_ZIP, PINS);
    expectClearReport(r, seed.length);
    expect(r.checks.length).toBeGreaterThan(30);
    expect(r.captureIds).toHaveLength(1);
    expect(r.failures).toEqual([]);
    expect(r.verdict).toBe('verified');
    expect(r.ok).toBe(true);
    // The same bytes with nothing pinned: consistent, but nobody vouches for the key or the TSA.
    const unpinned = await verifyPackage(SEED_ZIP);
    expect(unpinned.failures).toEqual([]);
    expect(unpinned.verdict).toBe('unauthenticated');
    expect(unpinned.ok).toBe(false);
  });

  it(
    'a mutated package (flipped bits, inserted, deleted, duplicated bytes, truncation) never throws; every failure names its item and says what is wrong',
    async () => {
      const baseline = await verifyPackage(SEED_ZIP, PINS);
      expect(baseline.verdict).toBe('verified');
      await fc.assert(
        fc.asyncProperty(mutations(3), async (ms) => {
          const bytes = applyMutations(seed, ms);
          const p = file(bytes);
          const r = await verifyPackage(p, PINS);
          expectClearReport(r, bytes.length);
          expect(r.ok).toBe(r.verdict === 'verified');
          expect(r.verdict === 'failed').toBe(r.failures.length > 0);
          // Some bytes of a zip carry nothing (a local header's "version needed", timestamps): such a
          // package still verifies, and then it is the same evidence, check for check, still
          // authenticated by the same pins (damage never turns into a mere "unauthenticated").
          if (r.verdict !== 'failed') {
            expect(r.verdict).toBe('verified');
            expect(r.captureIds).toEqual(baseline.captureIds);
            const named = (rep: PackageReport) => rep.checks.map((c) => `${c.item === rep.source ? '(the zip)' : c.item} ${c.check}`);
            expect(named(r)).toEqual(named(baseline));
          }
          rmSync(p);
        }),
        fuzzParams(25, 10),
      );
    },
    fuzzTimeout(30, 400, 10),
  );

  it(
    'arbitrary bytes, and a zip header with garbage, are refused as a zip with a reason',
    async () => {
      const zipHead = Buffer.from('504b0304', 'hex');
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 4096 }), fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.concat([zipHead, b]))), async (raw) => {
          const bytes = Buffer.from(raw);
          const p = file(bytes);
          const r = await verifyPackage(p, PINS);
          expectClearReport(r, bytes.length);
          expect(r.verdict).toBe('failed');
          expect(r.ok).toBe(false);
          expect(r.failures.some((f) => (f.check === 'zip' && /^refusing the zip: /.test(f.message)) || f.check === 'bag')).toBe(true);
          rmSync(p);
        }),
        fuzzParams(60, 2),
      );
    },
    fuzzTimeout(60, 50, 2),
  );
});

describe('fuzz: the bag parsers (bagit.txt, bag-info.txt, manifests, tag manifests) on an unzipped package', () => {
  const pristine = path.join(work, 'pristine');
  execFileSync('unzip', ['-q', SEED_ZIP, '-d', pristine]);
  const bagDir = path.join(pristine, 'small');
  const TAG_FILES = ['bagit.txt', 'bag-info.txt', 'manifest-sha256.txt', 'manifest-sha512.txt', 'tagmanifest-sha256.txt', 'tagmanifest-sha512.txt', 'package-seal.json'] as const;
  const original = Object.fromEntries(TAG_FILES.map((f) => [f, readFileSync(path.join(bagDir, f), 'utf8')])) as Record<(typeof TAG_FILES)[number], string>;

  /** Line-level edits of a tag file: lines dropped, duplicated, swapped, replaced with hostile ones, CRLF, BOM. */
  const hostileLine = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 120 }),
    fc.constantFrom('', ' ', ':', 'Key:', ': value', '\tcontinued', ' continued', `${'0'.repeat(64)}  data/../../etc/passwd`, `${'a'.repeat(64)} *data/x%0Ay`, `${'f'.repeat(64)}  /abs`, `${'g'.repeat(64)}  data/x`, 'Payload-Oxum: 999999999999999999999.1', 'Payload-Oxum: -1.-1', 'BagIt-Version: 99.0', 'Tag-File-Character-Encoding: EBCDIC', '\uFEFFBagIt-Version: 1.0', 'x'.repeat(5000)),
  );
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('dup' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
    fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), line: hostileLine }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), line: hostileLine }),
    fc.record({ kind: fc.constant('crlf' as const) }),
  );
  const applyEdit = (text: string, e: { kind: string; at?: number; with?: number; line?: string }): string => {
    const lines = text.split('\n');
    const at = (e.at ?? 0) % Math.max(1, lines.length);
    switch (e.kind) {
      case 'drop':
        lines.splice(at, 1);
        break;
      case 'dup':
        lines.splice(at, 0, lines[at] ?? '');
        break;
      case 'swap': {
        const b = (e.with ?? 0) % Math.max(1, lines.length);
        [lines[at], lines[b]] = [lines[b] ?? '', lines[at] ?? ''];
        break;
      }
      case 'replace':
        lines[at] = e.line ?? '';
        break;
      case 'insert':
        lines.splice(at, 0, e.line ?? '');
        break;
      case 'crlf':
        return lines.join('\r\n');
    }
    return lines.join('\n');
  };

  it(
    'any edit of a tag file is reported (never a pass), without an exception, naming a file',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...TAG_FILES), fc.array(edit, { minLength: 1, maxLength: 4 }), async (name, edits) => {
          const text = edits.reduce(applyEdit, original[name]);
          // Tag manifests are covered by no digest: their line order and blank lines (a missing final
          // newline) mean nothing. Every other tag file is listed in the tag manifests: any byte counts.
          const meaning = (t: string) => (name.startsWith('tagmanifest') ? t.split('\n').filter((l) => l.trim() !== '').sort().join('\n') : t);
          fc.pre(meaning(text) !== meaning(original[name]));
          const dir = path.join(work, `bag-${++n}`);
          cpSync(bagDir, dir, { recursive: true });
          writeFileSync(path.join(dir, name), text);
          try {
            // Pinned, so that "not ok" cannot be the mere absence of pins: the edit itself must fail it.
            const r = await verifyPackage(dir, PINS);
            expectClearReport(r, text.length);
            expect(r.verdict, `${name} edited:\n${text.slice(0, 400)}`).toBe('failed');
            expect(r.ok).toBe(false);
            // The edited file, or an entry it lists, is what a failure names.
            expect(r.failures.length).toBeGreaterThan(0);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }),
        fuzzParams(25, 10),
      );
    },
    fuzzTimeout(30, 400, 10),
  );
});
