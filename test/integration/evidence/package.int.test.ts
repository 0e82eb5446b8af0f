import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { startEvidenceEnv, type EvidenceEnv } from '../../support/evidence-env.js';
import { HOSTILE_TITLE, type SealedCapture } from '../../support/sealed-capture.js';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { buildPackage, type BuiltPackage } from '../../../evidence/package/build.js';
import type { EvidenceStore } from '../../../evidence/store.js';
import { PROSECUTOR } from '../../support/evidence-env.js';

const run = promisify(execFile);
const PYTHON = process.env.EXHIBIT_PYTHON ?? 'python3';

/** Run a shell command line from VERIFY.txt inside the bag directory. */
async function sh(cmd: string, cwd: string): Promise<{ stdout: string; stderr: string }> {
  return run('bash', ['-o', 'pipefail', '-c', cmd], { cwd, maxBuffer: 16 * 1024 * 1024 });
}

describe('certified package (real Redis, OpenSSL TSA, Chromium)', () => {
  let env: EvidenceEnv;
  let caps: SealedCapture[];
  let pkg: BuiltPackage;
  let unzipped: string;
  let bag: string;
  const caseId = 'C-2026-001';

  beforeAll(async () => {
    env = await startEvidenceEnv(inject('redisUrl'));
    caps = [await env.seal(caseId), await env.seal(caseId, { operator: 'analyst.two', url: 'https://example.net/ar/مقال' })];
    pkg = await env.pack(caseId, { name: 'C-2026-001' });
    unzipped = await mkdtemp(path.join(os.tmpdir(), 'exhibit-unzip-'));
    await run('unzip', ['-q', pkg.path, '-d', unzipped]);
    bag = path.join(unzipped, 'C-2026-001');
  });
  afterAll(async () => {
    await env?.close();
    if (unzipped) await rm(unzipped, { recursive: true, force: true });
  });

  it('verifyPackage passes on the zip and on the unzipped directory, authenticated by the pinned local key store and TSA CA', async () => {
    for (const src of [pkg.path, bag]) {
      const report = await verifyPackage(src, await env.anchors());
      expect(report.failures).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.verdict).toBe('verified');
      expect(report.trust.signingKeys.map((k) => [k.pinned, k.source])).toEqual([[true, 'local-key-store']]);
      expect(report.trust.tsaRoots.map((k) => [k.pinned, k.source])).toEqual([[true, 'local-tsa-config']]);
      expect(report.caseId).toBe(caseId);
      expect(report.captureIds).toEqual(caps.map((c) => c.captureId).sort());
      expect(report.checks.filter((c) => c.check === 'timestamp' && c.ok).length).toBeGreaterThanOrEqual(3);
    }
  });

  it('pinned TSA CA and signing key verify; an unrelated pinned CA leaves the TSA unauthenticated; nothing pinned is unauthenticated', async () => {
    const fps = (await env.keys.publicKeys()).map((k) => k.fingerprint);
    const good = await verifyPackage(pkg.path, { trustAnchors: [env.tsa.caCertPem], signingKeys: fps });
    expect(good.verdict).toBe('verified');
    expect(good.ok).toBe(true);
    const none = await verifyPackage(pkg.path);
    expect(none.verdict).toBe('unauthenticated');
    expect(none.consistent).toBe(true);
    expect(none.ok).toBe(false);
    expect(none.trust.summary).toMatch(/NOT authenticated/);
    expect(none.trust.summary).toContain(fps[0]);
    const other = await readFile(new URL('../../fixtures/tsa/other-ca.pem', import.meta.url), 'utf8');
    const bad = await verifyPackage(pkg.path, { trustAnchors: [other], signingKeys: fps });
    expect(bad.verdict).toBe('unauthenticated');
    expect(bad.trust.tsaRoots.every((r) => !r.pinned)).toBe(true);
    expect(bad.ok).toBe(false);
  });

  it('sha256sum -c, sha512sum -c and the tag manifests pass with coreutils', async () => {
    await sh('sha256sum -c --strict manifest-sha256.txt', bag);
    await sh('sha512sum -c --strict manifest-sha512.txt', bag);
    await sh('sha256sum -c --strict tagmanifest-sha256.txt', bag);
    const { stdout } = await sh('find data -type f | wc -l; wc -l < manifest-sha256.txt', bag);
    const [files, lines] = stdout.trim().split('\n').map(Number);
    expect(files).toBe(lines);
  });

  it('Python bagit validates the unzipped bag', async () => {
    const { stdout, stderr } = await run(PYTHON, ['-m', 'bagit', '--validate', bag]);
    expect(`${stdout}${stderr}`).toMatch(/is valid/);
  });

  it('every openssl command in VERIFY.txt passes, exactly as written', async () => {
    const text = await readFile(path.join(bag, 'data/VERIFY.txt'), 'utf8');
    const cmds = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^openssl (dgst|pkeyutl|ts) /.test(l));
    const pkeyutl = cmds.filter((c) => c.includes('pkeyutl'));
    const ts = cmds.filter((c) => c.startsWith('openssl ts -verify'));
    expect(pkeyutl.length).toBe(4); // two captures, the head and the package seal
    expect(ts.length).toBe(4);
    expect(cmds.some((c) => c.includes('-sigfile package-seal.sig'))).toBe(true);
    expect(cmds.some((c) => c.includes('-data package-seal.json -in package-seal.timestamp-1.tsr'))).toBe(true);
    for (const cmd of cmds) {
      const { stdout } = await sh(cmd, bag); // spawns: openssl
      if (cmd.includes('pkeyutl')) expect(stdout).toMatch(/Signature Verified Successfully/);
      if (cmd.startsWith('openssl ts -verify')) expect(stdout).toMatch(/Verification: OK/);
    }
  });

  it('openssl ts -verify -digest with the sha256sum of manifest.json passes; a wrong digest fails', async () => {
    const id = caps[0]!.captureId;
    const { stdout } = await sh(`openssl ts -verify -digest "$(sha256sum data/captures/${id}/manifest.json | cut -c1-64)" -in data/captures/${id}/timestamps/1.tsr -CAfile data/tsa/ca.pem -untrusted data/tsa/tsa.pem`, bag);
    expect(stdout).toMatch(/Verification: OK/);
    await expect(sh(`openssl ts -verify -digest ${'0'.repeat(64)} -in data/captures/${id}/timestamps/1.tsr -CAfile data/tsa/ca.pem -untrusted data/tsa/tsa.pem`, bag)).rejects.toThrow();
  });

  it('sha256sum of manifest.json is the digest inside its signature and its timestamp record', async () => {
    for (const c of caps) {
      const bytes = await readFile(path.join(bag, 'data/captures', c.captureId, 'manifest.json'));
      expect(bytes.equals(c.manifestBytes)).toBe(true);
      const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
      const sig = JSON.parse(await readFile(path.join(bag, 'data/captures', c.captureId, 'manifest.signature.json'), 'utf8'));
      expect(sig.signedDigest).toBe(digest);
      const ts = JSON.parse(await readFile(path.join(bag, 'data/captures', c.captureId, 'timestamps/1.json'), 'utf8'));
      expect(ts.digest).toBe(digest);
    }
  });

  it('the Python custody-chain check in VERIFY.txt passes', async () => {
    const text = await readFile(path.join(bag, 'data/VERIFY.txt'), 'utf8');
    const m = /python3 - <<'EOF'\n([\s\S]*?)\n\s*EOF/.exec(text);
    expect(m).not.toBeNull();
    const script = m![1]!.split('\n').map((l) => l.replace(/^ {5}/, '')).join('\n');
    const { stdout } = await run(PYTHON, ['-c', script], { cwd: bag });
    expect(stdout).toMatch(/custody chain OK, head \d+ sha256:/);
  });

  it('the Python package-seal check in VERIFY.txt passes, and fails naming a changed certificate', async () => {
    const text = await readFile(path.join(bag, 'data/VERIFY.txt'), 'utf8');
    const scripts = [...text.matchAll(/python3 - <<'EOF'\n([\s\S]*?)\n\s*EOF/g)].map((m) => m[1]!.split('\n').map((l) => l.replace(/^ {5}/, '')).join('\n'));
    const seal = scripts.find((x) => x.includes('package-seal.json'));
    expect(seal).toBeDefined();
    const { stdout } = await run(PYTHON, ['-c', seal!], { cwd: bag });
    expect(stdout).toMatch(/package seal OK, \d+ files/);
    const copy = await mkdtemp(path.join(os.tmpdir(), 'exhibit-sealpy-'));
    try {
      await run('cp', ['-r', `${bag}/.`, copy]);
      await run('sed', ['-i', 's/Evidence certificate/Forged certificate/', path.join(copy, 'data/certificate.html')]);
      await expect(run(PYTHON, ['-c', seal!], { cwd: copy })).rejects.toThrow(/data\/certificate.html changed/);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('the certificate and VERIFY.txt state the content manifest digest, the signing key and the TSA root fingerprints, to confirm independently', async () => {
    const html = await readFile(path.join(bag, 'data/certificate.html'), 'utf8');
    const verifyTxt = await readFile(path.join(bag, 'data/VERIFY.txt'), 'utf8');
    const key = (await env.keys.activeKey()).fingerprint;
    const { stdout: der } = await sh('openssl x509 -in data/tsa/ca.pem -outform DER | sha256sum | cut -c1-64', bag);
    for (const t of [html, verifyTxt]) {
      expect(t).toContain(key);
      expect(t).toContain(`sha256:${der.trim()}`);
    }
    expect(html).toContain(pkg.contentManifestDigest);
    expect(html).toMatch(/confirm the signing key fingerprint and the TSA root fingerprint independently/);
  });

  it('bag-info.txt carries case, legal basis, operators, counts, Bagging-Date and Payload-Oxum', async () => {
    const info = await readFile(path.join(bag, 'bag-info.txt'), 'utf8');
    expect(info).toMatch(/^External-Identifier: C-2026-001$/m);
    expect(info).toMatch(/^Exhibit-Case-Id: C-2026-001$/m);
    expect(info).toMatch(/^Exhibit-Legal-Basis: Warrant 2026\/17 — أمر قضائي$/m);
    expect(info).toMatch(/^Exhibit-Capture-Count: 2$/m);
    expect(info).toMatch(/^Exhibit-Operators: analyst.one, analyst.two$/m);
    expect(info).toMatch(/^Bagging-Date: \d{4}-\d{2}-\d{2}$/m);
    expect(info).toMatch(/^Payload-Oxum: \d+\.\d+$/m);
  });

  it('the layout holds originals, labelled derivatives, custody log, heads, keys and TSA certificates', async () => {
    const id = caps[0]!.captureId;
    const capDir = path.join(bag, 'data/captures', id);
    expect((await readdir(path.join(capDir, 'artifacts'))).sort()).toEqual(['dom.html', 'screenshot.png']);
    expect(await readdir(path.join(capDir, 'derived'))).toEqual(['screenshot.thumb.webp']);
    expect((await readFile(path.join(capDir, 'manifest.sig'))).length).toBe(64);
    const events = (await readFile(path.join(bag, 'data/custody/events.jsonl'), 'utf8')).trim().split('\n');
    expect(events.length).toBe(pkg.headSeq);
    expect(await readdir(path.join(bag, 'data/custody/heads'))).toContain(`${String(pkg.headSeq).padStart(12, '0')}.json`);
    expect((await readdir(path.join(bag, 'data/keys'))).length).toBe(1);
    expect(await readFile(path.join(bag, 'data/tsa/ca.pem'), 'utf8')).toBe(env.tsa.caCertPem.trim() + '\n');
    expect(await readFile(path.join(bag, 'data/README.txt'), 'utf8')).toBe(pkg.layout);
  });

  it('certificate: HTML escapes captured text, renders RTL with dir=auto, and the PDF is a PDF', async () => {
    const html = await readFile(path.join(bag, 'data/certificate.html'), 'utf8');
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toMatch(/dir="auto">بيان رسمي/);
    // Two captures: each shown by a JPEG rendering of its sealed thumbnail, with the full screenshot's digest.
    expect(html).toMatch(/background-image: url\("data:image\/jpeg;base64,/);
    expect(html).not.toContain('class="appendix"');
    for (const c of caps) {
      expect(html).toContain(c.captureId);
      const shot = c.manifest.artifacts.find((a) => a.role === 'screenshot')!;
      expect(html).toContain(`<code>artifacts/screenshot.png</code> SHA-256 <code>${shot.sha256.slice(7)}</code>`);
    }
    expect(html).toContain('openssl pkeyutl -verify');
    const pdf = await readFile(path.join(bag, 'data/certificate.pdf'));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    // Page numbers come from the certificate's own @page footer (poppler's pdftotext, where installed).
    const text = await run('pdftotext', [path.join(bag, 'data/certificate.pdf'), '-']).then((r) => r.stdout, (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : Promise.reject(e)));
    if (text !== null) expect(text).toMatch(/Page 1 of \d+/);
    expect(HOSTILE_TITLE).toContain('بيان');
  });

  it('packaging is a custody event inside the package: its content manifest digest, covered by the signed and timestamped head the bag ends with', async () => {
    const zipDigest = `sha256:${createHash('sha256').update(await readFile(pkg.path)).digest('hex')}`;
    expect(pkg.sha256).toBe(zipDigest);
    expect(pkg.sealed).toBe(true);
    const log = await env.custody.readLog(caseId);
    const ev = log.find((e) => e.event.seq === pkg.event.seq)!.event;
    expect(ev.action).toBe('packaged');
    expect(ev.seq).toBe(pkg.headSeq);
    const content = await readFile(path.join(bag, 'data/package-content.json'));
    const contentDigest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    expect(pkg.contentManifestDigest).toBe(contentDigest);
    expect(ev.subject.digests).toEqual([contentDigest]);
    expect(ev.actor.id).toBe('prosecutor.one');
    expect(ev.details).toMatchObject({ packageId: pkg.packageId, contentManifestDigest: contentDigest, captureIds: caps.map((c) => c.captureId).sort(), selection: 'case', omitted: [] });
    const lines = (await readFile(path.join(bag, 'data/custody/events.jsonl'), 'utf8')).trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ seq: pkg.headSeq, action: 'packaged' });
    expect(existsSync(path.join(bag, `data/custody/heads/${String(pkg.headSeq).padStart(12, '0')}.timestamp-1.tsr`))).toBe(true);
    // The zip's own digest, known only once written, is recorded right after, naming the package id.
    const exported = log.find((e) => e.event.seq === pkg.exported.seq)!.event;
    expect(exported).toMatchObject({ seq: pkg.headSeq + 1, action: 'exported', subject: { digests: [zipDigest] }, details: { packageId: pkg.packageId, packageSha256: zipDigest, sealed: true } });
  });

  it('a subset package holds only the chosen capture and still verifies', async () => {
    const sub = await env.pack(caseId, { captureIds: [caps[1]!.captureId] });
    const report = await verifyPackage(sub.path, await env.anchors());
    expect(report.failures).toEqual([]);
    expect(report.verdict).toBe('verified');
    expect(report.checks.some((c) => c.check === 'package-selection')).toBe(true);
    expect(report.captureIds).toEqual([caps[1]!.captureId]);
    // One capture: the full certificate, with the original screenshot and its appendix.
    const out = await mkdtemp(path.join(os.tmpdir(), 'exhibit-unzip-'));
    try {
      await run('unzip', ['-q', sub.path, '-d', out]);
      const html = await readFile(path.join(out, sub.bagName, 'data/certificate.html'), 'utf8');
      expect(html).toMatch(/background-image: url\("data:image\/png;base64,/);
      expect(html).toContain('class="appendix"');
      expect(html).toContain('technical record');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
    // The head moved: the first package's `exported` event, and this package's `packaged` event, are inside this one.
    expect(sub.headSeq).toBe(pkg.headSeq + 2);
    expect(sub.event.seq).toBe(sub.headSeq);
  });

  it('custody events stored after the early read of the log are still all in the bag, up to the signed head; progress in phase order', async () => {
    // The first listing of the custody folder (made while the captures load) misses the newest
    // events, as when they are stored only by the head signing's sync: the later read must add them.
    const store: EvidenceStore = Object.create(env.store) as EvidenceStore;
    let first = true;
    store.list = async (prefix) => {
      const keys = await env.store.list(prefix);
      if (first && prefix === `cases/${caseId}/custody/`) {
        first = false;
        return keys.filter((k) => /\/\d{12}\.json$/.test(k)).slice(0, 3);
      }
      return keys;
    };
    const outPath = path.join(env.dir, 'late-events.zip');
    const phases: string[] = [];
    let lastPercent = 0;
    const built = await buildPackage({
      caseId, outPath, actor: PROSECUTOR, store, custody: env.custody, keys: env.keys,
      headSigning: { tsas: env.tsas, timestamp: env.timestamp }, tsaCertFiles: [env.tsa.caCertPath], renderPdf: env.renderPdf, clock: env.clock,
      onProgress: (p) => {
        if (phases.at(-1) !== p.phase) phases.push(p.phase);
        if (p.phase === 'payload') {
          expect(p.bytesDone).toBeGreaterThanOrEqual(lastPercent);
          lastPercent = p.bytesDone;
        }
      },
    });
    expect(first).toBe(false);
    // The payload is zipped from the start, but progress still reads in the old order (for progress bars).
    expect(phases).toEqual(['head', 'certificate', 'payload', 'tags', 'custody', 'done']);
    const out = await mkdtemp(path.join(os.tmpdir(), 'exhibit-unzip-'));
    try {
      await run('unzip', ['-q', built.path, '-d', out]);
      const lines = (await readFile(path.join(out, built.bagName, 'data/custody/events.jsonl'), 'utf8')).trim().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual(Array.from({ length: built.headSeq }, (_, i) => i + 1));
      expect((await verifyPackage(built.path)).failures).toEqual([]);
      expect((await verifyPackage(built.path, await env.anchors())).verdict).toBe('verified');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('refuses to overwrite an existing package file', async () => {
    await expect(env.pack(caseId, { name: 'C-2026-001' })).rejects.toThrow(/refusing to overwrite/);
  });

  describe('a lying or failing store aborts packaging: no zip, no packaged event', () => {
    /** Build with a store whose reads of dom.html are replaced; `streamAll` sends every file through the streaming path. */
    async function attempt(
      lie: { get: (key: string) => Promise<Readable>; getBytes: (key: string) => Promise<Buffer> },
      name: string,
      o: { streamAll?: boolean; renderPdf?: EvidenceEnv['renderPdf']; failsAfterRecording?: boolean } = {},
    ): Promise<unknown> {
      const target = caps[0]!.manifest.artifacts.find((a) => a.name === 'dom.html')!;
      const store: EvidenceStore = Object.create(env.store) as EvidenceStore;
      store.get = async (key) => (key === target.storeKey ? lie.get(key) : env.store.get(key));
      store.getBytes = async (key) => (key === target.storeKey ? lie.getBytes(key) : env.store.getBytes(key));
      const before = (await env.custody.readLog(caseId)).length;
      const outPath = path.join(env.dir, `${name}.zip`);
      const err = await buildPackage({
        caseId, outPath, actor: PROSECUTOR, store, custody: env.custody, keys: env.keys,
        headSigning: { tsas: env.tsas, timestamp: env.timestamp }, tsaCertFiles: [env.tsa.caCertPath], renderPdf: o.renderPdf ?? env.renderPdf, clock: env.clock,
        ...(o.streamAll ? { bufferedEntryMaxBytes: 0 } : {}),
      }).then(() => null, (e: unknown) => e);
      expect(existsSync(outPath)).toBe(false);
      expect((await readdir(env.dir)).filter((f) => f.startsWith(`${name}.zip`))).toEqual([]);
      const log = await env.custody.readLog(caseId);
      if (!o.failsAfterRecording) expect(log.length).toBe(before);
      else {
        // Failing after the packaged event: the log says the package was never completed.
        expect(log.slice(before).map((e) => e.event.action)).toEqual(['packaged', 'package-failed']);
        expect(log.at(-1)!.event.details).toMatchObject({ packageId: log[before]!.event.details.packageId, failure: expect.stringContaining('chromium crashed') });
      }
      return err;
    }
    const forged = { get: async () => Readable.from([Buffer.from('forged content')]), getBytes: async () => Buffer.from('forged content') };
    const honest = { get: (k: string) => env.store.get(k), getBytes: (k: string) => env.store.getBytes(k) };

    for (const streamAll of [false, true]) {
      const how = streamAll ? 'streamed' : 'read whole';
      it(`bytes that differ from the manifest → HASH_MISMATCH naming the file (${how})`, async () => {
        // Each path reads through its own store call: a lie told only to the other path is never seen.
        const lie = streamAll ? { ...honest, get: forged.get } : { ...honest, getBytes: forged.getBytes };
        const err = await attempt(lie, `lying-${streamAll}`, { streamAll });
        expect(err).toMatchObject({ name: 'IntegrityError', code: 'HASH_MISMATCH', message: expect.stringContaining('artifacts/dom.html') });
      });
    }

    it('a thumbnail is read once for the certificate and its zip entry, and forged thumbnail bytes still fail the build', async () => {
      const thumb = caps[0]!.manifest.artifacts.find((a) => a.role === 'thumbnail' && a.derivedFrom?.source === 'screenshot.png')!;
      expect(thumb).toBeDefined();
      const reads = new Map<string, number>();
      const counting: EvidenceStore = Object.create(env.store) as EvidenceStore;
      counting.getBytes = async (key) => {
        reads.set(key, (reads.get(key) ?? 0) + 1);
        return env.store.getBytes(key);
      };
      const ok = await buildPackage({
        caseId, outPath: path.join(env.dir, 'thumb-once.zip'), actor: PROSECUTOR, store: counting, custody: env.custody, keys: env.keys,
        headSigning: { tsas: env.tsas, timestamp: env.timestamp }, tsaCertFiles: [env.tsa.caCertPath], renderPdf: env.renderPdf, clock: env.clock,
      });
      // The two sealed captures here share one content-addressed thumbnail: four readers (two images,
      // two zip entries), still one read.
      expect(reads.get(thumb.storeKey)).toBe(1);
      expect((await verifyPackage(ok.path, await env.anchors())).verdict).toBe('verified');

      const lying: EvidenceStore = Object.create(env.store) as EvidenceStore;
      lying.getBytes = async (key) => (key === thumb.storeKey ? Buffer.from('forged thumbnail') : env.store.getBytes(key));
      const before = (await env.custody.readLog(caseId)).length;
      const outPath = path.join(env.dir, 'thumb-forged.zip');
      const err = await buildPackage({
        caseId, outPath, actor: PROSECUTOR, store: lying, custody: env.custody, keys: env.keys,
        headSigning: { tsas: env.tsas, timestamp: env.timestamp }, tsaCertFiles: [env.tsa.caCertPath], renderPdf: env.renderPdf, clock: env.clock,
      }).then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ name: 'IntegrityError', code: 'HASH_MISMATCH' });
      expect(existsSync(outPath)).toBe(false);
      expect((await env.custody.readLog(caseId)).length).toBe(before);
    });

    it('a read error mid-stream fails the build instead of hanging (streamed)', async () => {
      const err = await attempt({ ...honest, get: async () => new Readable({ read() { this.destroy(new Error('disk gone')); } }) }, 'failing', { streamAll: true });
      expect(String((err as Error).message)).toMatch(/disk gone/);
    });

    it('a failed whole-file read fails the build instead of hanging (read whole)', async () => {
      const err = await attempt({ ...honest, getBytes: async () => { throw new Error('disk gone too'); } }, 'failing-whole');
      expect(String((err as Error).message)).toMatch(/disk gone too/);
    });

    it('a failed certificate PDF fails the build, after the browser was prepared early', async () => {
      const calls: string[] = [];
      const renderPdf = Object.assign(async () => { calls.push('render'); throw new Error('chromium crashed'); }, { prepare: async () => { calls.push('prepare'); } });
      const err = await attempt(honest, 'pdf-failing', { renderPdf, failsAfterRecording: true });
      expect(String((err as Error).message)).toMatch(/chromium crashed/);
      expect(calls).toEqual(['prepare', 'render']);
    });
  });
});
