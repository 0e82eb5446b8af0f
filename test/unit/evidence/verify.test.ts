import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { PackageReport } from '../../../schemas/custody.js';

const run = promisify(execFile);
const PY = process.env.EXHIBIT_PYTHON ?? 'python3';

/** Write a zip with arbitrary entry names using Python's zipfile (our own zip writer refuses them). */
async function rawZip(out: string, entries: Array<[string, string]>): Promise<void> {
  const script = `import sys, zipfile, json\nz = zipfile.ZipFile(sys.argv[1], 'w')\nfor n, d in json.loads(sys.argv[2]): z.writestr(n, d)\nz.close()`;
  await run(PY, ['-c', script, out, JSON.stringify(entries)]);
}

describe('verifyPackage: refusing bad input (no package needed)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-verify-unit-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('a missing path fails with a report, not an exception', async () => {
    const r = await verifyPackage(path.join(dir, 'nope.zip'));
    expect(PackageReport.parse(r).ok).toBe(false);
    expect(r.failures[0]).toMatchObject({ check: 'exists', message: 'no such file or directory' });
  });

  it('a directory without bagit.txt', async () => {
    await mkdir(path.join(dir, 'data'));
    const r = await verifyPackage(dir);
    expect(r.ok).toBe(false);
    expect(r.failures[0]).toMatchObject({ item: 'bagit.txt', check: 'bag' });
  });

  it('zip-slip entries are refused before anything is written', async () => {
    const z = path.join(dir, 'slip.zip');
    await rawZip(z, [['bag/bagit.txt', 'BagIt-Version: 1.0\n'], ['bag/../../../tmp/evil.txt', 'x']]);
    const r = await verifyPackage(z);
    expect(r.ok).toBe(false);
    expect(r.failures[0]).toMatchObject({ item: z, check: 'zip', message: expect.stringMatching(/refusing the zip: .*(unsafe path|invalid relative path)/) });
  });

  it('absolute paths in a zip are refused', async () => {
    const z = path.join(dir, 'abs.zip');
    await rawZip(z, [['/etc/evil', 'x']]);
    const r = await verifyPackage(z);
    expect(r.failures[0]!.message).toMatch(/refusing the zip/);
  });

  it('absurd sizes are refused', async () => {
    const z = path.join(dir, 'big.zip');
    await rawZip(z, [['bag/bagit.txt', 'x'.repeat(5000)]]);
    const r = await verifyPackage(z, { maxTotalBytes: 1000 });
    expect(r.failures[0]!.message).toMatch(/expands to more than 1000 bytes/);
    const r2 = await verifyPackage(z, { maxEntries: 0 });
    expect(r2.failures[0]!.message).toMatch(/has 1 entries \(limit 0\)/);
  });

  it('a bag with a bad bagit.txt and no manifests names each missing part', async () => {
    await writeFile(path.join(dir, 'bagit.txt'), 'BagIt-Version: 0.97\n');
    await mkdir(path.join(dir, 'data'));
    await writeFile(path.join(dir, 'data', 'x.txt'), 'x');
    const r = await verifyPackage(dir);
    const items = r.failures.map((f) => `${f.item}:${f.check}`);
    expect(items).toEqual(expect.arrayContaining(['bagit.txt:bagit', 'manifest-sha256.txt:manifest', 'manifest-sha512.txt:manifest', 'bag-info.txt:bag-info', 'tagmanifest-sha256.txt:tagmanifest', 'data/custody/events.jsonl:custody']));
  });
});

/** A zip written by Python: entries [name, text or {size, seed}, deflate?]; returns the bytes of each entry. */
async function pyZip(out: string, entries: Array<{ name: string; data: Buffer; deflate?: boolean }>): Promise<void> {
  const dir = path.dirname(out);
  const files: Array<[string, string, boolean]> = [];
  for (const [i, e] of entries.entries()) {
    const f = path.join(dir, `entry-${i}.bin`);
    await writeFile(f, e.data);
    files.push([e.name, f, !!e.deflate]);
  }
  const script = `import sys, zipfile, json, warnings\nwarnings.simplefilter('ignore')\nz = zipfile.ZipFile(sys.argv[1], 'w')\nfor n, f, d in json.loads(sys.argv[2]):\n  z.writestr(n, open(f, 'rb').read(), compress_type=zipfile.ZIP_DEFLATED if d else zipfile.ZIP_STORED)\nz.close()`;
  await run(PY, ['-c', script, out, JSON.stringify(files)]);
}

