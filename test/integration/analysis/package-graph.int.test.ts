/**
 * The case graph in a certified package (real Redis, OpenSSL TSA, sealed captures): under
 * data/analysis/, marked derived in the content manifest, covered by the seal, every edge naming
 * captures of the same package — and `verify` failing, naming the edge and the capture, when one
 * names a capture the package does not hold.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PackageContentManifest } from '../../../schemas/trust.js';
import { CaseGraphDocument } from '../../../schemas/graph.js';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { caseGraphProduct } from '../../../analysis/graph-package.js';
import { assertIdentity } from '../../../analysis/identity.js';
import { startEvidenceEnv, type EvidenceEnv } from '../../support/evidence-env.js';
import { python } from '../../support/python.js';
import { captureArtifacts, networkScenario } from '../../support/synthetic-posts.js';

const run = promisify(execFile);
const CASE = 'C-GRAPH-PKG';
const ctx = { builtAt: '2026-03-02T09:00:00Z', builder: 'exhibit test' };

describe('case graph in a certified package', () => {
  let env: EvidenceEnv;
  let tmp: string;
  const ids: string[] = [];
  const scenario = networkScenario();

  beforeAll(async () => {
    env = await startEvidenceEnv(inject('redisUrl'), { pdf: false });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'exhibit-graph-pkg-'));
    for (const c of scenario.captures) ids.push((await env.seal(CASE, { extra: captureArtifacts(c) })).captureId);
    await assertIdentity(env.custody, { caseId: CASE, actor: { type: 'operator', id: 'analyst.one', role: 'analyst' }, kind: 'linked', accounts: ['account:telegram:news_ar', 'account:mastodon:111'], reason: 'same phone number in both profiles' });
  }, 120_000);
  afterAll(async () => {
    await env?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const unzip = async (zip: string) => {
    const dir = await mkdtemp(path.join(tmp, 'bag-'));
    await run('unzip', ['-q', zip, '-d', dir]);
    return path.join(dir, path.basename(zip, '.zip'));
  };

  /** VERIFY.txt's own check of the graph (Python, no Exhibit), run in the bag as a recipient would. */
  const verifyTxtGraphCheck = async (bag: string) => {
    const text = await readFile(path.join(bag, 'data/VERIFY.txt'), 'utf8');
    const from = text.indexOf("python3 - <<'EOF'", text.indexOf('holds a case graph'));
    const script = text.slice(from, text.indexOf('     EOF', from) + 8).split('\n').map((l) => l.replace(/^ {5}/, '')).join('\n');
    return run('bash', ['-c', script], { cwd: bag }).then( // spawns: bash python3
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
  };

  it('a whole-case package with the graph verifies; the graph is derived, sealed, and names only its own captures', async () => {
    const pkg = await env.pack(CASE, { name: 'with-graph', analysis: async (captureIds) => [await caseGraphProduct(env.store, CASE, captureIds, ctx)] });
    const report = await verifyPackage(pkg.path, await env.anchors());
    expect(report.failures).toEqual([]);
    expect(report.verdict).toBe('verified');
    const analysisChecks = report.checks.filter((c) => c.check === 'analysis-graph-captures');
    expect(analysisChecks.map((c) => [c.item, c.ok])).toEqual([['data/analysis/case-graph.json', true], ['data/analysis/case-graph.graphml', true]]);

    const bag = await unzip(pkg.path);
    const content = PackageContentManifest.parse(JSON.parse(await readFile(path.join(bag, 'data/package-content.json'), 'utf8')));
    expect(content.analysis).toEqual([{ kind: 'case-graph', derived: true, description: expect.stringContaining('each naming its captures'), files: ['data/analysis/README.txt', 'data/analysis/case-graph.json', 'data/analysis/case-graph.graphml', 'data/analysis/case-graph.svg'] }]);
    for (const f of content.analysis![0]!.files) expect(content.files.map((x) => x.path)).toContain(f);
    const seal = JSON.parse(await readFile(path.join(bag, 'package-seal.json'), 'utf8')) as { files: Array<{ path: string }> };
    for (const f of content.analysis![0]!.files) expect(seal.files.map((x) => x.path)).toContain(f);
    // sha256sum agrees with the BagIt manifest for the analysis files too.
    const { stdout } = await run('bash', ['-c', "grep ' data/analysis/' manifest-sha256.txt | sha256sum -c -"], { cwd: bag });
    expect(stdout.trim().split('\n')).toHaveLength(4);

    const doc = CaseGraphDocument.parse(JSON.parse(await readFile(path.join(bag, 'data/analysis/case-graph.json'), 'utf8')));
    expect(doc.nodes.map((n) => n.id).sort()).toEqual(scenario.nodes);
    const held = new Set(ids);
    for (const e of doc.edges) {
      const caps = e.provenance.flatMap((p) => (p.basis === 'observed' ? [p.captureId] : []));
      if (e.basis === 'observed') expect(caps.length, e.id).toBeGreaterThan(0);
      for (const c of caps) expect(held.has(c), `${e.id} names ${c}`).toBe(true);
    }
    const asserted = doc.edges.find((e) => e.type === 'asserted-linked')!;
    expect(asserted.provenance[0]).toMatchObject({ basis: 'asserted-by-analyst', reason: 'same phone number in both profiles' });

    // An independent reader: networkx reads the packaged GraphML with the same counts; the figure is well-formed SVG.
    const out = await python(
      'import sys, networkx as nx, xml.etree.ElementTree as ET\n' +
        'g = nx.read_graphml(sys.argv[1])\n' +
        'svg = ET.parse(sys.argv[2]).getroot()\n' +
        'print(g.number_of_nodes(), g.number_of_edges(), svg.tag, len(svg.findall("{http://www.w3.org/2000/svg}circle")))',
      [path.join(bag, 'data/analysis/case-graph.graphml'), path.join(bag, 'data/analysis/case-graph.svg')],
    );
    const [nodes, edges, tag, circles] = out.trim().split(' ');
    expect([Number(nodes), Number(edges), tag]).toEqual([doc.nodes.length, doc.edges.length, '{http://www.w3.org/2000/svg}svg']);
    expect(Number(circles)).toBeGreaterThanOrEqual(doc.nodes.length);
    const svg = await readFile(path.join(bag, 'data/analysis/case-graph.svg'), 'utf8');
    expect(svg).toMatch(/direction="rtl"[^>]*>#اخبار</);
    // A file slipped into data/analysis/ afterwards is named: not in the content manifest (nor the seal, nor the BagIt manifests).
    await writeFile(path.join(bag, 'data/analysis/notes.txt'), 'added later\n');
    const slipped = await verifyPackage(bag, await env.anchors());
    expect(slipped.failures).toContainEqual({ item: 'data/analysis/notes.txt', check: 'package-content', ok: false, message: 'analysis file not in the content manifest' });
    await rm(path.join(bag, 'data/analysis/notes.txt'));
    expect(await verifyTxtGraphCheck(bag)).toEqual({ code: 0, stdout: `case graph OK: ${doc.nodes.length} nodes and ${doc.edges.length} edges, each naming captures in this package\n` });
  });

  it('a package of chosen captures carries the graph of those captures only, and verifies', async () => {
    const chosen = [ids[0]!, ids[1]!];
    const pkg = await env.pack(CASE, { name: 'telegram-only', captureIds: chosen, analysis: async (captureIds) => [await caseGraphProduct(env.store, CASE, captureIds, ctx)] });
    const report = await verifyPackage(pkg.path, await env.anchors());
    expect(report.failures).toEqual([]);
    const doc = CaseGraphDocument.parse(JSON.parse(await readFile(path.join(await unzip(pkg.path), 'data/analysis/case-graph.json'), 'utf8')));
    expect(doc.captures.map((c) => c.captureId).sort()).toEqual([...chosen].sort());
    expect(doc.nodes.some((n) => n.platform === 'mastodon')).toBe(false);
  });

  it('an edge naming a capture the package does not hold fails verification, naming the edge and the capture', async () => {
    // A faulty builder: the package holds the first capture only, its graph is built from the whole case.
    const pkg = await env.pack(CASE, { name: 'graph-overreach', captureIds: [ids[0]!], analysis: async () => [await caseGraphProduct(env.store, CASE, ids, ctx)] });
    expect(pkg.sealed).toBe(true);
    const report = await verifyPackage(pkg.path, await env.anchors());
    expect(report.ok).toBe(false);
    // Everything else about the package is sound: only the graph check fails.
    expect(new Set(report.failures.map((f) => f.check))).toEqual(new Set(['analysis-graph-captures']));
    const messages = report.failures.map((f) => `${f.item}: ${f.message}`);
    expect(messages).toContain(`data/analysis/case-graph.json: edge reposts:account:telegram:relay_ch->account:telegram:news_ar names capture ${ids[1]}, which is not in this package`);
    expect(messages).toContain(`data/analysis/case-graph.graphml: edge reposts:account:telegram:relay_ch->account:telegram:news_ar names capture ${ids[1]}, which is not in this package`);
    expect(messages).toContain(`data/analysis/case-graph.json: the graph was built from capture ${ids[2]}, which is not in this package`);
    // The standard-tools check in VERIFY.txt fails too, naming the edge and the capture.
    const byHand = await verifyTxtGraphCheck(await unzip(pkg.path));
    expect(byHand.code).not.toBe(0);
    expect(byHand.stdout).toContain(`reposts:account:telegram:relay_ch->account:telegram:news_ar names capture ${ids[1]} which is not in this package`);
  });
});
