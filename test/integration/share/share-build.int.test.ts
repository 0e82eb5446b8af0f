import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { canonicalBytes } from '../../../evidence/canonical.js';
import type { BuiltPackage } from '../../../evidence/package/build.js';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { startEvidenceEnv, type EvidenceEnv } from '../../support/evidence-env.js';
import type { SealedCapture } from '../../support/sealed-capture.js';
import { sharePackage } from '../../support/share-env.js';

const run = promisify(execFile);
const B_KEY = `sha256:${'b'.repeat(64)}`;

describe('exhibit share: a package for a partner, with an artifact withheld', () => {
  let env: EvidenceEnv;
  let shown: SealedCapture;
  let other: SealedCapture;
  let pkg: BuiltPackage;
  let bag: string;
  let unzipped: string;
  const caseId = 'C-SHARE-1';

  beforeAll(async () => {
    env = await startEvidenceEnv(inject('redisUrl'), { pdf: false });
    shown = await env.seal(caseId, { url: 'https://shown.example/post/1' });
    other = await env.seal(caseId, { url: 'https://not-shared.example/x' });
    pkg = await sharePackage(env, caseId, { partnerKeys: [B_KEY], withhold: ['screenshot'] }, { captureIds: [shown.captureId], name: 'to-b' });
    unzipped = await mkdtemp(path.join(os.tmpdir(), 'exhibit-share-'));
    await run('unzip', ['-q', pkg.path, '-d', unzipped]);
    bag = path.join(unzipped, 'to-b');
  });
  afterAll(async () => {
    await env?.close();
    if (unzipped) await rm(unzipped, { recursive: true, force: true });
  });

  it('verifies against the original signed manifest and tokens, the withheld screenshot and its thumbnail named', async () => {
    const report = await verifyPackage(pkg.path, await env.anchors());
    expect(report.failures).toEqual([]);
    expect(report.verdict).toBe('verified');
    expect(report.share).toMatchObject({ to: 'agency-b', tlp: 'TLP:AMBER', expires: '2027-06-30', expired: false, legalBasis: 'MLA request 2026/42 under the bilateral treaty', recipientKeys: [B_KEY] });
    const shot = shown.manifest.artifacts.find((a) => a.role === 'screenshot')!;
    expect(report.share!.withheld.map((w) => [w.name, w.sha256, w.size])).toEqual([
      ['screenshot.png', shot.sha256, shot.size],
      ['derived/screenshot.thumb.webp', shown.manifest.artifacts.find((a) => a.role === 'thumbnail')!.sha256, expect.any(Number)],
    ]);
    expect(report.checks.filter((c) => c.check === 'share-withheld' && c.ok)).toHaveLength(2);
    // The manifest in the bag is the signed original, byte for byte.
    expect((await readFile(path.join(bag, 'data/captures', shown.captureId, 'manifest.json'))).equals(shown.manifestBytes)).toBe(true);
  });

  it('holds neither the withheld bytes (not even in the certificate) nor anything of the other capture', async () => {
    const files = (await readdir(bag, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
    expect(files.some((f) => f.endsWith('screenshot.png') || f.endsWith('.thumb.webp'))).toBe(false);
    const shotB64 = (await env.store.getBytes(shown.manifest.artifacts.find((a) => a.role === 'screenshot')!.storeKey)).toString('base64');
    for (const f of files) {
      const text = (await readFile(f)).toString('latin1');
      expect(text, f).not.toContain(shotB64.slice(0, 200));
      expect(text, f).not.toContain(other.captureId);
      expect(text, f).not.toContain('not-shared.example');
    }
  });

  it('the shared event is on the sender\'s log, naming partner, basis, marking, expiry and what was withheld', async () => {
    const log = await env.custody.readLog(caseId);
    const ev = log.find((e) => e.event.action === 'shared')!.event;
    expect(ev.seq).toBe(pkg.event.seq + 1);
    expect(ev.details).toMatchObject({ partner: 'agency-b', partnerKeys: [B_KEY], tlp: 'amber', expires: '2027-06-30', packageId: pkg.packageId, captureIds: [shown.captureId], shareRecordDigest: pkg.share!.digest });
    expect((ev.details.withheld as unknown[]).length).toBe(2);
    const info = await readFile(path.join(bag, 'bag-info.txt'), 'utf8');
    expect(info).toContain('Exhibit-TLP: TLP:AMBER');
  });

  it('an altered share record is refused, naming it', async () => {
    const copy = await mkdtemp(path.join(os.tmpdir(), 'exhibit-share-t-'));
    try {
      await run('cp', ['-r', `${bag}/.`, copy]);
      const p = path.join(copy, 'data/share/record.json');
      const rec = JSON.parse(await readFile(p, 'utf8')) as Record<string, unknown>;
      rec.tlp = 'clear';
      await writeFile(p, canonicalBytes(rec));
      const report = await verifyPackage(copy, await env.anchors());
      expect(report.verdict).toBe('failed');
      expect(report.failures.some((f) => f.item === 'data/share/record.json' && f.check === 'share-record' && /no shared custody event records/.test(f.message))).toBe(true);
      expect(report.failures.some((f) => f.item.startsWith('data/share/record.') && f.check === 'signature')).toBe(true);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('a share of the whole case names every capture and still elides the case\'s other packages and shares', async () => {
    const all = await sharePackage(env, caseId, { partner: 'agency-c', partnerKeys: [B_KEY] }, { name: 'whole-share' });
    expect(all.captureIds.sort()).toEqual([shown.captureId, other.captureId].sort());
    const report = await verifyPackage(all.path, await env.anchors());
    expect(report.failures).toEqual([]);
    const out = await mkdtemp(path.join(os.tmpdir(), 'exhibit-share-w-'));
    try {
      await run('unzip', ['-q', all.path, '-d', out]);
      const text = await readFile(path.join(out, 'whole-share/data/custody/events.jsonl'), 'utf8');
      expect(text).toContain('exhibit.custody-elided/1');
      expect(text).not.toContain('agency-b'); // the first share, to another partner
      expect(text).not.toContain(pkg.packageId);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('a withhold rule that matches nothing is refused before anything is recorded', async () => {
    const before = (await env.custody.head(caseId)).seq;
    await expect(sharePackage(env, caseId, { partnerKeys: [B_KEY], withhold: ['screenshots'] }, { captureIds: [shown.captureId] })).rejects.toThrow(/--withhold "screenshots" matches no artifact/);
    expect((await env.custody.head(caseId)).seq).toBe(before);
  });
});
