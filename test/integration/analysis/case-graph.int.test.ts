/**
 * The case graph from a real evidence store: sealed captures (post.json + media, signed and
 * timestamped by the local TSA, custody events on real Redis) → exactly the expected nodes and
 * edges, every source resolving to the sealed bytes; an analyst assertion through the CLI becomes a
 * custody event and an asserted edge; exports re-read by Python networkx.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { StoredCaptureManifest } from '../../../schemas/manifest.js';
import { sha256Digest } from '../../../evidence/canonical.js';
import { readStoredEvents } from '../../../evidence/custody.js';
import { storeKeys } from '../../../evidence/store.js';
import { buildCaseGraph } from '../../../analysis/sealed-posts.js';
import { graphDocument } from '../../../analysis/graph-view.js';
import { toGexf, toGraphml } from '../../../analysis/graph-export.js';
import { startEvidenceEnv, type EvidenceEnv } from '../../support/evidence-env.js';
import { python } from '../../support/python.js';
import { asSealedPost, captureArtifacts, edgeLine, networkScenario, resolvePointer, syntheticCase } from '../../support/synthetic-posts.js';
import { CaseGraph } from '../../../analysis/case-graph.js';
import { graphMeasures } from '../../../analysis/graph-measures.js';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');
const CASE = 'case-network-1';

describe('case graph from sealed captures', () => {
  let env: EvidenceEnv;
  const scenario = networkScenario();
  const captureIds: string[] = [];

  const cli = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'app/cli.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, EXHIBIT_STATE_DIR: path.join(env.dir, 'state'), EXHIBIT_STORE_DIR: path.join(env.dir, 'store'), EXHIBIT_REDIS_URL: inject('redisUrl'), EXHIBIT_REDIS_PREFIX: env.prefix, EXHIBIT_LOG_LEVEL: 'error' },
      maxBuffer: 64 * 1024 * 1024,
    });

  beforeAll(async () => {
    env = await startEvidenceEnv(inject('redisUrl'), { pdf: false });
    for (const c of scenario.captures) captureIds.push((await env.seal(CASE, { extra: captureArtifacts(c) })).captureId);
    // A web capture (no post.json) in the same case: listed as skipped, never silently dropped.
    captureIds.push((await env.seal(CASE)).captureId);
  }, 120_000);

  afterAll(async () => {
    await env?.close();
  });

  it('builds exactly the expected nodes and edges, each source resolving to the sealed post.json bytes', async () => {
    const { graph, skipped } = await buildCaseGraph(env.store, [CASE]);
    const snap = graph.snapshot();
    expect(snap.nodes.map((n) => n.id)).toEqual(scenario.nodes);
    expect(snap.edges.map(edgeLine).sort()).toEqual(scenario.edges);
    expect(skipped).toEqual([{ captureId: captureIds[3], reason: 'no post.json in the capture (not a platform capture)' }]);

    // Follow every source back: manifest → artifact digest → bytes from the store → JSON pointer.
    const docs = new Map<string, unknown>();
    const sealedDoc = async (captureId: string, artifact: string, sha256: string) => {
      const key = `${captureId}/${artifact}`;
      if (!docs.has(key)) {
        const m = StoredCaptureManifest.parse(JSON.parse((await env.store.getBytes(storeKeys.manifest(CASE, captureId))).toString('utf8')));
        const a = m.artifacts.find((x) => x.name === artifact)!;
        expect(a.sha256).toBe(sha256);
        const bytes = await env.store.getBytes(a.storeKey);
        expect(sha256Digest(bytes)).toBe(sha256);
        docs.set(key, JSON.parse(bytes.toString('utf8')));
      }
      return docs.get(key);
    };
    let followed = 0;
    for (const item of [...snap.nodes, ...snap.edges]) {
      for (const p of item.provenance) {
        if (p.basis !== 'observed') continue;
        const doc = (await sealedDoc(p.captureId, p.artifact, p.sha256)) as { observedAt: string };
        expect(resolvePointer(doc, p.pointer), `${item.id} ${p.pointer}`).toBeDefined();
        expect(p.capturedAt).toBe(doc.observedAt);
        followed++;
      }
    }
    expect(followed).toBeGreaterThan(40);
    // Values, not just presence: the mention edge points at the mention, the hashtag's spellings at the hashtags.
    const mention = snap.edges.find((e) => e.type === 'mentions')!.provenance[0]!;
    if (mention.basis !== 'observed') throw new Error('observed expected');
    expect(resolvePointer(await sealedDoc(mention.captureId, mention.artifact, mention.sha256), mention.pointer)).toEqual({ handle: 'omar@social.example', id: '222', url: null });
    const tag = snap.nodes.find((n) => n.kind === 'hashtag')!;
    for (const h of tag.handles) {
      const p = tag.provenance.find((x) => x.basis === 'observed' && x.captureId === h.captureId)!;
      if (p.basis !== 'observed') throw new Error('observed expected');
      expect(resolvePointer(await sealedDoc(h.captureId, 'post.json', p.sha256), h.pointer)).toBe(h.value);
    }
    const repost = snap.edges.find((e) => e.type === 'reposts' && e.source.startsWith('account:'))!.provenance[0]!;
    if (repost.basis !== 'observed') throw new Error('observed expected');
    expect(repost.statedTime).toEqual({ raw: '2026-02-11T09:00:00Z', utc: '2026-02-11T09:00:00Z' });
  });

  it('an analyst assertion through the CLI is a custody event and an asserted edge, distinct from observed ones', async () => {
    const { stdout } = await cli(['graph', 'assert', CASE, '--same', '@news_ar', 'layla@social.example', '--reason', 'same phone number in both bios — رقم الهاتف نفسه', '--operator', 'analyst.two']);
    expect(stdout).toMatch(/^recorded: account:mastodon:111 is the same person as account:telegram:news_ar \(custody event \d+/);
    // Again: the same assertion is not recorded twice.
    expect((await cli(['graph', 'assert', CASE, '--same', '@news_ar', 'layla@social.example', '--reason', 'same phone number in both bios — رقم الهاتف نفسه', '--operator', 'analyst.two'])).stdout).toMatch(/^already recorded/);
    const events = (await readStoredEvents(env.store, CASE)).map((e) => e.event).filter((e) => e.action === 'identity-asserted');
    expect(events).toHaveLength(1);
    expect(events[0]!.actor).toEqual({ type: 'operator', id: 'analyst.two', role: 'analyst' });
    expect(events[0]!.details).toEqual({ kind: 'same', accounts: ['account:mastodon:111', 'account:telegram:news_ar'], reason: 'same phone number in both bios — رقم الهاتف نفسه' });

    const { graph } = await buildCaseGraph(env.store, [CASE]);
    const asserted = graph.snapshot().edges.filter((e) => e.basis === 'asserted-by-analyst');
    expect(asserted.map(edgeLine)).toEqual(['asserted-same account:mastodon:111 -> account:telegram:news_ar w1']);
    expect(asserted[0]!.provenance).toEqual([{ basis: 'asserted-by-analyst', custodySeq: events[0]!.seq, eventId: events[0]!.eventId, eventHash: events[0]!.hash, actor: 'analyst.two', time: events[0]!.time, reason: 'same phone number in both bios — رقم الهاتف نفسه' }]);
    // Nothing was merged: both accounts are still their own nodes with their own observed edges.
    expect(graph.snapshot().nodes.filter((n) => n.id === 'account:mastodon:111' || n.id === 'account:telegram:news_ar')).toHaveLength(2);
  });

  it('refuses an assertion naming an account the graph does not hold', async () => {
    await expect(cli(['graph', 'assert', CASE, '--linked', '@news_ar', '@nobody', '--reason', 'x'])).rejects.toMatchObject({ code: 6, stderr: expect.stringContaining('no account @nobody') });
  });

  it('GraphML and GEXF re-read by networkx hold the same nodes, edges, weights and Arabic labels', async () => {
    const out = path.join(env.dir, 'case.graphml');
    await cli(['graph', CASE, '--format', 'graphml', '-o', out]);
    await cli(['graph', CASE, '--format', 'gexf', '-o', path.join(env.dir, 'case.gexf')]);
    const { graph, skipped } = await buildCaseGraph(env.store, [CASE]);
    const doc = graphDocument(graph, { caseIds: [CASE], builtAt: '2026-03-02T00:00:00Z', builder: 'test', skipped });
    const readBack = JSON.parse(
      await python(
        `
import io, json, sys, networkx as nx
# networkx 3.4 reads GEXF 1.1draft/1.2draft only; every element and attribute we write is the same in
# 1.2draft and 1.3, so the 1.3 namespace is mapped (exactly once) before reading.
gexf = open(sys.argv[2], encoding="utf-8").read()
assert gexf.count('xmlns="http://gexf.net/1.3"') == 1 and gexf.count('version="1.3"') == 1
gexf = gexf.replace('xmlns="http://gexf.net/1.3"', 'xmlns="http://www.gexf.net/1.2draft"').replace('version="1.3"', 'version="1.2"')
res = {}
for name, g in (("graphml", nx.read_graphml(sys.argv[1])), ("gexf", nx.read_gexf(io.BytesIO(gexf.encode("utf-8"))))):
    edges = list(g.edges(data=True))
    res[name] = {
        "directed": g.is_directed(),
        "nodes": sorted(g.nodes()),
        "edges": sorted("%s %s -> %s w%s" % (d.get("type") or d.get("edgeType"), u, v, int(d["weight"])) for u, v, d in edges),
        "news": g.nodes["account:telegram:news_ar"],
        "asserted": [d.get("basis") for u, v, d in edges if (d.get("type") or d.get("edgeType")) == "asserted-same"],
        "similar": [d.get("distance") for u, v, d in edges if (d.get("type") or d.get("edgeType")) == "similar-media"],
        "normalisation": g.graph.get("normalisation"),
    }
print(json.dumps(res, ensure_ascii=False))
`,
        [out, path.join(env.dir, 'case.gexf')],
      ),
    ) as Record<string, { directed: boolean; nodes: string[]; edges: string[]; news: Record<string, string>; asserted: string[]; similar: string[]; normalisation?: string }>;
    const expectedEdges = doc.edges.map(edgeLine).sort();
    for (const fmt of ['graphml', 'gexf'] as const) {
      const r = readBack[fmt]!;
      expect(r.directed).toBe(true);
      expect(r.nodes).toEqual(doc.nodes.map((n) => n.id).sort());
      expect(r.edges).toEqual(expectedEdges);
      expect(r.news.displayNames).toBe('أخبار العاجلة');
      expect(r.news.label).toBe('@news_ar');
      expect(r.news.captures).toBe(doc.nodes.find((n) => n.id === 'account:telegram:news_ar')!.provenance.map((p) => (p.basis === 'observed' ? p.captureId : '')).filter((v, i, a) => a.indexOf(v) === i).sort().join(' '));
      expect(r.asserted).toEqual(['asserted-by-analyst']);
      expect(r.similar).toEqual(['2']);
    }
    expect(readBack.graphml!.normalisation).toContain('NFKC');
    // Files are written once: a second export to the same path is refused.
    await expect(cli(['graph', CASE, '--format', 'graphml', '-o', out])).rejects.toMatchObject({ code: 4, stderr: expect.stringContaining('already exists') });
    expect((await readFile(out, 'utf8')).startsWith('<?xml')).toBe(true);
    expect(toGraphml(doc)).toContain('أخبار العاجلة');
    expect(toGexf(doc)).toContain('version="1.3"');
  });

  it('CSV (Python csv) and node-link JSON (networkx node_link_graph) re-read with the same rows, edges and values', async () => {
    const base = path.join(env.dir, 'case-export');
    await cli(['graph', CASE, '--format', 'csv', '-o', `${base}.csv`]);
    await cli(['graph', CASE, '--format', 'json', '-o', `${base}.json`]);
    const doc = JSON.parse(await readFile(`${base}.json`, 'utf8'));
    const r = JSON.parse(
      await python(
        `
import csv, json, sys, networkx as nx
nodes = list(csv.DictReader(open(sys.argv[1], encoding="utf-8", newline="")))
edges = list(csv.DictReader(open(sys.argv[2], encoding="utf-8", newline="")))
g = nx.node_link_graph(json.load(open(sys.argv[3], encoding="utf-8")), edges="edges")
print(json.dumps({
  "csvNodes": sorted(n["id"] for n in nodes),
  "csvEdges": sorted("%s %s -> %s w%s" % (e["type"], e["source"], e["target"], e["weight"]) for e in edges),
  "csvNews": [n for n in nodes if n["id"] == "account:telegram:news_ar"][0],
  "csvProvenanceOk": all(len(json.loads(e["provenance"])) > 0 for e in edges),
  "jsonNodes": sorted(g.nodes()), "jsonEdges": g.number_of_edges(), "directed": g.is_directed(), "multi": g.is_multigraph(),
}, ensure_ascii=False))
`,
        [`${base}.nodes.csv`, `${base}.edges.csv`, `${base}.json`],
      ),
    );
    const ids = (doc.nodes as Array<{ id: string }>).map((n) => n.id).sort();
    const lines = (doc.edges as Parameters<typeof edgeLine>[0][]).map(edgeLine).sort();
    expect(r.csvNodes).toEqual(ids);
    expect(r.csvEdges).toEqual(lines);
    expect(r.csvNews.displayNames).toBe('أخبار العاجلة');
    expect(r.csvNews.label).toBe("'@news_ar");
    expect(r.csvProvenanceOk).toBe(true);
    expect(r.jsonNodes).toEqual(ids);
    expect(r.jsonEdges).toBe(lines.length);
    expect([r.directed, r.multi]).toEqual([true, true]);
    expect(doc.skipped).toHaveLength(1);
  });

  it('betweenness, degree and components agree with networkx on a synthetic case', async () => {
    const g = new CaseGraph();
    syntheticCase({ accounts: 30, posts: 200, seed: 3 }).forEach((c, i) => g.addCapture(asSealedPost('synthetic', `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`, c)));
    const snap = g.snapshot();
    const m = graphMeasures(snap);
    const accounts = snap.nodes.filter((n) => n.kind === 'account' || n.kind === 'channel').map((n) => n.id);
    const pairs = snap.edges.filter((e) => e.basis === 'observed' && accounts.includes(e.source) && accounts.includes(e.target) && e.source !== e.target).map((e) => [e.source, e.target]);
    expect(pairs.length).toBeGreaterThan(20);
    const nx = JSON.parse(
      await python(
        `
import json, sys, networkx as nx
d = json.loads(sys.argv[1])
g = nx.Graph(); g.add_nodes_from(d["nodes"]); g.add_edges_from(d["edges"])
print(json.dumps({"b": nx.betweenness_centrality(g, normalized=True), "deg": dict(g.degree()), "comp": sorted(len(c) for c in nx.connected_components(g))}))
`,
        [JSON.stringify({ nodes: accounts, edges: pairs })],
      ),
    ) as { b: Record<string, number>; deg: Record<string, number>; comp: number[] };
    for (const b of m.betweenness!) expect(b.score).toBeCloseTo(nx.b[b.id]!, 9);
    for (const d of m.degree) expect(d.degree).toBe(nx.deg[d.id]);
    expect(m.components.map((c) => c.size).sort((a, b) => a - b)).toEqual(nx.comp);
  });

  it('measures print each measure with its explanation', async () => {
    const { stdout } = await cli(['graph', 'measures', CASE]);
    expect(stdout).toContain('4 accounts');
    expect(stdout).toMatch(/Most-forwarded sources — .*\n {2}@news_ar {2}1 reposts by 1 accounts/);
    expect(stdout).toMatch(/Accounts sharing the same media — .*\n {2}@news_ar ↔ @relay_ch {2}1 post pairs/);
    expect(stdout).toContain('Betweenness — ');
  });

  it('a post.json whose stored bytes no longer match the manifest stops the build (never skipped)', async () => {
    const { chmod, writeFile } = await import('node:fs/promises');
    const m = StoredCaptureManifest.parse(JSON.parse((await env.store.getBytes(storeKeys.manifest(CASE, captureIds[0]!))).toString('utf8')));
    const a = m.artifacts.find((x) => x.role === 'post')!;
    const hex = a.sha256.slice(7);
    const file = path.join(env.dir, 'store', 'sha256', hex.slice(0, 2), hex);
    await chmod(file, 0o644);
    await writeFile(file, (await readFile(file, 'utf8')).replace('news_ar', 'news_xx'));
    await expect(buildCaseGraph(env.store, [CASE])).rejects.toMatchObject({ name: 'IntegrityError', code: 'HASH_MISMATCH' });
  });
});
