/**
 * Derived analysis products (data/analysis/): the case graph must stand on the package's own
 * evidence. Every capture a node or an edge names is one this package holds; every analyst
 * assertion it shows is an `identity-asserted` event of the package's custody log (same hash); the
 * GraphML carries the same edges naming the same captures as the JSON.
 */
import { CaseGraphDocument, type Provenance } from '../../schemas/graph.js';
import type { CustodyEvent } from '../../schemas/custody.js';
import { errMsg, type BagContext } from './checks.js';
import { bagPaths } from './layout.js';

const observedIds = (p: Provenance[]) => [...new Set(p.flatMap((x) => (x.basis === 'observed' ? [x.captureId] : [])))].sort();

const xmlText = (s: string) =>
  s.replace(/&(#\d+|#x[0-9a-f]+|amp|lt|gt|quot|apos);/gi, (_, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[e.toLowerCase()]!,
  );

/** Edge id → capture ids, as the GraphML states them. */
export function graphmlEdgeCaptures(xml: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of xml.matchAll(/<edge id="([^"]*)"[^>]*>([\s\S]*?)<\/edge>/g)) {
    const caps = /<data key="e_captures">([^<]*)<\/data>/.exec(m[2]!)?.[1];
    out.set(xmlText(m[1]!), caps ? xmlText(caps).split(' ').filter(Boolean).sort() : []);
  }
  return out;
}

export async function checkAnalysis(ctx: BagContext, opts: { captureIds: string[]; events: CustodyEvent[] }): Promise<void> {
  const { report: r, fileSet, read } = ctx;
  const files = ctx.payloadFiles.filter((f) => f.startsWith(bagPaths.analysisDir));
  if (!files.length) return;
  const jp = bagPaths.caseGraphJson;
  if (!fileSet.has(jp)) {
    r.fail(jp, 'analysis-graph', 'the package carries derived analysis files but no case graph to check them against');
    return;
  }
  let doc: CaseGraphDocument;
  try {
    doc = CaseGraphDocument.parse(JSON.parse((await read(jp)).toString('utf8')));
  } catch (err) {
    r.fail(jp, 'analysis-graph', `not a case graph: ${errMsg(err).slice(0, 500)}`);
    return;
  }
  const held = new Set(opts.captureIds);
  const problems: string[] = [];
  for (const c of doc.captures) if (!held.has(c.captureId)) problems.push(`the graph was built from capture ${c.captureId}, which is not in this package`);
  for (const n of doc.nodes) for (const id of observedIds(n.provenance)) if (!held.has(id)) problems.push(`node ${n.id} names capture ${id}, which is not in this package`);
  const byseq = new Map(opts.events.map((e) => [e.seq, e]));
  for (const e of doc.edges) {
    const ids = observedIds(e.provenance);
    if (e.basis === 'observed' && !ids.length) problems.push(`edge ${e.id} names no capture`);
    for (const id of ids) if (!held.has(id)) problems.push(`edge ${e.id} names capture ${id}, which is not in this package`);
    for (const p of e.provenance) {
      if (p.basis !== 'asserted-by-analyst') continue;
      const ev = byseq.get(p.custodySeq);
      if (!ev || ev.action !== 'identity-asserted' || ev.hash !== p.eventHash) problems.push(`edge ${e.id} names custody event ${p.custodySeq} (${p.eventHash}), which is not an identity assertion in this package's custody log`);
    }
  }
  for (const p of problems.slice(0, 50)) r.fail(jp, 'analysis-graph-captures', p);
  if (problems.length > 50) r.fail(jp, 'analysis-graph-captures', `${problems.length - 50} more problems like these`);
  if (!problems.length) r.pass(jp, 'analysis-graph-captures', `derived product: ${doc.nodes.length} nodes and ${doc.edges.length} edges, each naming only captures this package holds (${doc.captures.length} read)`);

  const gp = bagPaths.caseGraphml;
  if (!fileSet.has(gp)) return;
  const graphml = graphmlEdgeCaptures((await read(gp)).toString('utf8'));
  const json = new Map(doc.edges.map((e) => [e.id, observedIds(e.provenance)]));
  const gproblems: string[] = [];
  for (const [id, caps] of graphml) {
    for (const c of caps) if (!held.has(c)) gproblems.push(`edge ${id} names capture ${c}, which is not in this package`);
    const want = json.get(id);
    if (!want) gproblems.push(`edge ${id} is not in ${jp}`);
    else if (want.join(' ') !== caps.join(' ')) gproblems.push(`edge ${id} names captures ${caps.join(' ') || '(none)'}, ${jp} names ${want.join(' ') || '(none)'}`);
  }
  for (const id of json.keys()) if (!graphml.has(id)) gproblems.push(`edge ${id} of ${jp} is missing`);
  for (const p of gproblems.slice(0, 50)) r.fail(gp, 'analysis-graph-captures', p);
  if (!gproblems.length) r.pass(gp, 'analysis-graph-captures', `${graphml.size} edges, the same as ${jp}, naming the same captures`);
}
