import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { isoUtc } from '../../lib/clock.js';
import { PermanentError } from '../../lib/errors.js';
import { software } from '../../lib/software.js';
import type { Config } from '../../schemas/config.js';
import { EDGE_TYPES, type EdgeType } from '../../schemas/graph.js';
import { toCsv, toGexf, toGraphml, toJson, type GraphFormat } from '../../analysis/graph-export.js';
import { graphMeasures, MEASURE_EXPLANATIONS, BETWEENNESS_MAX_NODES } from '../../analysis/graph-measures.js';
import { filterGraph, graphDocument, type GraphFilters } from '../../analysis/graph-view.js';
import { assertIdentity, resolveAccount } from '../../analysis/identity.js';
import { buildCaseGraph } from '../../analysis/sealed-posts.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { out, withServices } from './common.js';

export interface GraphCommandOptions extends GraphFilters {
  format: GraphFormat;
  out?: string;
  similarMediaMaxDistance?: number;
}

/** Parse `--edge-types a,b` against the closed vocabulary. */
export function parseEdgeTypes(list: string | undefined): EdgeType[] | undefined {
  if (!list) return undefined;
  const types = list.split(',').map((t) => t.trim()).filter(Boolean);
  const bad = types.filter((t) => !(EDGE_TYPES as readonly string[]).includes(t));
  if (bad.length) throw new PermanentError('INVALID_INPUT', `unknown edge type ${bad.join(', ')}; known: ${EDGE_TYPES.join(', ')}`);
  return types as EdgeType[];
}

/** Write a new file; an existing one is never overwritten (exit INVALID_INPUT, naming it). */
async function writeNew(file: string, text: string): Promise<void> {
  try {
    await writeFile(file, text, { flag: 'wx' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new PermanentError('INVALID_INPUT', `${file} already exists: exports are never overwritten; choose another -o path`);
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR') throw new PermanentError('INVALID_INPUT', `cannot write ${file}: ${code}; choose another -o path`);
    throw e;
  }
}

/** `exhibit graph <case…>`: build from the store and write one export (stdout, or -o never overwriting). */
export async function graphCommand(config: Config, caseIds: string[], opts: GraphCommandOptions): Promise<ExitCode> {
  return withServices(config, async (s) => {
    const { graph, skipped } = await buildCaseGraph(s.store, caseIds, { similarMediaMaxDistance: opts.similarMediaMaxDistance });
    const { format, out: outPath, similarMediaMaxDistance: _d, ...filters } = opts;
    const doc = graphDocument(graph, { caseIds, builtAt: isoUtc(s.clock.now()), builder: `exhibit ${software().exhibitVersion}`, skipped, filters });
    if (format === 'csv') {
      const csv = toCsv(doc);
      if (!outPath) {
        out('# nodes');
        process.stdout.write(csv.nodes);
        out('# edges');
        process.stdout.write(csv.edges);
      } else {
        const base = outPath.replace(/\.csv$/i, '');
        await writeNew(`${base}.nodes.csv`, csv.nodes);
        await writeNew(`${base}.edges.csv`, csv.edges);
      }
    } else {
      const text = format === 'graphml' ? toGraphml(doc) : format === 'gexf' ? toGexf(doc) : toJson(doc);
      if (outPath) await writeNew(outPath, text);
      else process.stdout.write(text);
    }
    if (outPath) out(`${doc.nodes.length} nodes, ${doc.edges.length} edges from ${doc.captures.length} captures${skipped.length ? ` (${skipped.length} without a readable post.json)` : ''} → ${outPath}`);
    return doc.nodes.length ? EXIT.OK : EXIT.NOT_FOUND;
  });
}

/** `exhibit graph measures <case…>`: the first measures, each with its one-sentence explanation. */
export async function graphMeasuresCommand(config: Config, caseIds: string[], filters: GraphFilters, json: boolean): Promise<ExitCode> {
  return withServices(config, async (s) => {
    const { graph } = await buildCaseGraph(s.store, caseIds);
    const m = graphMeasures(filterGraph(graph.snapshot(), filters));
    if (json) {
      out(JSON.stringify(m, null, 2));
      return EXIT.OK;
    }
    out(`${m.accounts} accounts`);
    out();
    out(`Degree — ${MEASURE_EXPLANATIONS.degree}`);
    for (const d of m.degree.slice(0, 20)) out(`  ${d.label}  degree ${d.degree}  weighted ${d.weightedDegree}`);
    out();
    out(`Most-forwarded sources — ${MEASURE_EXPLANATIONS.mostForwarded}`);
    for (const f of m.mostForwarded.slice(0, 20)) out(`  ${f.label}  ${f.reposts} reposts by ${f.reposters} accounts`);
    if (!m.mostForwarded.length) out('  none observed');
    out();
    out(`Accounts sharing the same media — ${MEASURE_EXPLANATIONS.sharedMedia}`);
    for (const x of m.sharedMedia.slice(0, 20)) out(`  ${x.a} ↔ ${x.b}  ${x.posts} post pairs`);
    if (!m.sharedMedia.length) out('  none observed');
    out();
    out(`Connected components — ${MEASURE_EXPLANATIONS.components}`);
    for (const c of m.components.slice(0, 20)) out(`  ${c.size}: ${c.members.slice(0, 10).join(', ')}${c.size > 10 ? ', …' : ''}`);
    out();
    out(`Betweenness — ${MEASURE_EXPLANATIONS.betweenness}`);
    if (m.betweenness) for (const b of m.betweenness.slice(0, 20)) out(`  ${b.label}  ${b.score.toFixed(4)}`);
    else out(`  not computed: more than ${BETWEENNESS_MAX_NODES} accounts`);
    return EXIT.OK;
  });
}

/** `exhibit graph assert <case> --same|--linked <a> <b> --reason …`: an analyst assertion, as a custody event. */
export async function graphAssertCommand(config: Config, caseId: string, kind: 'same' | 'linked', refs: [string, string], reason: string, operator: string | undefined): Promise<ExitCode> {
  return withServices(config, async (s) => {
    const { graph } = await buildCaseGraph(s.store, [caseId]);
    const accounts: [string, string] = [resolveAccount(graph, refs[0]), resolveAccount(graph, refs[1])];
    const r = await assertIdentity(s.custody, { caseId, actor: { type: 'operator', id: operator ?? os.userInfo().username, role: 'analyst' }, kind, accounts, reason });
    const [a, b] = [...accounts].sort();
    out(`${r.created ? 'recorded' : 'already recorded'}: ${a} ${kind === 'same' ? 'is the same person as' : 'is linked to'} ${b} (custody event ${r.event.seq}, ${r.event.hash})`);
    return EXIT.OK;
  });
}
