/**
 * Case graph exports: GEXF 1.3 (Gephi), GraphML (yEd, networkx, Neo4j import), CSV nodes/edges
 * (spreadsheets, link-analysis tools) and node-link JSON (`CaseGraphDocument`). Every format carries
 * the same nodes, edges, weights, the capture ids behind each, the full provenance (as JSON text in
 * XML/CSV), and the build metadata with the normalisation used for matching keys.
 */
import type { CaseGraphDocument, GraphEdge, GraphNode } from '../schemas/graph.js';

export const GRAPH_FORMATS = ['graphml', 'gexf', 'csv', 'json'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

// XML 1.0 cannot carry these code points at all, even escaped; they become U+FFFD in XML exports
// only (the JSON export and the sealed post.json keep them).
// eslint-disable-next-line no-control-regex
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/gu;

/** Escape text for an XML attribute or element; newlines and tabs as character references so they survive attribute normalisation. */
export function xmlEscape(s: string): string {
  return s
    .replace(XML_INVALID, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}

/** Node attribute columns, in order; each a string unless typed. */
const NODE_ATTRS = ['kind', 'label', 'platform', 'accountId', 'handles', 'displayNames', 'handleKeys', 'postId', 'url', 'uri', 'publishedRaw', 'publishedUtc', 'host', 'sha256', 'mediaType', 'dhash', 'matchKey', 'captures', 'provenance'] as const;
const EDGE_ATTRS = ['type', 'basis', 'weight', 'distance', 'captures', 'provenance'] as const;

const captureIds = (p: Array<{ basis: string } & Record<string, unknown>>) => [...new Set(p.filter((x) => x.basis === 'observed').map((x) => x.captureId as string))].sort().join(' ');
const uniq = (xs: string[]) => [...new Set(xs)].join(' | ');

function nodeRow(n: GraphNode): Record<(typeof NODE_ATTRS)[number], string> {
  const a = (k: string) => (n.attrs[k] === undefined || n.attrs[k] === null ? '' : String(n.attrs[k]));
  return {
    kind: n.kind,
    label: n.label,
    platform: n.platform ?? '',
    accountId: a('accountId'),
    handles: uniq(n.handles.map((h) => h.value)),
    displayNames: uniq(n.displayNames.map((h) => h.value)),
    handleKeys: uniq([...n.handles, ...n.displayNames].map((h) => h.matchKey)),
    postId: a('postId'),
    url: a('url'),
    uri: a('uri'),
    publishedRaw: a('publishedRaw'),
    publishedUtc: a('publishedUtc'),
    host: a('host'),
    sha256: a('sha256'),
    mediaType: a('mediaType'),
    dhash: a('dhash'),
    matchKey: a('matchKey'),
    captures: captureIds(n.provenance),
    provenance: JSON.stringify(n.provenance),
  };
}

function edgeRow(e: GraphEdge): Record<(typeof EDGE_ATTRS)[number], string> {
  return { type: e.type, basis: e.basis, weight: String(e.weight), distance: e.distance === null ? '' : String(e.distance), captures: captureIds(e.provenance), provenance: JSON.stringify(e.provenance) };
}

const META_KEYS = ['schemaVersion', 'caseIds', 'builtAt', 'builder', 'normalisation', 'similarMediaMaxDistance', 'filters'] as const;
const metaValue = (doc: CaseGraphDocument, k: (typeof META_KEYS)[number]) => (typeof doc[k] === 'string' ? (doc[k] as string) : JSON.stringify(doc[k]));

export function toGraphml(doc: CaseGraphDocument): string {
  const lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>', '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">'];
  for (const k of META_KEYS) lines.push(`  <key id="g_${k}" for="graph" attr.name="${k}" attr.type="string"/>`);
  for (const k of NODE_ATTRS) lines.push(`  <key id="n_${k}" for="node" attr.name="${k}" attr.type="string"/>`);
  for (const k of EDGE_ATTRS) lines.push(`  <key id="e_${k}" for="edge" attr.name="${k}" attr.type="${k === 'weight' ? 'int' : 'string'}"/>`);
  lines.push('  <graph id="case-graph" edgedefault="directed">');
  for (const k of META_KEYS) lines.push(`    <data key="g_${k}">${xmlEscape(metaValue(doc, k))}</data>`);
  for (const n of doc.nodes) {
    const row = nodeRow(n);
    lines.push(`    <node id="${xmlEscape(n.id)}">`);
    for (const k of NODE_ATTRS) if (row[k] !== '') lines.push(`      <data key="n_${k}">${xmlEscape(row[k])}</data>`);
    lines.push('    </node>');
  }
  for (const e of doc.edges) {
    const row = edgeRow(e);
    lines.push(`    <edge id="${xmlEscape(e.id)}" source="${xmlEscape(e.source)}" target="${xmlEscape(e.target)}">`);
    for (const k of EDGE_ATTRS) if (row[k] !== '') lines.push(`      <data key="e_${k}">${xmlEscape(row[k])}</data>`);
    lines.push('    </edge>');
  }
  lines.push('  </graph>', '</graphml>', '');
  return lines.join('\n');
}

export function toGexf(doc: CaseGraphDocument): string {
  const lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>', '<gexf xmlns="http://gexf.net/1.3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://gexf.net/1.3 http://gexf.net/1.3/gexf.xsd" version="1.3">'];
  const description = META_KEYS.map((k) => `${k}: ${metaValue(doc, k)}`).join('\n');
  lines.push(`  <meta lastmodifieddate="${doc.builtAt.slice(0, 10)}">`, `    <creator>${xmlEscape(doc.builder)}</creator>`, `    <description>${xmlEscape(description)}</description>`, '  </meta>');
  lines.push('  <graph defaultedgetype="directed" mode="static">');
  const nodeAttrs = NODE_ATTRS.filter((k) => k !== 'label');
  lines.push('    <attributes class="node">');
  nodeAttrs.forEach((k, i) => lines.push(`      <attribute id="${i}" title="${k}" type="string"/>`));
  lines.push('    </attributes>', '    <attributes class="edge">');
  const edgeAttrs = EDGE_ATTRS.filter((k) => k !== 'weight');
  edgeAttrs.forEach((k, i) => lines.push(`      <attribute id="${i}" title="${k === 'type' ? 'edgeType' : k}" type="string"/>`));
  lines.push('    </attributes>', '    <nodes>');
  for (const n of doc.nodes) {
    const row = nodeRow(n);
    lines.push(`      <node id="${xmlEscape(n.id)}" label="${xmlEscape(n.label)}">`, '        <attvalues>');
    nodeAttrs.forEach((k, i) => {
      if (row[k] !== '') lines.push(`          <attvalue for="${i}" value="${xmlEscape(row[k])}"/>`);
    });
    lines.push('        </attvalues>', '      </node>');
  }
  lines.push('    </nodes>', '    <edges>');
  for (const e of doc.edges) {
    const row = edgeRow(e);
    lines.push(`      <edge id="${xmlEscape(e.id)}" source="${xmlEscape(e.source)}" target="${xmlEscape(e.target)}" label="${xmlEscape(e.type)}" weight="${e.weight}">`, '        <attvalues>');
    edgeAttrs.forEach((k, i) => {
      if (row[k] !== '') lines.push(`          <attvalue for="${i}" value="${xmlEscape(row[k])}"/>`);
    });
    lines.push('        </attvalues>', '      </edge>');
  }
  lines.push('    </edges>', '  </graph>', '</gexf>', '');
  return lines.join('\n');
}

/**
 * One CSV cell (RFC 4180). A cell a spreadsheet would run as a formula (starting with = + - @ or a
 * tab/CR) gets a leading `'`, the usual guard; that is the only change to a value.
 */
export function csvCell(s: string): string {
  const guarded = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

export function toCsv(doc: CaseGraphDocument): { nodes: string; edges: string } {
  const nodes = [['id', ...NODE_ATTRS].join(','), ...doc.nodes.map((n) => [n.id, ...Object.values(nodeRow(n))].map(csvCell).join(','))];
  const edges = [['id', 'source', 'target', ...EDGE_ATTRS].join(','), ...doc.edges.map((e) => [e.id, e.source, e.target, ...Object.values(edgeRow(e))].map(csvCell).join(','))];
  return { nodes: `${nodes.join('\r\n')}\r\n`, edges: `${edges.join('\r\n')}\r\n` };
}

export function toJson(doc: CaseGraphDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
