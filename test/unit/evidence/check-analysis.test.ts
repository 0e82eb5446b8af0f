import { describe, expect, it } from 'vitest';
import { CaseGraph } from '../../../analysis/case-graph.js';
import { toGraphml, toJson } from '../../../analysis/graph-export.js';
import { graphDocument } from '../../../analysis/graph-view.js';
import { checkAnalysis, graphmlEdgeCaptures } from '../../../evidence/package/check-analysis.js';
import { Report, type BagContext } from '../../../evidence/package/checks.js';
import type { CustodyEvent } from '../../../schemas/custody.js';
import type { CaseGraphDocument } from '../../../schemas/graph.js';
import { asSealedPost, networkScenario } from '../../support/synthetic-posts.js';

const IDS = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003'];
const EVENT_ID = '00000000-0000-4000-8000-0000000000aa';
const HASH = `sha256:${'ab'.repeat(32)}`;

function scenarioDoc(withAssertion = false): CaseGraphDocument {
  const g = new CaseGraph();
  networkScenario().captures.forEach((c, i) => g.addCapture(asSealedPost('C-1', IDS[i]!, c)));
  if (withAssertion) {
    g.addAssertion({ eventId: EVENT_ID, seq: 7, hash: HASH, action: 'identity-asserted', time: '2026-03-02T10:00:00Z', actor: { type: 'operator', id: 'analyst.one', role: 'analyst' }, details: { kind: 'linked', accounts: ['account:mastodon:111', 'account:telegram:news_ar'], reason: 'same phone' } } as unknown as CustodyEvent);
  }
  return graphDocument(g, { caseIds: ['C-1'], builtAt: '2026-03-02T10:00:00Z', builder: 'test', skipped: [] });
}

function bag(files: Record<string, string>): { ctx: BagContext; report: Report } {
  const report = new Report();
  const paths = Object.keys(files).sort();
  return { report, ctx: { files: paths, fileSet: new Set(paths), payloadFiles: paths.filter((p) => p.startsWith('data/')), read: async (p) => Buffer.from(files[p]!), region: async () => null, stream: async function* (p) { yield Buffer.from(files[p]!); }, report } };
}

const failures = (r: Report) => r.checks.filter((c) => !c.ok).map((c) => `${c.item}: ${c.message}`);

