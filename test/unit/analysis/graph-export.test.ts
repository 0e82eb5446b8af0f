import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { newId } from '../../../lib/clock.js';
import { CaseGraph } from '../../../analysis/case-graph.js';
import { csvCell, toCsv, toGexf, toGraphml, xmlEscape } from '../../../analysis/graph-export.js';
import { graphDocument } from '../../../analysis/graph-view.js';
import { CaseGraphDocument } from '../../../schemas/graph.js';
import { asSealedPost, networkScenario, syntheticCapture } from '../../support/synthetic-posts.js';

function scenarioDoc() {
  const g = new CaseGraph();
  for (const c of networkScenario().captures) g.addCapture(asSealedPost('c1', newId(), c));
  // A hostile handle: markup, quotes, a control character and a newline.
  g.addCapture(asSealedPost('c1', newId(), syntheticCapture('x', { id: '1', author: { id: '7', handle: 'a"b<c>&d', displayName: 'x\u0001y\nz </data>' } })));
  return graphDocument(g, { caseIds: ['c1'], builtAt: '2026-03-02T00:00:00Z', builder: 'exhibit test', skipped: [] });
}

describe('graph exports', () => {
  it('the JSON export is a valid case-graph document', () => {
    expect(CaseGraphDocument.safeParse(scenarioDoc()).success).toBe(true);
  });

  it('xmlEscape escapes markup and replaces what XML 1.0 cannot carry', () => {
    expect(xmlEscape(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
    expect(xmlEscape('a\u0001b\uD800c')).toBe('a\uFFFDb\uFFFDc');
    expect(xmlEscape('😀 ليلى')).toBe('😀 ليلى');
    expect(xmlEscape('l1\nl2')).toBe('l1&#10;l2');
  });

  it('GraphML and GEXF parse as XML and keep hostile and Arabic values exactly', () => {
    const doc = scenarioDoc();
    const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', parseTagValue: false, parseAttributeValue: false, trimValues: false, htmlEntities: true });
    const gml = parser.parse(toGraphml(doc));
    const nodes = gml.graphml.graph.node as Array<{ id: string; data: Array<{ key: string; '#text': string }> }>;
    expect(nodes).toHaveLength(doc.nodes.length);
    const hostile = nodes.find((n) => n.id === 'account:x:7')!;
    expect(hostile.data.find((d) => d.key === 'n_handles')!['#text']).toBe('a"b<c>&d');
    expect(hostile.data.find((d) => d.key === 'n_displayNames')!['#text']).toBe('x\uFFFDy\nz </data>');
    const news = nodes.find((n) => n.id === 'account:telegram:news_ar')!;
    expect(news.data.find((d) => d.key === 'n_displayNames')!['#text']).toBe('أخبار العاجلة');
    const gexf = parser.parse(toGexf(doc));
    expect(gexf.gexf.version).toBe('1.3');
    expect(gexf.gexf.graph.edges.edge).toHaveLength(doc.edges.length);
  });

  it('CSV quotes per RFC 4180 and guards cells a spreadsheet would run as formulas', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('@news_ar')).toBe("'@news_ar");
    expect(csvCell('ليلى')).toBe('ليلى');
    const csv = toCsv(scenarioDoc());
    expect(csv.nodes.split('\r\n')[0]).toMatch(/^id,kind,label,/);
    expect(csv.edges.split('\r\n')[0]).toBe('id,source,target,type,basis,weight,distance,captures,provenance');
  });
});
