import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyPackage } from '../../../evidence/verify.js';
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
