import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { canonicalBytes } from '../../../evidence/canonical.js';
import type { BuiltPackage } from '../../../evidence/package/build.js';
import { importPackage, type ImportOptions } from '../../../evidence/package/import.js';
import { PartnerStore, partnerAnchors } from '../../../evidence/partners.js';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { mergeAnchors } from '../../../evidence/trust.js';
import { startEvidenceEnv, type EvidenceEnv } from '../../support/evidence-env.js';
import type { SealedCapture } from '../../support/sealed-capture.js';
import { sharePackage } from '../../support/share-env.js';

const run = promisify(execFile);
const IMPORTER = { type: 'user' as const, id: 'prosecutor.b', role: 'prosecutor' };

/** Two deployments on this machine: separate state dirs, stores, keys, TSAs and Redis prefixes. */
describe('sharing between two agencies (A shares, B imports)', () => {
  let A: EvidenceEnv;
  let B: EvidenceEnv;
  let caps: SealedCapture[];
  let pkg: BuiltPackage;
  let partnersB: PartnerStore;
  let work: string;
  const caseA = 'A-2026-7';
  const caseB = 'B-2026-91';

  const importAs = (zipPath: string, from = 'agency-a', caseId = caseB): Promise<Awaited<ReturnType<typeof importPackage>>> =>
    partnersB.get(from).then(async (partner) => {
      const o: ImportOptions = { zipPath, caseId, partner, ownKeys: (await B.keys.publicKeys()).map((k) => k.fingerprint), actor: IMPORTER, store: B.store, custody: B.custody, clock: B.clock };
      return importPackage(o);
    });

  /** A copy of the shared package with one change made in its unzipped bag, zipped again. */
  async function tampered(name: string, change: (bag: string) => Promise<void>): Promise<string> {
    const dir = await mkdtemp(path.join(work, `${name}-`));
    await run('unzip', ['-q', pkg.path, '-d', dir]);
    await change(path.join(dir, pkg.bagName));
    const out = path.join(work, `${name}.zip`);
    await run('zip', ['-qr', '-X', out, pkg.bagName], { cwd: dir }); // spawns: zip
    return out;
  }

  beforeAll(async () => {
    A = await startEvidenceEnv(inject('redisUrl'), { pdf: false });
    B = await startEvidenceEnv(inject('redisUrl'), { pdf: false });
    work = await mkdtemp(path.join(os.tmpdir(), 'exhibit-two-'));
    const aKey = (await A.keys.activeKey()).fingerprint;
    const bKey = (await B.keys.activeKey()).fingerprint;
    // Out of band: B pins A's key and TSA root; A pins B's key.
    partnersB = new PartnerStore(path.join(B.dir, 'partners.json'));
    await partnersB.add('agency-a', { signingKeys: [aKey], tsaCaFiles: [A.tsa.caCertPath] });
    await partnersB.add('agency-c', { signingKeys: [`sha256:${'c'.repeat(64)}`], tsaCaFiles: [A.tsa.caCertPath] });
    caps = [await A.seal(caseA, { url: 'https://fixture.example/post/1' }), await A.seal(caseA, { url: 'https://fixture.example/post/2-not-shared' })];
    pkg = await sharePackage(A, caseA, { partner: 'agency-b', partnerKeys: [bKey], withhold: ['screenshot'] }, { captureIds: [caps[0]!.captureId], name: 'a-to-b', organization: 'Agency A' });
  });
  afterAll(async () => {
    await A?.close();
    await B?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the recipient pinned nothing of A in its own trust: A and B are separate deployments', async () => {
    expect(A.prefix).not.toBe(B.prefix);
    expect((await A.keys.activeKey()).fingerprint).not.toBe((await B.keys.activeKey()).fingerprint);
    expect(A.tsa.caCertPem).not.toBe(B.tsa.caCertPem);
  });

  it.each([
    ['a changed byte', 'byte', async (bag: string) => {
      const p = path.join(bag, 'data/captures', caps[0]!.captureId, 'artifacts/dom.html');
      const b = await readFile(p);
      b[b.length - 3] = b[b.length - 3]! ^ 1;
      await writeFile(p, b);
    }, (id: string) => `data/captures/${id}/artifacts/dom.html`],
    ['a swapped key', 'key', async (bag: string) => {
      const dir = path.join(bag, 'data/keys');
      const pem = (await readdir(dir)).find((f) => f.endsWith('.pem'))!;
      await writeFile(path.join(dir, pem), (await B.keys.publicKeys())[0]!.pem);
    }, () => 'data/keys/'],
    ['a dropped custody event', 'dropped', async (bag: string) => {
      const p = path.join(bag, 'data/custody/events.jsonl');
      const lines = (await readFile(p, 'utf8')).trim().split('\n');
      lines.splice(2, 1);
      await writeFile(p, lines.join('\n') + '\n');
    }, () => 'data/custody/events.jsonl'],
    ['an altered share record', 'record', async (bag: string) => {
      const p = path.join(bag, 'data/share/record.json');
      const rec = JSON.parse(await readFile(p, 'utf8')) as { withheld: unknown[] };
      rec.withheld = [];
      await writeFile(p, canonicalBytes(rec));
    }, () => 'data/share/record.json'],
    ['a removed artifact', 'removed', async (bag: string) => {
      await unlink(path.join(bag, 'data/captures', caps[0]!.captureId, 'artifacts/dom.html'));
    }, (id: string) => `data/captures/${id}/artifacts/dom.html`],
  ])('%s in transit is refused at import, naming the item, and nothing is recorded', async (_label, name, change, item) => {
    const zip = await tampered(name, change);
    const before = (await B.custody.head(caseB)).seq;
    const err = await importAs(zip).then(() => null, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/^refusing .* from agency-a: it does not verify/);
    expect(err?.message).toContain(item(caps[0]!.captureId));
    expect((await B.custody.head(caseB)).seq).toBe(before);
    expect(await B.store.list(`cases/${caseB}/received/`)).toEqual([]);
  });

  it('a package from an unpinned partner is refused, naming the key that is not pinned for it', async () => {
    const err = await importAs(pkg.path, 'agency-c').then(() => null, (e: unknown) => e as Error & { code?: string });
    expect(err?.code).toBe('UNAUTHENTICATED');
    expect(err?.message).toContain(`signing key ${(await A.keys.activeKey()).fingerprint}`);
    expect(err?.message).toContain('not pinned for agency-c');
  });

  it('a share meant for another agency is refused', async () => {
    const other = await sharePackage(A, caseA, { partner: 'agency-z', partnerKeys: [`sha256:${'d'.repeat(64)}`] }, { captureIds: [caps[0]!.captureId], name: 'a-to-z' });
    await expect(importAs(other.path)).rejects.toThrow(/names recipient agency-z .* none of them this deployment's/);
  });

  it('B imports the share: verified with A\'s pins, kept byte-identical, provenance recorded, received on B\'s log; a second import adds nothing', async () => {
    const res = await importAs(pkg.path);
    expect(res.report.verdict).toBe('verified');
    expect(res.report.trust.signingKeys.every((k) => k.pinned && k.source === 'partner')).toBe(true);
    const r = res.record;
    expect(r).toMatchObject({ caseId: caseB, partner: { name: 'agency-a' }, origin: { organization: 'Agency A', caseId: caseA, head: { seq: pkg.headSeq } }, share: { legalBasis: expect.stringContaining('MLA'), tlp: 'amber', withheld: 2 } });
    expect(r.package.sha256).toBe(pkg.sha256);
    // The stored package and every received file are the bytes A sent.
    expect((await B.store.getBytes(r.package.storeKey)).equals(await readFile(pkg.path))).toBe(true);
    const c = r.captures[0]!;
    expect(c.captureId).toBe(caps[0]!.captureId);
    const manifestFile = c.files.find((f) => f.path.endsWith('/manifest.json'))!;
    expect((await B.store.getBytes(manifestFile.storeKey)).equals(caps[0]!.manifestBytes)).toBe(true);
    const dom = caps[0]!.manifest.artifacts.find((a) => a.name === 'dom.html')!;
    expect(c.files.find((f) => f.path.endsWith('/artifacts/dom.html'))?.sha256).toBe(dom.sha256);
    expect(c.files.some((f) => f.path.endsWith('screenshot.png'))).toBe(false);
    // B's custody log: received from agency-a, naming the package and A's signed head.
    const log = await B.custody.readLog(caseB);
    const ev = log.find((e) => e.event.action === 'received')!.event;
    expect(ev.subject).toEqual({ captureId: c.captureId, digests: [caps[0]!.manifestDigest] });
    expect(ev.details).toMatchObject({ from: 'agency-a', packageSha256: pkg.sha256, originCaseId: caseA, originHead: { seq: pkg.headSeq }, importRecord: res.recordKey });
    const again = await importAs(pkg.path);
    expect(again.created).toBe(false);
    expect((await B.custody.readLog(caseB)).length).toBe(log.length);
  });

  it('B builds its own package: verify checks A\'s chain, B\'s chain and the hand-over, and needs both agencies pinned', async () => {
    const own = await B.seal(caseB, { url: 'https://fixture.example/b-own' });
    const court = await B.pack(caseB, { name: 'b-court' });
    const aPins = partnerAnchors(await partnersB.get('agency-a'));
    const both = { anchors: mergeAnchors((await B.anchors()).anchors, aPins) };
    const report = await verifyPackage(court.path, both);
    expect(report.failures).toEqual([]);
    expect(report.verdict).toBe('verified');
    expect(report.captureIds).toEqual([own.captureId]);
    expect(report.handOvers).toHaveLength(1);
    const h = report.handOvers![0]!;
    expect(h).toMatchObject({ from: 'agency-a', originOrganization: 'Agency A', originCaseId: caseA, originHead: { seq: pkg.headSeq }, packageSha256: pkg.sha256, captureIds: [caps[0]!.captureId], verdict: 'verified' });
    expect(h.receivedEvents).toHaveLength(1);
    expect(h.custodyEvents).toBe(pkg.headSeq);
    expect(report.checks.filter((c) => c.check === 'hand-over' && c.ok)).toHaveLength(1);
    expect(report.checks.find((c) => c.check === 'received-package')?.message).toMatch(/verifies on its own/);
    expect(report.trust.signingKeys.map((k) => k.fingerprint).sort()).toEqual([(await A.keys.activeKey()).fingerprint, (await B.keys.activeKey()).fingerprint].sort());
    // Without A's pins, B's court package is only consistent: A's key and TSA are named as not pinned.
    const onlyB = await verifyPackage(court.path, await B.anchors());
    expect(onlyB.verdict).toBe('unauthenticated');
    expect(onlyB.trust.summary).toContain((await A.keys.activeKey()).fingerprint);

    // A selection of only the received capture carries A's package, and none of B's own capture.
    const sel = await B.pack(caseB, { captureIds: [caps[0]!.captureId], name: 'b-sel' });
    const selReport = await verifyPackage(sel.path, both);
    expect(selReport.failures).toEqual([]);
    expect(selReport.captureIds).toEqual([]);
    expect(selReport.handOvers).toHaveLength(1);
    const dir = await mkdtemp(path.join(work, 'sel-'));
    await run('unzip', ['-q', sel.path, '-d', dir]);
    expect(await readFile(path.join(dir, 'b-sel/data/custody/events.jsonl'), 'utf8')).not.toContain(own.captureId);

    // The hand-over is checked: B's package with A's package swapped for another of A's is refused.
    const other = await sharePackage(A, caseA, { partner: 'agency-b', partnerKeys: [(await B.keys.activeKey()).fingerprint] }, { captureIds: [caps[0]!.captureId], name: 'a-to-b-2' });
    const bag = path.join(dir, 'b-sel');
    const hex = pkg.sha256.replace('sha256:', '');
    await writeFile(path.join(bag, `data/received/${hex}/package.zip`), await readFile(other.path));
    const swapped = await verifyPackage(bag, both);
    expect(swapped.failures.some((f) => f.item === `data/received/${hex}/package.zip` && f.check === 'received-package' && /hashes to/.test(f.message))).toBe(true);
  });
});
