/**
 * Attacks on certified packages, one test each. Every forged bag here is a valid BagIt bag (its
 * manifests recomputed); where the forger re-signs, they use their own key (placed in data/keys/)
 * and fresh tokens from the same TSA the real package used — what anyone can get from a public TSA.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { canonicalBytes, sha256Digest } from '../../evidence/canonical.js';
import { hashBytes } from '../../evidence/hash.js';
import { KeyStore } from '../../evidence/keys.js';
import { buildPackage, type BuiltPackage } from '../../evidence/package/build.js';
import { verifyPackage } from '../../evidence/package/verify.js';
import type { PackageReport } from '../../schemas/custody.js';
import { exhibit } from '../support/cli.js';
import { PROSECUTOR, startEvidenceEnv, type EvidenceEnv } from '../support/evidence-env.js';
import { makeForger, rebag } from '../support/forger.js';
import { PYTHON } from '../support/python.js';
import { makeSealedCapture, type SealedCapture } from '../support/sealed-capture.js';

const run = promisify(execFile);

function failsOn(report: PackageReport, item: string | RegExp, message?: RegExp): void {
  expect(report.verdict).toBe('failed');
  expect(report.ok).toBe(false);
  const hit = report.failures.filter((f) => (typeof item === 'string' ? f.item === item : item.test(f.item)) && (!message || message.test(f.message)));
  if (hit.length === 0) throw new Error(`no failure on ${String(item)}${message ? ` matching ${message}` : ''}; failures: ${JSON.stringify(report.failures, null, 1)}`);
}

describe('forged and tampered packages (real Redis, OpenSSL TSA)', () => {
  let env: EvidenceEnv;
  let caps: SealedCapture[];
  let pkg: BuiltPackage;
  let pristine: string;
  const work: string[] = [];
  const caseId = 'C-FORGE-1';
  let realKey: string;
  /** Everything a careful recipient pins: the real signing key and the real TSA CA. */
  let pinned: { signingKeys: string[]; trustAnchors: string[] };

  beforeAll(async () => {
    env = await startEvidenceEnv(inject('redisUrl'), { pdf: false });
    caps = [await env.seal(caseId), await env.seal(caseId)];
    pkg = await env.pack(caseId, { name: 'forge' });
    pristine = await mkdtemp(path.join(os.tmpdir(), 'exhibit-forge-'));
    await run('unzip', ['-q', pkg.path, '-d', pristine]);
    realKey = (await env.keys.activeKey()).fingerprint;
    pinned = { signingKeys: [realKey], trustAnchors: [env.tsa.caCertPem] };
  });
  afterAll(async () => {
    await env?.close();
    for (const d of [pristine, ...work]) if (d) await rm(d, { recursive: true, force: true });
  });

  async function copy(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-forge-copy-'));
    work.push(dir);
    await cp(path.join(pristine, 'forge'), dir, { recursive: true });
    return dir;
  }
  const cap = (i: number) => `data/captures/${caps[i]!.captureId}`;

  it('control: the untouched package is verified when pinned, and unauthenticated (not verified) without anchors', async () => {
    expect((await verifyPackage(await copy(), pinned)).verdict).toBe('verified');
    const bare = await verifyPackage(pkg.path);
    expect(bare.verdict).toBe('unauthenticated');
    expect(bare.failures).toEqual([]);
  });

  /** The forger of issue 11: new dom.html, manifest re-signed with their key, fresh token, package re-sealed, re-bagged. */
  async function forgeDom(): Promise<{ bag: string; forger: ReturnType<typeof makeForger> }> {
    const bag = await copy();
    const forger = makeForger(env.tsas, env.tsa.caCertPem);
    const forged = Buffer.from('<!doctype html><html><body><p>The suspect wrote something else entirely.</p></body></html>');
    await writeFile(path.join(bag, cap(0), 'artifacts/dom.html'), forged);
    const manifest = JSON.parse(await readFile(path.join(bag, cap(0), 'manifest.json'), 'utf8'));
    const d = hashBytes(forged);
    manifest.artifacts = manifest.artifacts.map((a: { name: string }) => (a.name === 'dom.html' ? { ...a, sha256: d.sha256, sha512: d.sha512, size: d.size } : a));
    const bytes = canonicalBytes(manifest);
    await writeFile(path.join(bag, cap(0), 'manifest.json'), bytes);
    await forger.signInto(bag, bytes, `${cap(0)}/manifest.sig`, `${cap(0)}/manifest.signature.json`);
    await forger.stampInto(bag, bytes, `${cap(0)}/timestamps/1.tsr`, `${cap(0)}/timestamps/1.json`);
    await rebag(bag);
    await forger.reseal(bag);
    await rebag(bag);
    // A valid bag to any BagIt validator: only the trust model can catch it.
    await run(PYTHON, ['-m', 'bagit', '--validate', bag]); // spawns: python3
    return { bag, forger };
  }

  it('the forger (new dom.html, own key in data/keys, fresh token from the same TSA, re-bagged) fails with the real TSA CA pinned: the signed custody log records the original manifest digest', async () => {
    const { bag } = await forgeDom();
    const report = await verifyPackage(bag, { trustAnchors: [env.tsa.caCertPem] });
    failsOn(report, `${cap(0)}/manifest.json`, new RegExp(`capture ${caps[0]!.captureId}: manifest.json is sha256:[0-9a-f]{64}, but the signed custody log records ${caps[0]!.manifestDigest}`));
    failsOn(report, `${cap(0)}/artifacts/dom.html`, /no artifact-sealed event in the signed custody log/);
    // The forged signature and token are themselves consistent: nothing else gives the forgery away.
    expect(report.failures.some((f) => f.check === 'signature' || f.check === 'timestamp')).toBe(false);
  });

  it('the same forger, with the real signing key pinned as well, fails', async () => {
    const { bag, forger } = await forgeDom();
    const report = await verifyPackage(bag, pinned);
    failsOn(report, `${cap(0)}/manifest.json`, /the signed custody log records/);
    expect(report.trust.signingKeys.find((k) => k.fingerprint === forger.fingerprint)?.pinned).toBe(false);
  });

  for (const [file, edit] of [
    ['data/certificate.html', (t: string) => t.replace('Evidence certificate', 'Evidence certificate — operator: someone-else')],
    ['bag-info.txt', (t: string) => t.replace(/^Exhibit-Legal-Basis: .*$/m, 'Exhibit-Legal-Basis: Warrant 99/2026 (judge signed)')],
    ['data/VERIFY.txt', (t: string) => t.replace('How to verify this package', 'Nothing to verify, trust this package')],
    ['data/README.txt', (t: string) => `${t}\nAll files were checked by the court.\n`],
  ] as const) {
    it(`editing ${file} and re-bagging fails naming ${file}, with signer and TSA pinned`, async () => {
      const bag = await copy();
      const before = await readFile(path.join(bag, file), 'utf8');
      const after = edit(before);
      expect(after).not.toBe(before);
      await writeFile(path.join(bag, file), after);
      await rebag(bag);
      await run(PYTHON, ['-m', 'bagit', '--validate', bag]); // spawns: python3
      const report = await verifyPackage(bag, pinned);
      failsOn(report, file, /changed after the package was sealed/);
    });
  }

  it('the legal basis edited and the package re-sealed by a forger fails: the content manifest recorded in the custody log says otherwise', async () => {
    const bag = await copy();
    const info = path.join(bag, 'bag-info.txt');
    await writeFile(info, (await readFile(info, 'utf8')).replace(/^Exhibit-Legal-Basis: .*$/m, 'Exhibit-Legal-Basis: Warrant 99/2026 (judge signed)'));
    await rebag(bag);
    await makeForger(env.tsas, env.tsa.caCertPem).reseal(bag);
    await rebag(bag);
    failsOn(await verifyPackage(bag, pinned), 'bag-info.txt', /Exhibit-Legal-Basis is .*Warrant 99\/2026.*the content manifest records/);
  });

  it('a file added at the top of the bag and listed in the tag manifests fails: not in the package seal', async () => {
    const bag = await copy();
    await writeFile(path.join(bag, 'COURT-NOTE.txt'), 'verified by the court\n');
    await rebag(bag);
    failsOn(await verifyPackage(bag, pinned), 'COURT-NOTE.txt', /not listed in package-seal\.json/);
  });

  it("swapping in another case's signed head fails", async () => {
    const other = 'C-FORGE-OTHER';
    await env.seal(other);
    const otherPkg = await env.pack(other, { name: 'other' });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-forge-other-'));
    work.push(dir);
    await run('unzip', ['-q', otherPkg.path, '-d', dir]);
    const bag = await copy();
    const mine = String(pkg.headSeq).padStart(12, '0');
    const theirs = String(otherPkg.headSeq).padStart(12, '0');
    for (const ext of ['json', 'sig', 'signature.json', 'timestamp-1.tsr', 'timestamp-1.json']) {
      await cp(path.join(dir, 'other/data/custody/heads', `${theirs}.${ext}`), path.join(bag, 'data/custody/heads', `${mine}.${ext}`));
    }
    await rebag(bag);
    const report = await verifyPackage(bag, pinned);
    failsOn(report, `data/custody/heads/${mine}.json`, /head is for case C-FORGE-OTHER/);
    failsOn(report, 'data/package-content.json', /not covered by a signed and timestamped custody head/);
  });

  it('a package built with an unpinned (revoked) key is unauthenticated, naming that key', async () => {
    const rogueCase = 'C-FORGE-ROGUE';
    const rogue = new KeyStore(path.join(env.dir, 'rogue-keys'));
    await makeSealedCapture({ caseId: rogueCase, store: env.store, clock: env.clock, custody: env.custody, attest: { keys: rogue, tsas: env.tsas, timestamp: env.timestamp } });
    const built = await buildPackage({
      caseId: rogueCase, outPath: path.join(env.dir, 'rogue.zip'), actor: PROSECUTOR, store: env.store, custody: env.custody, keys: rogue,
      headSigning: { tsas: env.tsas, timestamp: env.timestamp }, tsaCertFiles: [env.tsa.caCertPath], renderPdf: env.renderPdf, clock: env.clock,
    });
    const rogueFp = (await rogue.activeKey()).fingerprint;
    const report = await verifyPackage(built.path, pinned);
    expect(report.failures).toEqual([]);
    expect(report.verdict).toBe('unauthenticated');
    expect(report.ok).toBe(false);
    expect(report.trust.signingKeys).toEqual([{ fingerprint: rogueFp, subject: null, pinned: false, source: null }]);
    expect(report.trust.tsaRoots.every((r) => r.pinned)).toBe(true);
    expect(report.trust.summary).toContain(`signing key ${rogueFp}: NOT pinned`);
  });

  it('a key rotation signed by the pinned outgoing key authenticates the new key; removing the statement or forging one fails', async () => {
    const { rotateSigningKey } = await import('../../evidence/key-rotation.js');
    const rotCase = 'C-FORGE-ROT';
    const keys = new KeyStore(path.join(env.dir, 'rotating-keys'));
    const first = (await keys.activeKey()).fingerprint;
    const { rotation } = await rotateSigningKey(keys, env.clock);
    expect(rotation?.rotation.previous).toBe(first);
    await makeSealedCapture({ caseId: rotCase, store: env.store, clock: env.clock, custody: env.custody, attest: { keys, tsas: env.tsas, timestamp: env.timestamp } });
    const built = await buildPackage({
      caseId: rotCase, outPath: path.join(env.dir, 'rotated.zip'), actor: PROSECUTOR, store: env.store, custody: env.custody, keys,
      headSigning: { tsas: env.tsas, timestamp: env.timestamp }, tsaCertFiles: [env.tsa.caCertPath], renderPdf: env.renderPdf, clock: env.clock,
    });
    const report = await verifyPackage(built.path, { signingKeys: [first], trustAnchors: [env.tsa.caCertPem] });
    expect(report.failures).toEqual([]);
    expect(report.verdict).toBe('verified');
    expect(report.trust.signingKeys.map((k) => k.source)).toEqual(['rotation']);
    // The rotation statement removed and the bag re-bagged: the package seal names it.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-forge-rot-'));
    work.push(dir);
    await run('unzip', ['-q', built.path, '-d', dir]);
    const bag = path.join(dir, 'rotated');
    const hex = rotation!.rotation.next.slice(7);
    await rm(path.join(bag, `data/keys/rotations/${hex}.json`));
    await rebag(bag);
    const without = await verifyPackage(bag, { signingKeys: [first], trustAnchors: [env.tsa.caCertPem] });
    failsOn(without, `data/keys/rotations/${hex}.json`, /listed in package-seal\.json but missing/);
    // A rotation "signed" by a key that is not the outgoing one is refused.
    const forger = makeForger(env.tsas, env.tsa.caCertPem);
    const bag2 = path.join(await mkdtemp(path.join(os.tmpdir(), 'exhibit-forge-rot2-')), 'b');
    work.push(path.dirname(bag2));
    await cp(path.join(dir, 'rotated'), bag2, { recursive: true });
    const stmt = canonicalBytes({ schemaVersion: 'exhibit.key-rotation/1', previous: first, next: forger.fingerprint, time: new Date().toISOString() });
    await writeFile(path.join(bag2, `data/keys/rotations/${forger.fingerprint.slice(7)}.json`), stmt);
    await forger.signInto(bag2, stmt, `data/keys/rotations/${forger.fingerprint.slice(7)}.sig`, `data/keys/rotations/${forger.fingerprint.slice(7)}.signature.json`);
    const forgedRot = await verifyPackage(bag2, { signingKeys: [first], trustAnchors: [env.tsa.caCertPem] });
    failsOn(forgedRot, `data/keys/rotations/${forger.fingerprint.slice(7)}.json`, /is signed by .*, not by the outgoing key/);
  });

  it('the CLI: no anchors → UNAUTHENTICATED, exit 10; after `exhibit trust add` of key and TSA CA → VERIFIED, exit 0; a forged copy → exit 8', async () => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-forge-cli-'));
    work.push(stateDir);
    const cliEnv = { EXHIBIT_STATE_DIR: stateDir, EXHIBIT_LOG_LEVEL: 'warn' };
    const bare = await exhibit(['verify', pkg.path], cliEnv);
    expect(bare.code, bare.stderr).toBe(10);
    expect(bare.stdout).toMatch(/^UNAUTHENTICATED: all \d+ checks passed/m);
    expect(bare.stdout).not.toMatch(/^VERIFIED/m);
    expect(bare.stdout).toContain(`signing key ${realKey}: NOT pinned`);
    const caFile = path.join(stateDir, 'tsa-ca.pem');
    await writeFile(caFile, env.tsa.caCertPem);
    expect((await exhibit(['trust', 'add', '--signing-key', realKey, '--name', 'sending agency'], cliEnv)).code).toBe(0);
    expect((await exhibit(['trust', 'add', '--tsa-ca', caFile], cliEnv)).code).toBe(0);
    const listed = await exhibit(['trust', 'list'], cliEnv);
    expect(listed.stdout).toContain(realKey);
    const ok = await exhibit(['verify', pkg.path], cliEnv);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/^VERIFIED: all \d+ checks passed; signer and TSA authenticated \(pinned: trust store\)/m);
    expect((await exhibit(['verify', pkg.path, '--no-trust-store'], cliEnv)).code).toBe(10);
    expect((await exhibit(['trust', 'remove', realKey], cliEnv)).code).toBe(0);
    expect((await exhibit(['verify', pkg.path], cliEnv)).code).toBe(10);
    const { bag } = await forgeDom();
    const forged = await exhibit(['verify', bag, '--signing-key', realKey, '--tsa-ca', caFile], cliEnv);
    expect(forged.code).toBe(8);
    expect(forged.stdout).toMatch(/^NOT VERIFIED/m);
  });

  it('packaging while no TSA answers yields an UNSEALED package that fails verification; with the TSA back, the next package verifies', async () => {
    const outCase = 'C-FORGE-OUTAGE';
    await env.seal(outCase);
    const down = [{ url: 'http://127.0.0.1:9/tsa' }];
    const unsealed = await buildPackage({
      caseId: outCase, outPath: path.join(env.dir, 'outage.zip'), actor: PROSECUTOR, store: env.store, custody: env.custody, keys: env.keys,
      headSigning: { tsas: down, timestamp: { ...env.timestamp, attempts: 1 } }, tsaCertFiles: [env.tsa.caCertPath], renderPdf: env.renderPdf, clock: env.clock,
    });
    expect(unsealed.sealed).toBe(false);
    expect(unsealed.unsealedReason).toMatch(/could not be timestamped/);
    const bad = await verifyPackage(unsealed.path, pinned);
    failsOn(bad, /custody\/heads\/\d{12}\.json$/, /no RFC 3161 timestamp token/);
    failsOn(bad, 'package-seal.json', /no RFC 3161 timestamp token/);
    const untimestamped = (await env.custody.readHeads(outCase)).filter((h) => h.tokens.length === 0).map((h) => h.head.seq);
    expect(untimestamped).toEqual([unsealed.headSeq]);
    // With the TSA back, the next package is sealed and verifies, and the earlier head got its token.
    const later = await env.pack(outCase);
    expect(later.sealed).toBe(true);
    expect((await env.custody.readHeads(outCase)).filter((h) => h.tokens.length === 0)).toEqual([]);
    const good = await verifyPackage(later.path, pinned);
    expect(good.failures).toEqual([]);
    expect(good.verdict).toBe('verified');
  });

  it('a whole-case package of a case with a hidden capture manifest names the sealed capture it leaves out, in the signed content manifest', async () => {
    const hidCase = 'C-FORGE-HIDDEN';
    const kept = await env.seal(hidCase);
    const hidden = await env.seal(hidCase);
    const key = path.join(env.dir, 'store', 'cases', hidCase, 'captures', hidden.captureId, 'manifest.json');
    await rename(key, `${key}.hidden`);
    const built = await env.pack(hidCase);
    expect(built.captureIds).toEqual([kept.captureId]);
    expect(built.omitted).toEqual([{ captureId: hidden.captureId, reason: 'the capture manifest is missing from the evidence store' }]);
    const report = await verifyPackage(built.path, pinned);
    expect(report.failures).toEqual([]);
    expect(report.verdict).toBe('verified');
    expect(report.checks.find((c) => c.check === 'package-completeness')?.message).toContain(`sealed capture ${hidden.captureId} left out: the capture manifest is missing`);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-forge-hidden-'));
    work.push(dir);
    await run('unzip', ['-q', built.path, '-d', dir]);
    const content = JSON.parse(await readFile(path.join(dir, path.basename(built.path, '.zip'), 'data/package-content.json'), 'utf8'));
    expect(content.omitted).toEqual([{ captureId: hidden.captureId, reason: 'the capture manifest is missing from the evidence store' }]);
    expect(sha256Digest(await readFile(path.join(dir, path.basename(built.path, '.zip'), 'data/package-content.json')))).toBe(built.contentManifestDigest);
  });

  it('a capture removed from a whole-case package, re-bagged and re-sealed by a forger, is named', async () => {
    const bag = await copy();
    await rm(path.join(bag, cap(1)), { recursive: true });
    await rebag(bag);
    await makeForger(env.tsas, env.tsa.caCertPem).reseal(bag);
    await rebag(bag);
    const report = await verifyPackage(bag, pinned);
    failsOn(report, `${cap(1)}/`, new RegExp(`content manifest lists capture ${caps[1]!.captureId}, which the package does not hold`));
    failsOn(report, `${cap(1)}/`, /neither holds it nor says why/);
  });

  it('a zip whose local header names a file differently from its central directory is refused (as Python zipfile does)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-forge-zip-'));
    work.push(dir);
    const zipPath = path.join(dir, 'pkg.zip');
    await run('zip', ['-q', '-r', '-0', zipPath, 'forge'], { cwd: pristine });
    const z = await readFile(zipPath);
    // Rename dom.html in the first (local) header only: same length, so every offset stays valid.
    const name = Buffer.from(`forge/${cap(0)}/artifacts/dom.html`);
    const at = z.indexOf(name);
    expect(at).toBeGreaterThan(0);
    expect(z.readUInt32LE(at - 30)).toBe(0x04034b50);
    Buffer.from(`forge/${cap(0)}/artifacts/dom.htm_`).copy(z, at);
    await writeFile(zipPath, z);
    await expect(run(PYTHON, ['-c', `import zipfile\nz = zipfile.ZipFile(${JSON.stringify(zipPath)})\nfor n in z.namelist(): z.read(n)`])).rejects.toThrow(/differ/); // spawns: python3
    const report = await verifyPackage(zipPath, pinned);
    failsOn(report, zipPath, /named .*dom\.htm_.* in its local header: the zip is ambiguous/);
  });

  it('a zip entry that inflates past its declared size is refused, and the limit on total bytes is enforced', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-forge-bomb-'));
    work.push(dir);
    const zipPath = path.join(dir, 'bomb.zip');
    await run(PYTHON, ['-c', `import zipfile\nz = zipfile.ZipFile(${JSON.stringify(zipPath)}, 'w', zipfile.ZIP_DEFLATED)\nz.writestr('bag/bagit.txt', 'BagIt-Version: 1.0\\nTag-File-Character-Encoding: UTF-8\\n')\nz.writestr('bag/data/big.bin', b'\\0' * 4000000)\nz.close()`]); // spawns: python3
    const z = await readFile(zipPath);
    // Declare 1000 bytes for data/big.bin in both headers (local at offset +22, central at +24).
    const name = Buffer.from('bag/data/big.bin');
    for (let at = z.indexOf(name); at >= 0; at = z.indexOf(name, at + 1)) {
      if (z.readUInt32LE(at - 30) === 0x04034b50) z.writeUInt32LE(1000, at - 30 + 22);
      else if (z.readUInt32LE(at - 46) === 0x02014b50) z.writeUInt32LE(1000, at - 46 + 24);
    }
    await writeFile(zipPath, z);
    const report = await verifyPackage(zipPath, pinned);
    failsOn(report, zipPath, /inflates past its declared 1000 bytes|too many bytes/);
    const small = await verifyPackage(pkg.path, { ...pinned, maxTotalBytes: 1000 });
    failsOn(small, pkg.path, /expands to more than 1000 bytes/);
  });
});
