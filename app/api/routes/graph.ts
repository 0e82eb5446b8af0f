import { z } from 'zod';
import { isoUtc } from '../../../lib/clock.js';
import { PermanentError } from '../../../lib/errors.js';
import { CaseGraphView, EDGE_TYPES, type EdgeType } from '../../../schemas/graph.js';
import { graphMeasures, MEASURE_EXPLANATIONS } from '../../../analysis/graph-measures.js';
import { graphDocument } from '../../../analysis/graph-view.js';
import { LiveCaseGraphs, storeSource } from '../../../analysis/live-graph.js';
import { requireCase } from '../auth.js';
import type { ApiDeps } from '../context.js';
import { recordRead } from '../evidence-reads.js';
import type { RouteTable } from '../route-table.js';

const isoTime = z
  .string()
  .max(40)
  .refine((v) => !Number.isNaN(new Date(v).getTime()), 'a date or ISO-8601 time')
  .transform((v) => new Date(v).toISOString().replace(/\.000Z$/, 'Z'));

const GraphQuery = z.object({
  edgeTypes: z
    .string()
    .max(400)
    .optional()
    .describe(`comma-separated edge types (${EDGE_TYPES.join(', ')})`)
    .transform((v, ctx) => {
      const types = (v ?? '').split(',').map((t) => t.trim()).filter(Boolean);
      const bad = types.filter((t) => !(EDGE_TYPES as readonly string[]).includes(t));
      if (bad.length) ctx.addIssue({ code: 'custom', message: `unknown edge type ${bad.join(', ')}` });
      return types.length ? (types as EdgeType[]) : undefined;
    }),
  since: isoTime.optional().describe("only facts stated (or, lacking the platform's time, captured) at or after this time"),
  until: isoTime.optional().describe('only facts stated (or captured) at or before this time'),
  account: z.string().min(1).max(500).optional().describe("one account's neighbourhood: handle (matched by its matching key), account id or node id"),
});

/** The case graph of one case, built from its sealed post.json artifacts and kept up to date; reading it is a read of evidence. */
export function graphRoutes(t: RouteTable, d: ApiDeps): void {
  const s = d.services;
  // Kept per process and caught up on each read: only captures sealed (and assertions made) since the last read are read.
  const graphs = new LiveCaseGraphs(storeSource(s.store));
  t.def(
    {
      method: 'get',
      path: '/api/cases/:caseId/graph',
      summary: 'The case graph (accounts, posts, hashtags, URLs, media and their edges, each naming its captures) with its measures; recorded as a custody event',
      tag: 'analysis',
      access: 'read-evidence',
      query: GraphQuery,
      response: CaseGraphView,
      errors: [404, 409],
    },
    async (c, { query }) => {
      const caseId = c.req.param('caseId') ?? '';
      const user = requireCase(c, 'read-evidence', caseId);
      const { graph, skipped } = await graphs.read(caseId);
      const filters = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined));
      const doc = graphDocument(graph, { caseIds: [caseId], builtAt: isoUtc(s.clock.now()), builder: `exhibit ${s.software.exhibitVersion}`, skipped, filters });
      if (query.account && !doc.nodes.length) throw new PermanentError('NOT_FOUND', `no account ${query.account} in the case graph of ${caseId}`);
      // The graph shows values read from sealed post.json: recorded as a read of every capture it was built from.
      const custodySeq = doc.captures.length
        ? await recordRead(s, user, caseId, 'viewed', { digests: doc.captures.map((x) => x.postSha256) }, { view: 'case-graph', captureIds: doc.captures.map((x) => x.captureId), filters, nodes: doc.nodes.length, edges: doc.edges.length })
        : null;
      return { caseId, graph: doc, measures: graphMeasures(doc), explanations: { ...MEASURE_EXPLANATIONS }, custodySeq };
    },
  );
}
