/**
 * The case graph as a derived analysis product of a certified package: built from the sealed
 * post.json of exactly the captures the package holds (and the case's analyst assertions, whose
 * custody events the package's log carries), as JSON, GraphML and an SVG figure, with a README
 * saying what it is. verify checks that every capture it names is in the package.
 */
import type { DerivedProduct } from '../evidence/package/build-types.js';
import type { EvidenceStore } from '../evidence/store.js';
import { toGraphml, toJson } from './graph-export.js';
import { graphFigureSvg } from './graph-figure.js';
import { graphDocument } from './graph-view.js';
import { buildCaseGraph } from './sealed-posts.js';

export async function caseGraphProduct(store: EvidenceStore, caseId: string, captureIds: string[], ctx: { builtAt: string; builder: string }): Promise<DerivedProduct> {
  const { graph, skipped } = await buildCaseGraph(store, [caseId], {}, new Set(captureIds));
  const doc = graphDocument(graph, { caseIds: [caseId], builtAt: ctx.builtAt, builder: ctx.builder, skipped });
  const readme = [
    'Case graph: a derived analysis product, not evidence',
    '====================================================',
    '',
    `Built ${doc.builtAt} by ${doc.builder} from the sealed post.json of the ${doc.captures.length} capture(s) in this package`,
    `that have one${skipped.length ? ` (${skipped.length} other capture(s) hold no readable post.json and add nothing)` : ''}, and from the`,
    "analyst identity assertions on the case's custody log (shown as asserted-by-analyst edges, never as observations).",
    '',
    'case-graph.json      node-link JSON (schema exhibit.case-graph/1): every node and edge lists its sources, each a',
    '                     capture id of this package, the artifact (post.json) with its SHA-256, a JSON pointer to the',
    '                     value, the capture time and the platform\'s stated time; assertions name their custody event',
    'case-graph.graphml   the same nodes and edges for yEd, Gephi, networkx and Neo4j (provenance as JSON text)',
    'case-graph.svg       a rendered figure of the graph',
    '',
    'Accounts are never merged: two accounts are the same only where an analyst asserted it. Weights count distinct',
    'observations (posts, or pairs of posts), never repeated captures of the same post.',
    `Matching keys for handles and names: ${doc.normalisation}`,
    '',
    '`exhibit verify` checks that every capture a node or an edge names is in this package, and that every assertion',
    "is an identity-asserted event of this package's custody log. The files are listed in data/package-content.json",
    'and covered by the package seal like every other file.',
    '',
  ].join('\n');
  return {
    kind: 'case-graph',
    description: `Case graph of ${caseId} built from the sealed post.json of ${doc.captures.length} capture(s) in this package: ${doc.nodes.length} nodes, ${doc.edges.length} edges, each naming its captures`,
    files: [
      { name: 'README.txt', bytes: Buffer.from(readme) },
      { name: 'case-graph.json', bytes: Buffer.from(toJson(doc)) },
      { name: 'case-graph.graphml', bytes: Buffer.from(toGraphml(doc)) },
      { name: 'case-graph.svg', bytes: Buffer.from(graphFigureSvg(doc, { title: `Case graph of ${caseId}` })) },
    ],
  };
}