const sha256hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('verifyPackage reads zips in place: CRC-32, sizes and hostile entries', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-verify-zip-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** A minimal bag (not a valid Exhibit package) with one payload file listed in manifest-sha256.txt. */
  const bagEntries = (payload: Buffer, deflate = false) => [
    { name: 'bag/bagit.txt', data: Buffer.from('BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n') },
    { name: 'bag/manifest-sha256.txt', data: Buffer.from(`${sha256hex(payload)}  data/clip.bin\n`) },
    { name: 'bag/data/clip.bin', data: payload, deflate },
  ];
  const checksOn = (r: Awaited<ReturnType<typeof verifyPackage>>, item: string) => r.checks.filter((c) => c.item === item).map((c) => `${c.check}:${c.ok}`);

  // Small entries are kept from the one pass; large ones are hashed straight from the zip file.
  for (const size of [5000, 17 * 1024 * 1024 + 3]) {
    it(`${size}-byte stored entry: digests from the zip, and a flipped byte is a CRC-32 failure naming the entry`, async () => {
      const payload = randomBytes(size);
      const z = path.join(dir, 'p.zip');
      await pyZip(z, bagEntries(payload));
      const good = await verifyPackage(z);
      expect(good.checks.find((c) => c.check === 'zip')).toMatchObject({ ok: true });
      expect(checksOn(good, 'data/clip.bin')).toEqual(['payload-sha256:true']);

      const bytes = await readFile(z);
      const at = bytes.indexOf(payload.subarray(1000, 1064));
      expect(at).toBeGreaterThan(0);
      bytes[at + 10] = bytes[at + 10]! ^ 0x01;
      await writeFile(z, bytes);
      const bad = await verifyPackage(z);
      expect(bad.ok).toBe(false);
      expect(bad.failures).toEqual(expect.arrayContaining([expect.objectContaining({ item: 'data/clip.bin', check: 'zip-crc32', message: expect.stringMatching(/CRC-32/) })]));
      expect(bad.failures).toEqual(expect.arrayContaining([expect.objectContaining({ item: 'data/clip.bin', check: 'payload-sha256', message: expect.stringMatching(/sha256 mismatch/) })]));
    });
  }

  it('deflated entries are inflated, size-checked and CRC-checked like stored ones', async () => {
    const payload = Buffer.from('evidence '.repeat(50_000));
    const z = path.join(dir, 'd.zip');
    await pyZip(z, bagEntries(payload, true));
    const r = await verifyPackage(z);
    expect(r.checks.find((c) => c.check === 'zip')).toMatchObject({ ok: true });
    expect(r.failures.some((f) => f.check === 'zip-crc32')).toBe(false);
    expect(checksOn(r, 'data/clip.bin')).toContain('payload-sha256:true');
  });

  it('a zip whose stored sizes lie is refused', async () => {
    const payload = randomBytes(4096);
    const z = path.join(dir, 's.zip');
    await pyZip(z, bagEntries(payload));
    const bytes = await readFile(z);
    // Central directory entry of data/clip.bin: uncompressed size at +24 (little endian).
    const cd = bytes.lastIndexOf(Buffer.concat([Buffer.from([0x50, 0x4b, 0x01, 0x02])]), bytes.indexOf(Buffer.from('bag/data/clip.bin'), bytes.length - 400) - 46);
    expect(cd).toBeGreaterThan(0);
    bytes.writeUInt32LE(4000, cd + 24);
    await writeFile(z, bytes);
    const r = await verifyPackage(z);
    expect(r.failures[0]).toMatchObject({ check: 'zip', message: expect.stringMatching(/refusing the zip: .*(size mismatch|claims 4096 bytes).*4000/) });
  });

  it('duplicate names, and a name that is both a file and a folder, are refused', async () => {
    const z1 = path.join(dir, 'dup.zip');
    await pyZip(z1, [...bagEntries(Buffer.from('a')), { name: 'bag/data/clip.bin', data: Buffer.from('b') }]);
    expect((await verifyPackage(z1)).failures[0]).toMatchObject({ check: 'zip', message: expect.stringMatching(/duplicate entry in zip: bag\/data\/clip\.bin/) });
    const z2 = path.join(dir, 'filedir.zip');
    await pyZip(z2, [...bagEntries(Buffer.from('a')), { name: 'bag/data/clip.bin/inner.txt', data: Buffer.from('b') }]);
    expect((await verifyPackage(z2)).failures[0]).toMatchObject({ check: 'zip', message: expect.stringMatching(/inside bag\/data\/clip\.bin, which is a file/) });
  });
});

describe('verifyPackage: entries not kept in memory are read again from the zip', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-verify-reread-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('gives the same checks with nothing retained as with everything retained', async () => {
    const payload = randomBytes(3000);
    const z = path.join(dir, 'r.zip');
    await pyZip(z, [
      { name: 'bag/bagit.txt', data: Buffer.from('BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n') },
      { name: 'bag/manifest-sha256.txt', data: Buffer.from(`${sha256hex(payload)}  data/clip.bin\n`), deflate: true },
      { name: 'bag/data/clip.bin', data: payload },
    ]);
    const kept = await verifyPackage(z);
    const reread = await verifyPackage(z, { retainEntryBytes: 0 });
    expect(reread.checks).toEqual(kept.checks);
    expect(reread.checks.find((c) => c.item === 'bagit.txt' && c.check === 'bagit')).toMatchObject({ ok: true });
    expect(reread.checks.find((c) => c.item === 'data/clip.bin')).toMatchObject({ check: 'payload-sha256', ok: true });
  });
});