describe('verify: the case graph in a package', () => {
  it('passes when every capture named is in the package, JSON and GraphML agreeing', async () => {
    const doc = scenarioDoc();
    const { ctx, report } = bag({ 'data/analysis/case-graph.json': toJson(doc), 'data/analysis/case-graph.graphml': toGraphml(doc) });
    await checkAnalysis(ctx, { captureIds: IDS, events: [] });
    expect(failures(report)).toEqual([]);
    expect(report.checks.map((c) => c.item)).toEqual(['data/analysis/case-graph.json', 'data/analysis/case-graph.graphml']);
  });

  it('no analysis folder: no check at all', async () => {
    const { ctx, report } = bag({ 'data/README.txt': 'x' });
    await checkAnalysis(ctx, { captureIds: IDS, events: [] });
    expect(report.checks).toEqual([]);
  });

  it('analysis files without a case graph fail', async () => {
    const { ctx, report } = bag({ 'data/analysis/case-graph.svg': '<svg/>' });
    await checkAnalysis(ctx, { captureIds: IDS, events: [] });
    expect(failures(report)).toEqual(['data/analysis/case-graph.json: the package carries derived analysis files but no case graph to check them against']);
  });

  it('a case graph that does not parse fails', async () => {
    const { ctx, report } = bag({ 'data/analysis/case-graph.json': '{"schemaVersion":"other"}' });
    await checkAnalysis(ctx, { captureIds: IDS, events: [] });
    expect(failures(report)[0]).toMatch(/^data\/analysis\/case-graph\.json: not a case graph/);
  });

  it('a capture missing from the package is named with each node and edge that names it', async () => {
    const doc = scenarioDoc();
    const { ctx, report } = bag({ 'data/analysis/case-graph.json': toJson(doc) });
    await checkAnalysis(ctx, { captureIds: [IDS[0]!, IDS[2]!], events: [] });
    const f = failures(report);
    expect(f).toContain(`data/analysis/case-graph.json: the graph was built from capture ${IDS[1]}, which is not in this package`);
    expect(f).toContain(`data/analysis/case-graph.json: edge reposts:account:telegram:relay_ch->account:telegram:news_ar names capture ${IDS[1]}, which is not in this package`);
    expect(f).toContain(`data/analysis/case-graph.json: node account:telegram:relay_ch names capture ${IDS[1]}, which is not in this package`);
    expect(f.every((m) => m.includes(IDS[1]!))).toBe(true);
  });

  it('an observed edge naming no capture fails', async () => {
    const doc = scenarioDoc();
    const e = doc.edges.find((x) => x.type === 'mentions')!;
    e.provenance = [];
    const { ctx, report } = bag({ 'data/analysis/case-graph.json': toJson(doc) });
    await checkAnalysis(ctx, { captureIds: IDS, events: [] });
    expect(failures(report)).toEqual([`data/analysis/case-graph.json: edge ${e.id} names no capture`]);
  });

  it("an assertion must be an identity-asserted event of the package's log, with the same hash", async () => {
    const doc = scenarioDoc(true);
    const edge = doc.edges.find((x) => x.type === 'asserted-linked')!;
    const json = toJson(doc);
    const event = { seq: 7, hash: HASH, action: 'identity-asserted' } as CustodyEvent;
    for (const [events, ok] of [[[event], true], [[], false], [[{ ...event, hash: `sha256:${'cd'.repeat(32)}` }], false], [[{ ...event, action: 'viewed' }], false]] as const) {
      const { ctx, report } = bag({ 'data/analysis/case-graph.json': json });
      await checkAnalysis(ctx, { captureIds: IDS, events: events as unknown as CustodyEvent[] });
      expect(failures(report)).toEqual(ok ? [] : [`data/analysis/case-graph.json: edge ${edge.id} names custody event 7 (${HASH}), which is not an identity assertion in this package's custody log`]);
    }
  });

  it('GraphML that names other captures than the JSON, or other edges, fails naming the edge', async () => {
    const doc = scenarioDoc();
    const edgeId = 'reposts:account:telegram:relay_ch->account:telegram:news_ar';
    const graphml = toGraphml(doc).replace(/(<edge id="reposts:account:telegram:relay_ch-&gt;account:telegram:news_ar"[\s\S]*?<data key="e_captures">)[^<]*/, `$1${IDS[0]}`);
    const dropped = toGraphml(doc).replace(/<edge id="mentions:[^"]*"[\s\S]*?<\/edge>\n/, '');
    for (const [xml, want] of [
      [graphml, `data/analysis/case-graph.graphml: edge ${edgeId} names captures ${IDS[0]}, data/analysis/case-graph.json names ${IDS[1]}`],
      [dropped, 'data/analysis/case-graph.graphml: edge mentions:account:mastodon:111->account:mastodon:222 of data/analysis/case-graph.json is missing'],
    ] as const) {
      const { ctx, report } = bag({ 'data/analysis/case-graph.json': toJson(doc), 'data/analysis/case-graph.graphml': xml });
      await checkAnalysis(ctx, { captureIds: IDS, events: [] });
      expect(failures(report)).toEqual([want]);
    }
  });

  it('reads edge ids and captures back from GraphML, XML escapes undone', () => {
    const doc = scenarioDoc();
    const m = graphmlEdgeCaptures(toGraphml(doc));
    expect(m.size).toBe(doc.edges.length);
    expect(m.get('reposts:account:telegram:relay_ch->account:telegram:news_ar')).toEqual([IDS[1]]);
  });
});
