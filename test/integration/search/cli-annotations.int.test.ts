/**
 * The command line over a local store and real Redis: `exhibit tag`, `note`, `list --tag`, `show`,
 * `search` (and `--rebuild`), each a real process; then a package of the case carries the
 * annotations in data/annotations.json, apart from the evidence, covered by the package seal, and
 * named in the certificate.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AnnotationsDocument } from '../../../schemas/annotation.js';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { startEvidenceEnv, type EvidenceEnv } from '../../support/evidence-env.js';
import type { SealedCapture } from '../../support/sealed-capture.js';
import { captureArtifacts, syntheticCapture } from '../../support/synthetic-posts.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');
const CASE = 'C-CLI-TAGS';

describe('tags, notes and search on the command line; annotations in packages', () => {
  let env: EvidenceEnv;
  let post: SealedCapture;
  let page: SealedCapture;
  let unzipped: string;

  const cli = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const r = await run(process.execPath, ['--import', 'tsx', 'app/cli.ts', ...args], {
        cwd: ROOT,
        env: { ...process.env, EXHIBIT_STATE_DIR: path.join(env.dir, 'state'), EXHIBIT_STORE_DIR: path.join(env.dir, 'store'), EXHIBIT_REDIS_URL: inject('redisUrl'), EXHIBIT_REDIS_PREFIX: env.prefix, EXHIBIT_LOG_LEVEL: 'error' },
        maxBuffer: 16 * 1024 * 1024,
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  };

  beforeAll(async () => {
    env = await startEvidenceEnv(inject('redisUrl'));
    post = await env.seal(CASE, { url: 'https://t.me/s/sahel_news/101', extra: captureArtifacts(syntheticCapture('telegram', { id: 'sahel_news/101', author: { id: 'sahel_news', handle: 'sahel_news', displayName: 'أخبار الساحل' }, text: 'أُعْلِنَتْ حَالَةُ الطَّوَارِئِ فِي المَدِينَة', hashtags: ['سوريا'] })) });
    page = await env.seal(CASE);
    unzipped = await mkdtemp(path.join(os.tmpdir(), 'exhibit-annotations-'));
  }, 120_000);
  afterAll(async () => {
    await env?.close();
    if (unzipped) await rm(unzipped, { recursive: true, force: true });
  });

  it('tag and note record custody events with the operator, OS user and host; a repeated tag records nothing', async () => {
    const t1 = await cli(['tag', post.captureId, 'Priority', '--operator', 'analyst.one']);
    expect(t1.code, t1.stderr).toBe(0);
    expect(t1.stdout).toMatch(/^tagged: .*Priority.* on capture /);
    const t2 = await cli(['tag', post.captureId, 'PRIORITY', '--operator', 'analyst.one']);
    expect(t2.stdout).toMatch(/nothing to record/);
    const n = await cli(['note', post.captureId, 'يطابق البيان الرسمي\nsecond line', '--operator', 'analyst.one']);
    expect(n.code, n.stderr).toBe(0);
    await cli(['tag', page.captureId, 'context', '--operator', 'analyst.two']);
    const events = (await env.custody.readLog(CASE)).map((e) => e.event).filter((e) => ['tag-added', 'note-added'].includes(e.action));
    expect(events.map((e) => [e.action, e.subject.captureId, e.actor.id, e.actor.type, e.details.via])).toEqual([
      ['tag-added', post.captureId, 'analyst.one', 'operator', 'cli'],
      ['note-added', post.captureId, 'analyst.one', 'operator', 'cli'],
      ['tag-added', page.captureId, 'analyst.two', 'operator', 'cli'],
    ]);
    expect(events[0]!.actor.osUser).toBe(os.userInfo().username);
    expect(events[0]!.actor.host).toBe(os.hostname());
    expect(events[0]!.subject.digests).toEqual([post.manifestDigest]);
  });

  it('refuses a bad tag, a blank note and an unknown capture', async () => {
    expect((await cli(['tag', post.captureId, 'a,b'])).code).toBe(4);
    expect((await cli(['note', post.captureId, '   '])).code).toBe(4);
    expect((await cli(['tag', '01900000-0000-7000-8000-0000000000ff', 'x'])).code).toBe(6);
  });

  it('list --tag keeps the tagged captures; show prints tags and notes apart from the evidence', async () => {
    const list = await cli(['list', '--case', CASE, '--tag', 'priority', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as Array<{ captureId: string; tags: string[] }>;
    expect(rows.map((r) => [r.captureId, r.tags])).toEqual([[post.captureId, ['Priority']]]);
    expect((await cli(['list', '--case', CASE, '--tag', 'no-such-tag'])).code).toBe(6);
    const human = await cli(['list', '--case', CASE, '--tag', 'context']);
    expect(human.stdout).toContain(page.captureId);
    expect(human.stdout).not.toContain(post.captureId);
    const show = await cli(['show', post.captureId]);
    expect(show.stdout).toMatch(/Tags {9}.*Priority.*\(analyst annotations, not evidence\)/);
    expect(show.stdout).toMatch(/Note {9}by analyst\.one at .* \(custody event \d+\)/);
    expect(show.stdout).toContain('يطابق البيان الرسمي');
  });

  it('search finds the Arabic post typed without diacritics, records the read, and fails cleanly', async () => {
    const r = await cli(['search', 'اعلنت حاله الطوارى', '--operator', 'analyst.one']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(post.captureId);
    expect(r.stdout).toContain('أُعْلِنَتْ حَالَةُ الطَّوَارِئِ');
    expect(r.stdout).toContain('tags: ');
    const j = JSON.parse((await cli(['search', 'سوريا', '--case', CASE, '--json'])).stdout) as { hits: Array<{ captureId: string; matchedIn: string[] }> };
    expect(j.hits.map((h) => [h.captureId, h.matchedIn])).toEqual([[post.captureId, ['hashtags']]]);
    expect((await cli(['search', 'context', '--tag', 'Context'])).stdout).toContain(page.captureId);
    const reads = (await env.custody.readLog(CASE)).map((e) => e.event).filter((e) => e.action === 'viewed' && e.details.view === 'search');
    expect(reads[0]).toMatchObject({ actor: { type: 'operator', id: 'analyst.one' }, details: { via: 'cli', query: 'اعلنت حاله الطوارى', captureIds: [post.captureId] } });
    expect((await cli(['search', 'nothing-like-this'])).code).toBe(6);
    expect((await cli(['search', 'x'.repeat(201)])).code).toBe(4);
    const noCase = await cli(['search', 'x', '--case', 'C-NO-SUCH-CASE']);
    expect(noCase.code, noCase.stderr).toBe(6);
    expect((await cli(['search'])).code).toBe(4);
    const rebuilt = await cli(['search', '--rebuild']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout).toMatch(/search index rebuilt from .*: 2 captures, 5 documents/);
  });

  it('a package carries the annotations in data/annotations.json, sealed, and the certificate names them apart from the evidence', async () => {
    const pkg = await env.pack(CASE, { name: 'annotated' });
    await run('unzip', ['-q', pkg.path, '-d', unzipped]);
    const bag = path.join(unzipped, 'annotated');
    const doc = AnnotationsDocument.parse(JSON.parse(await readFile(path.join(bag, 'data/annotations.json'), 'utf8')));
    expect(doc.kind).toBe('analyst-annotations');
    expect(doc.statement).toMatch(/not evidence/);
    const mine = doc.captures.find((x) => x.captureId === post.captureId)!;
    expect(mine.tags.map((x) => [x.tag, x.by.id])).toEqual([['Priority', 'analyst.one']]);
    expect(mine.notes.map((x) => x.note)).toEqual(['يطابق البيان الرسمي\nsecond line']);
    // Each annotation names its event, which the bag's custody log holds with the same hash.
    const events = (await readFile(path.join(bag, 'data/custody/events.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string; action: string });
    for (const a of [...mine.tags, ...mine.notes]) expect(events.find((e) => e.seq === a.seq)?.hash).toBe(a.eventHash);
    const html = await readFile(path.join(bag, 'data/certificate.html'), 'utf8');
    expect(html).toContain('Analyst annotations (not evidence)');
    expect(html).toContain('يطابق البيان الرسمي');
    const good = await verifyPackage(pkg.path, await env.anchors());
    expect(good.verdict).toBe('verified');
    expect(good.checks.filter((x) => x.check === 'annotations')).toEqual([{ item: 'data/annotations.json', check: 'annotations', ok: true, message: '3 analyst annotation(s) of 2 capture(s), each matching its custody event' }]);
    // Covered by the package seal, and recomputed from the log: an edited annotations file fails both.
    await writeFile(path.join(bag, 'data/annotations.json'), JSON.stringify({ ...doc, captures: [] }, null, 2) + '\n');
    const tampered = await verifyPackage(bag, await env.anchors());
    expect(tampered.verdict).toBe('failed');
    expect(tampered.failures.filter((f) => f.item === 'data/annotations.json').map((f) => f.check)).toEqual(expect.arrayContaining(['annotations', 'package-seal', 'payload-sha256']));
  });

  it('a capture whose post.json no longer matches its sealed digest is named, not indexed; the rest stays searchable', async () => {
    const bad = await env.seal('C-CLI-TAMPER', { extra: captureArtifacts(syntheticCapture('telegram', { id: 'x/9', author: { id: 'x', handle: 'tampered_channel', displayName: null }, text: 'نص أصلي' })) });
    const fine = await env.seal('C-CLI-TAMPER', { extra: captureArtifacts(syntheticCapture('telegram', { id: 'x/10', author: { id: 'x', handle: 'tampered_channel', displayName: null }, text: 'نص سليم' })) });
    const post = bad.manifest.artifacts.find((a) => a.role === 'post')!;
    // The local store fans blobs out by their first two hex digits (evidence/fs-store.ts).
    const hex = post.storeKey.slice('sha256/'.length);
    await writeFile(path.join(env.dir, 'store', 'sha256', hex.slice(0, 2), hex), '{"forged":true}');
    const r = await cli(['search', 'tampered_channel', '--case', 'C-CLI-TAMPER', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { hits: Array<{ captureId: string }>; skipped: Array<{ captureId: string; reason: string }> };
    expect(res.hits.map((h) => h.captureId)).toEqual([fine.captureId]);
    expect(res.skipped).toEqual([{ caseId: 'C-CLI-TAMPER', captureId: bad.captureId, reason: expect.stringMatching(/^HASH_MISMATCH: post\.json of capture .* reads as sha256:.* but its manifest says sha256:/) }]);
    expect(r.stderr).toContain(`not indexed: C-CLI-TAMPER/${bad.captureId}: HASH_MISMATCH`);
  });
});
