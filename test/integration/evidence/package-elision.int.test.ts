import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { canonicalBytes } from '../../../evidence/canonical.js';
import { elidedBytes } from '../../../evidence/custody-elide.js';
import { CustodyEvent } from '../../../schemas/custody.js';
import type { BuiltPackage } from '../../../evidence/package/build.js';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { startEvidenceEnv, type EvidenceEnv } from '../../support/evidence-env.js';
import type { SealedCapture } from '../../support/sealed-capture.js';

const run = promisify(execFile);
const PYTHON = process.env.EXHIBIT_PYTHON ?? 'python3';
const OTHER_URL = 'https://other-target.example/profile/hidden-person';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true, recursive: true })) if (d.isFile()) out.push(path.join(d.parentPath, d.name));
  return out;
}

describe('a package of chosen captures discloses only their custody events', () => {
  let env: EvidenceEnv;
  let kept: SealedCapture;
  let other: SealedCapture;
  let pkg: BuiltPackage;
  let bag: string;
  let unzipped: string;
  const caseId = 'C-ELIDE-1';

  beforeAll(async () => {
    env = await startEvidenceEnv(inject('redisUrl'), { pdf: false });
    kept = await env.seal(caseId, { url: 'https://shown.example/post/1' });
    other = await env.seal(caseId, { url: OTHER_URL, operator: 'analyst.two' });
    // Reads of the other capture, and a list request naming both.
    await env.custody.append({ caseId, actor: { type: 'user', id: 'reader-7f3e', role: 'analyst' }, action: 'viewed', subject: { captureId: other.captureId }, details: { view: 'post' } });
    await env.custody.append({ caseId, actor: { type: 'user', id: 'reader-7f3e', role: 'analyst' }, action: 'viewed', subject: {}, details: { view: 'capture-list', captureIds: [kept.captureId, other.captureId] } });
    await env.custody.append({ caseId, actor: { type: 'operator', id: 'analyst.one', role: 'analyst' }, action: 'request-submitted', subject: {}, details: { captures: [{ captureId: kept.captureId, url: 'https://shown.example/post/1' }, { captureId: other.captureId, url: OTHER_URL }] } });
    pkg = await env.pack(caseId, { captureIds: [kept.captureId], name: 'elided' });
    unzipped = await mkdtemp(path.join(os.tmpdir(), 'exhibit-elide-'));
    await run('unzip', ['-q', pkg.path, '-d', unzipped]);
    bag = path.join(unzipped, 'elided');
  });
  afterAll(async () => {
    await env?.close();
    if (unzipped) await rm(unzipped, { recursive: true, force: true });
  });

  it('no file of the package names the other capture, its URL or its reader', async () => {
    const files = await filesUnder(bag);
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const text = (await readFile(f)).toString('latin1');
      expect(text, f).not.toContain(other.captureId);
      expect(text, f).not.toContain('other-target.example');
      expect(text, f).not.toContain('reader-7f3e');
      expect(text, f).not.toContain('analyst.two');
    }
    const lines = (await readFile(path.join(bag, 'data/custody/events.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBe(pkg.headSeq);
    const elided = lines.filter((l) => l.schemaVersion === 'exhibit.custody-elided/1');
    expect(elided.length).toBeGreaterThanOrEqual(4);
    expect(lines.filter((l) => l.schemaVersion === 'exhibit.custody-event/1').every((l) => (l.subject as { captureId?: string }).captureId === kept.captureId || l.action === 'packaged')).toBe(true);
  });

  it('verifies (pinned), the chain checked end to end through the elided events', async () => {
    const report = await verifyPackage(pkg.path, await env.anchors());
    expect(report.failures).toEqual([]);
    expect(report.verdict).toBe('verified');
    expect(report.custodyEvents).toBe(pkg.headSeq);
    expect(report.checks.find((c) => c.check === 'custody-chain')?.message).toMatch(/elided to their hashes/);
  });

  it('the Python chain check in VERIFY.txt passes on the elided log', async () => {
    const text = await readFile(path.join(bag, 'data/VERIFY.txt'), 'utf8');
    const m = /python3 - <<'EOF'\n([\s\S]*?)\n\s*EOF/.exec(text);
    const script = m![1]!.split('\n').map((l) => l.replace(/^ {5}/, '')).join('\n');
    const { stdout } = await run(PYTHON, ['-c', script], { cwd: bag });
    expect(stdout).toContain(`custody chain OK, head ${pkg.headSeq}`);
  });

  it('a changed elided hash fails the chain check naming the line that no longer links', async () => {
    const copy = await mkdtemp(path.join(os.tmpdir(), 'exhibit-elide-t-'));
    try {
      await run('cp', ['-r', `${bag}/.`, copy]);
      const p = path.join(copy, 'data/custody/events.jsonl');
      const lines = (await readFile(p, 'utf8')).trim().split('\n');
      const i = lines.findIndex((l, k) => k < lines.length - 1 && l.includes('exhibit.custody-elided/1'));
      const o = JSON.parse(lines[i]!) as Record<string, unknown>;
      o.hash = `sha256:${'0'.repeat(64)}`;
      lines[i] = canonicalBytes(o).toString('utf8');
      await writeFile(p, lines.join('\n') + '\n');
      const report = await verifyPackage(copy, await env.anchors());
      expect(report.verdict).toBe('failed');
      expect(report.failures.some((f) => f.item === `data/custody/events.jsonl#line${i + 2}` && f.check === 'custody-chain' && /does not link/.test(f.message))).toBe(true);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('a whole-case package still carries every event whole, and verify refuses one that elides', async () => {
    const whole = await env.pack(caseId, { name: 'whole' });
    const out = await mkdtemp(path.join(os.tmpdir(), 'exhibit-elide-w-'));
    try {
      await run('unzip', ['-q', whole.path, '-d', out]);
      const text = await readFile(path.join(out, 'whole/data/custody/events.jsonl'), 'utf8');
      expect(text).not.toContain('exhibit.custody-elided/1');
      expect(text).toContain(OTHER_URL);
      expect((await verifyPackage(whole.path, await env.anchors())).verdict).toBe('verified');
      const p = path.join(out, 'whole/data/custody/events.jsonl');
      const lines = text.trim().split('\n');
      const i = lines.findIndex((l) => l.includes(OTHER_URL));
      lines[i] = elidedBytes(CustodyEvent.parse(JSON.parse(lines[i]!))).toString('utf8');
      await writeFile(p, lines.join('\n') + '\n');
      const report = await verifyPackage(path.join(out, 'whole'), await env.anchors());
      expect(report.failures.find((f) => f.check === 'package-completeness')?.message).toMatch(/must disclose its whole custody log/);
      expect(report.failures.some((f) => f.check === 'custody-chain')).toBe(false);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
