/**
 * Tamper suite: each test changes one thing in an unzipped copy of a real package and asserts that
 * verify fails AND names the tampered item. Where a test says "re-bagged", the BagIt manifests,
 * Payload-Oxum and tag manifests are recomputed after the change, so only the deeper check
 * (signature, timestamp, custody chain) can catch it.
 */
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keyFingerprint } from '../../../evidence/keys.js';
import type { BuiltPackage } from '../../../evidence/package/build.js';
import { verifyPackage } from '../../../evidence/package/verify.js';
import type { PackageReport } from '../../../schemas/custody.js';
import { startEvidenceEnv, type EvidenceEnv } from '../../support/evidence-env.js';
import type { SealedCapture } from '../../support/sealed-capture.js';

const run = promisify(execFile);

async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const out: string[] = [];
  for (const d of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...(await listFiles(dir, p)));
    else out.push(p);
  }
  return out;
}

/** Recompute the BagIt manifests, Payload-Oxum and tag manifests of `bag`, as a forger would. */
async function rebag(bag: string): Promise<void> {
  const files = (await listFiles(bag)).filter((f) => f.startsWith('data/')).sort();
  let bytes = 0;
  const lines: Record<'sha256' | 'sha512', string[]> = { sha256: [], sha512: [] };
  for (const f of files) {
    const b = await readFile(path.join(bag, f));
    bytes += b.length;
    for (const alg of ['sha256', 'sha512'] as const) lines[alg].push(`${createHash(alg).update(b).digest('hex')}  ${f}\n`);
  }
  for (const alg of ['sha256', 'sha512'] as const) await writeFile(path.join(bag, `manifest-${alg}.txt`), lines[alg].join(''));
  const info = await readFile(path.join(bag, 'bag-info.txt'), 'utf8');
  await writeFile(path.join(bag, 'bag-info.txt'), info.replace(/^Payload-Oxum: .*$/m, `Payload-Oxum: ${bytes}.${files.length}`));
  for (const alg of ['sha256', 'sha512'] as const) {
    const tag = [];
    for (const f of ['bagit.txt', 'bag-info.txt', 'manifest-sha256.txt', 'manifest-sha512.txt']) tag.push(`${createHash(alg).update(await readFile(path.join(bag, f))).digest('hex')}  ${f}\n`);
    await writeFile(path.join(bag, `tagmanifest-${alg}.txt`), tag.join(''));
  }
}

function expectFailureOn(report: PackageReport, item: string | RegExp, message?: RegExp): void {
  expect(report.ok).toBe(false);
  const hit = report.failures.filter((f) => (typeof item === 'string' ? f.item === item : item.test(f.item)) && (!message || message.test(f.message)));
  if (hit.length === 0) throw new Error(`no failure on ${String(item)}${message ? ` matching ${message}` : ''}; failures: ${JSON.stringify(report.failures, null, 1)}`);
}

