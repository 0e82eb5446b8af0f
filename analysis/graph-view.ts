/**
 * Views of a case graph: the exported document with its metadata, filtered by edge type, time,
 * platform, weight, or to one account's neighbourhood.
 */
import type { CaseGraphDocument, EdgeType, GraphEdge, GraphNode, Provenance } from '../schemas/graph.js';
import type { CaseGraph } from './case-graph.js';
import type { SkippedCapture } from './sealed-posts.js';
import { matchKey, NORMALISATION } from './text-key.js';

export interface GraphFilters {
  edgeTypes?: EdgeType[];
  /** Keep sources whose time (the platform's stated UTC time, else the capture time) is within [since, until]. */
  since?: string;
  until?: string;
  platforms?: string[];
  minWeight?: number;
  /** One account's neighbourhood: accounts whose handle (matching key), id or node id equals this, and everything one edge away. */
  account?: string;
}

const timeOf = (p: Provenance) => (p.basis === 'observed' ? (p.statedTime?.utc ?? p.capturedAt) : p.time);

/** Apply filters; an edge survives a time window when at least one of its sources falls in it (its weight is kept as built). */
export function filterGraph(g: { nodes: GraphNode[]; edges: GraphEdge[] }, f: GraphFilters): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const inWindow = (p: Provenance) => (!f.since || timeOf(p) >= f.since) && (!f.until || timeOf(p) <= f.until);
  const platformOk = (n: GraphNode | undefined) => !f.platforms?.length || !n?.platform || f.platforms.includes(n.platform);
  let nodes = g.nodes.filter(platformOk);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  let edges = g.edges.filter(
    (e) =>
      byId.has(e.source) &&
      byId.has(e.target) &&
      (!f.edgeTypes?.length || f.edgeTypes.includes(e.type)) &&
      e.weight >= (f.minWeight ?? 1) &&
      (!f.since && !f.until ? true : e.provenance.some(inWindow)),
  );
  if (f.since || f.until) {
    const touched = new Set(edges.flatMap((e) => [e.source, e.target]));
    nodes = nodes.filter((n) => n.provenance.some(inWindow) || touched.has(n.id));
  }
  if (f.account) {
    const key = matchKey(f.account);
    const centre = new Set(nodes.filter((n) => (n.kind === 'account' || n.kind === 'channel') && (n.id === f.account || n.attrs.accountId === f.account || n.handles.some((h) => h.matchKey === key))).map((n) => n.id));
    edges = edges.filter((e) => centre.has(e.source) || centre.has(e.target));
    const keep = new Set([...centre, ...edges.flatMap((e) => [e.source, e.target])]);
    nodes = nodes.filter((n) => keep.has(n.id));
  }
  const kept = new Set(nodes.map((n) => n.id));
  return { nodes, edges: edges.filter((e) => kept.has(e.source) && kept.has(e.target)) };
}

export interface DocumentContext {
  caseIds: string[];
  builtAt: string;
  builder: string;
  skipped: SkippedCapture[];
  filters?: GraphFilters;
}

/** The exportable document: nodes and edges (filtered), what it was built from, and how. */
export function graphDocument(graph: CaseGraph, ctx: DocumentContext): CaseGraphDocument {
  const view = filterGraph(graph.snapshot(), ctx.filters ?? {});
  return {
    schemaVersion: 'exhibit.case-graph/1',
    directed: true,
    multigraph: true,
    caseIds: ctx.caseIds,
    builtAt: ctx.builtAt,
    builder: ctx.builder,
    normalisation: NORMALISATION,
    similarMediaMaxDistance: graph.similarMediaMaxDistance,
    captures: [...graph.captures].map(([captureId, c]) => ({ captureId, caseId: c.caseId, postSha256: c.postSha256 })).sort((a, b) => (a.captureId < b.captureId ? -1 : 1)),
    skipped: ctx.skipped,
    filters: { ...ctx.filters },
    nodes: view.nodes,
    edges: view.edges,
  };
}