describe('tamper suite: verify fails and names the tampered item', () => {
  let env: EvidenceEnv;
  let pkg: BuiltPackage;
  let caps: SealedCapture[];
  let pristine: string;
  let work: string[] = [];
  const caseId = 'C-TAMPER-1';

  beforeAll(async () => {
    env = await startEvidenceEnv(inject('redisUrl'), { pdf: false });
    caps = [await env.seal(caseId), await env.seal(caseId)];
    // A package, then more activity, a second package: the bag has two signed heads.
    await env.pack(caseId);
    pkg = await env.pack(caseId, { name: 'tamper' });
    pristine = await mkdtemp(path.join(os.tmpdir(), 'exhibit-tamper-'));
    await run('unzip', ['-q', pkg.path, '-d', pristine]);
  });
  afterAll(async () => {
    await env?.close();
    for (const d of [pristine, ...work]) if (d) await rm(d, { recursive: true, force: true });
  });

  /** A fresh copy of the pristine bag. */
  async function copy(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-tamper-copy-'));
    work.push(dir);
    await cp(path.join(pristine, 'tamper'), dir, { recursive: true });
    return dir;
  }
  const cap = (i: number) => `data/captures/${caps[i]!.captureId}`;

  it('the untouched copy verifies (control)', async () => {
    const report = await verifyPackage(await copy(), await env.anchors());
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.verdict).toBe('verified');
  });

  it('flipping one byte of a payload file', async () => {
    const bag = await copy();
    const f = path.join(bag, cap(0), 'artifacts/screenshot.png');
    const b = await readFile(f);
    b[b.length >> 1] = b[b.length >> 1]! ^ 0x01;
    await writeFile(f, b);
    const report = await verifyPackage(bag);
    expectFailureOn(report, `${cap(0)}/artifacts/screenshot.png`, /sha256 mismatch/);
    expectFailureOn(report, `${cap(0)}/artifacts/screenshot.png`, /does not match its manifest entry/);
  });

  it('flipping one byte of the zip itself (a payload entry) is caught from the zip', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-tamper-zip-'));
    work.push(dir);
    const zipPath = path.join(dir, 't.zip');
    // Re-zip stored (no compression) so a flipped byte lands in file content, not in deflate state.
    await run('zip', ['-q', '-r', '-0', zipPath, 'tamper'], { cwd: pristine });
    const z = await readFile(zipPath);
    const marker = Buffer.from('مرحبا بالعالم');
    const at = z.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    z[at + 1] = z[at + 1]! ^ 0x01;
    await writeFile(zipPath, z);
    const report = await verifyPackage(zipPath);
    expect(report.ok).toBe(false);
    expect(report.failures.map((f) => f.item).join('\n')).toMatch(/dom\.html|t\.zip/);
  });

  it('deleting a file', async () => {
    const bag = await copy();
    await unlink(path.join(bag, cap(1), 'artifacts/dom.html'));
    const report = await verifyPackage(bag);
    expectFailureOn(report, `${cap(1)}/artifacts/dom.html`, /missing/);
  });

  it('adding a file', async () => {
    const bag = await copy();
    await writeFile(path.join(bag, cap(0), 'artifacts/planted.jpg'), 'not evidence');
    const report = await verifyPackage(bag);
    expectFailureOn(report, `${cap(0)}/artifacts/planted.jpg`, /not listed in manifest-sha256/);
  });

  it('adding a file and re-bagging (only the capture manifest can catch it)', async () => {
    const bag = await copy();
    await writeFile(path.join(bag, cap(0), 'artifacts/planted.jpg'), 'not evidence');
    await rebag(bag);
    const report = await verifyPackage(bag);
    expectFailureOn(report, `${cap(0)}/artifacts/planted.jpg`, /not part of the capture manifest/);
  });

  it('editing a manifest field, re-bagged: signature and timestamps catch it', async () => {
    const bag = await copy();
    const f = path.join(bag, cap(0), 'manifest.json');
    const text = await readFile(f, 'utf8');
    const edited = text.replace('"https://example.org/post/1?lang=ar"', '"https://example.org/post/2?lang=ar"');
    expect(edited).not.toBe(text);
    await writeFile(f, edited);
    await rebag(bag);
    const report = await verifyPackage(bag);
    expect(report.failures.some((x) => x.check.startsWith('payload'))).toBe(false);
    expectFailureOn(report, `${cap(0)}/manifest.signature.json`, /signature covers sha256:.*but capture .* hashes to/);
    expectFailureOn(report, `${cap(0)}/manifest.sig`, /does not verify/);
    expectFailureOn(report, `${cap(0)}/timestamps/1.tsr`, /message imprint mismatch/);
  });

  it('replacing a signature with another capture\'s, re-bagged', async () => {
    const bag = await copy();
    for (const f of ['manifest.sig', 'manifest.signature.json']) await cp(path.join(bag, cap(1), f), path.join(bag, cap(0), f));
    await rebag(bag);
    const report = await verifyPackage(bag);
    expectFailureOn(report, `${cap(0)}/manifest.sig`, /does not verify/);
  });

  it('replacing the raw .sig only (bytes differ from the signature record)', async () => {
    const bag = await copy();
    const f = path.join(bag, cap(0), 'manifest.sig');
    const b = await readFile(f);
    b[0] = b[0]! ^ 0xff;
    await writeFile(f, b);
    await rebag(bag);
    const report = await verifyPackage(bag);
    expectFailureOn(report, `${cap(0)}/manifest.sig`, /hold different signatures/);
    expectFailureOn(report, `${cap(0)}/manifest.sig`, /does not verify/);
  });

  it('re-signing with a forger\'s key (included in the bag) fails: the signed custody log names the real key', async () => {
    const bag = await copy();
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const fp = keyFingerprint(publicKey);
    const manifest = await readFile(path.join(bag, cap(0), 'manifest.json'));
    const digest = createHash('sha256').update(manifest).digest();
    const sig = sign(null, digest, privateKey);
    await writeFile(path.join(bag, cap(0), 'manifest.sig'), sig);
    const rec = JSON.parse(await readFile(path.join(bag, cap(0), 'manifest.signature.json'), 'utf8'));
    await writeFile(path.join(bag, cap(0), 'manifest.signature.json'), JSON.stringify({ ...rec, keyFingerprint: fp, signature: sig.toString('base64') }));
    await writeFile(path.join(bag, `data/keys/${fp.slice(7)}.pem`), publicKey.export({ type: 'spki', format: 'pem' }));
    await rebag(bag);
    const ours = (await env.keys.publicKeys()).map((k) => k.fingerprint);
    const report = await verifyPackage(bag, { signingKeys: ours });
    expectFailureOn(report, `${cap(0)}/manifest.sig`, new RegExp(`signed by ${fp}, but the custody log records key`));
    expect(report.verdict).toBe('failed');
  });

  it('swapping timestamp tokens between two captures, re-bagged', async () => {
    const bag = await copy();
    const a = path.join(bag, cap(0), 'timestamps/1.tsr');
    const b = path.join(bag, cap(1), 'timestamps/1.tsr');
    const [ba, bb] = [await readFile(a), await readFile(b)];
    await writeFile(a, bb);
    await writeFile(b, ba);
    await rebag(bag);
    const report = await verifyPackage(bag);
    expectFailureOn(report, `${cap(0)}/timestamps/1.tsr`, /message imprint mismatch/);
    expectFailureOn(report, `${cap(1)}/timestamps/1.tsr`, /message imprint mismatch/);
  });

  it('removing a timestamp token, re-bagged (capture becomes unsealed)', async () => {
    const bag = await copy();
    await unlink(path.join(bag, cap(1), 'timestamps/1.tsr'));
    await unlink(path.join(bag, cap(1), 'timestamps/1.json'));
    await rebag(bag);
    const report = await verifyPackage(bag);
    expectFailureOn(report, `${cap(1)}/manifest.json`, /no RFC 3161 timestamp token/);
  });

  async function editEvents(bag: string, fn: (lines: string[]) => string[]): Promise<void> {
    const f = path.join(bag, 'data/custody/events.jsonl');
    const lines = (await readFile(f, 'utf8')).trimEnd().split('\n');
    await writeFile(f, fn(lines).join('\n') + '\n');
    await rebag(bag);
  }

  it('removing a custody event, re-bagged', async () => {
    const bag = await copy();
    await editEvents(bag, (l) => [...l.slice(0, 3), ...l.slice(4)]);
    const report = await verifyPackage(bag);
    expectFailureOn(report, 'data/custody/events.jsonl#line4', /sequence gap or reorder: expected seq 4, found 5/);
    expectFailureOn(report, 'data/custody/events.jsonl#line4', /does not link/);
  });

  it('reordering two custody events, re-bagged', async () => {
    const bag = await copy();
    await editEvents(bag, (l) => [l[0]!, l[2]!, l[1]!, ...l.slice(3)]);
    const report = await verifyPackage(bag);
    expectFailureOn(report, 'data/custody/events.jsonl#line2', /expected seq 2, found 3/);
    expectFailureOn(report, 'data/custody/events.jsonl#line3', /expected seq 3, found 2/);
  });

  it('editing a custody event, re-bagged', async () => {
    const bag = await copy();
    await editEvents(bag, (l) => l.map((line, i) => (i === 1 ? line.replace('"id":"seal-worker"', '"id":"someone-else"') : line)));
    const report = await verifyPackage(bag);
    expectFailureOn(report, 'data/custody/events.jsonl#line2', /event was altered: hash recomputes/);
  });

  it('editing a custody event and recomputing its hash, re-bagged: the next link breaks', async () => {
    const bag = await copy();
    const { eventHash } = await import('../../../evidence/custody.js');
    const { canonicalBytes } = await import('../../../evidence/canonical.js');
    await editEvents(bag, (l) =>
      l.map((line, i) => {
        if (i !== 1) return line;
        const e = JSON.parse(line);
        e.actor.id = 'someone-else';
        e.hash = eventHash(e);
        return canonicalBytes(e).toString('utf8');
      }),
    );
    const report = await verifyPackage(bag);
    expectFailureOn(report, 'data/custody/events.jsonl#line3', /does not link to the previous event/);
  });

  it('truncating the log after its last signed head, re-bagged', async () => {
    const bag = await copy();
    await editEvents(bag, (l) => l.slice(0, l.length - 2));
    const report = await verifyPackage(bag);
    expectFailureOn(report, 'data/custody/events.jsonl', /before the last signed head/);
    expectFailureOn(report, `data/custody/heads/${String(pkg.headSeq).padStart(12, '0')}.json`, /not in the log/);
  });

  it('rewriting the whole log consistently is caught by the signed heads', async () => {
    const bag = await copy();
    const { eventHash, genesisHash } = await import('../../../evidence/custody.js');
    const { canonicalBytes } = await import('../../../evidence/canonical.js');
    await editEvents(bag, (l) => {
      let prev = genesisHash(caseId);
      return l.map((line, i) => {
        const e = JSON.parse(line);
        if (i === 0) e.actor.id = 'forger';
        e.prevHash = prev;
        e.hash = eventHash(e);
        prev = e.hash;
        return canonicalBytes(e).toString('utf8');
      });
    });
    const report = await verifyPackage(bag);
    expect(report.failures.some((f) => f.check === 'custody-chain')).toBe(false);
    expectFailureOn(report, /^data\/custody\/heads\/\d{12}\.json$/, /the log was rewritten/);
  });

  it('a zip with a path-traversal entry is refused', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-slip-'));
    work.push(dir);
    const zipPath = path.join(dir, 'slip.zip');
    const PY = process.env.EXHIBIT_PYTHON ?? 'python3';
    await run(PY, ['-c', `import zipfile\nz = zipfile.ZipFile(${JSON.stringify(zipPath)}, 'w')\nz.writestr('bag/bagit.txt', 'BagIt-Version: 1.0\\n')\nz.writestr('../../evil.txt', 'x')\nz.close()`]);
    const report = await verifyPackage(zipPath);
    expectFailureOn(report, zipPath, /unsafe path in zip|invalid relative path|absolute path/);
  });
});
