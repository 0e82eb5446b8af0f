import { Option, type Command } from 'commander';
import { ExhibitError } from '../../lib/errors.js';
import type { CliDeps } from './deps.js';

interface GraphOpts { format: 'graphml' | 'gexf' | 'csv' | 'json'; out?: string; edgeTypes?: string; since?: string; until?: string; platform?: string[]; minWeight?: string; account?: string; similarDistance?: string; json?: boolean }

const nonNegativeInt = (name: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new ExhibitError('permanent', 'INVALID_INPUT', `${name} must be a whole number, got ${v}`);
  return Number(v);
};

const isoOption = (name: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new ExhibitError('permanent', 'INVALID_INPUT', `${name} must be a date or ISO-8601 time, got ${v}`);
  return d.toISOString().replace(/\.000Z$/, 'Z');
};

const graphFilters = (o: GraphOpts) => ({ since: isoOption('--since', o.since), until: isoOption('--until', o.until), platforms: o.platform, minWeight: nonNegativeInt('--min-weight', o.minWeight), account: o.account });

/** The filters `graph` and `graph measures` share. */
const withGraphFilters = (c: Command) =>
  c
    .option('--edge-types <list>', 'only these edge types, comma-separated (authored, mentions, replies-to, quotes, reposts, links-to, in-domain, tagged-with, has-media, same-media, similar-media, same-avatar, co-thread, asserted-same, asserted-linked)')
    .option('--since <time>', "only facts stated (or, lacking the platform's time, captured) at or after this time")
    .option('--until <time>', 'only facts stated (or captured) at or before this time')
    .option('--platform <name...>', 'only nodes of these platforms')
    .option('--min-weight <n>', 'only edges seen in at least n distinct observations')
    .option('--account <handle>', "one account's neighbourhood: the account (handle, id or node id) and everything one edge away");

/** `exhibit graph`, `graph measures` and `graph assert`: the case graph. */
export function register(program: Command, { action, config }: CliDeps): void {
  const graph = withGraphFilters(
    program
      .command('graph')
      .description('the case graph (accounts, posts, hashtags, URLs, media and who mentions, replies to, forwards and shares media with whom), built from sealed post.json only; every node and edge names its captures')
      .argument('<caseId...>', 'case id(s)')
      .addOption(new Option('--format <format>', 'export format').choices(['graphml', 'gexf', 'csv', 'json']).default('graphml'))
      .option('-o, --out <file>', 'file to write (never overwritten; csv writes <file>.nodes.csv and <file>.edges.csv); default stdout')
      .option('--similar-distance <bits>', 'largest dHash Hamming distance for similar-media edges (default 6)'),
  ).action(
    action(async (caseIds: string[], opts: GraphOpts) => {
      const { graphCommand, parseEdgeTypes } = await import('../commands/graph.js');
      return graphCommand(config(), caseIds, { format: opts.format, out: opts.out, edgeTypes: parseEdgeTypes(opts.edgeTypes), ...graphFilters(opts), similarMediaMaxDistance: nonNegativeInt('--similar-distance', opts.similarDistance) });
    }),
  );
  withGraphFilters(graph.command('measures').description('degree, weighted degree, most-forwarded sources, accounts sharing media, connected components and betweenness, each explained').argument('<caseId...>', 'case id(s)').option('--json', 'print the measures as JSON')).action(
    action(async (caseIds: string[], opts: GraphOpts) => {
      const { graphMeasuresCommand, parseEdgeTypes } = await import('../commands/graph.js');
      return graphMeasuresCommand(config(), caseIds, { edgeTypes: parseEdgeTypes(opts.edgeTypes), ...graphFilters(opts) }, Boolean(opts.json));
    }),
  );
  graph
    .command('assert')
    .description('record an analyst assertion that two accounts are the same person (--same) or linked (--linked), as a custody event; never inferred automatically')
    .argument('<caseId>', 'case id')
    .option('--same <account...>', 'the two accounts (handle, account id or node id) are the same person')
    .option('--linked <account...>', 'the two accounts are linked')
    .requiredOption('--reason <text>', 'why: recorded in the custody log and shown with the edge')
    .option('--operator <id>', 'who asserts it (default: your user name)')
    .action(
      action(async (caseId: string, opts: { same?: string[]; linked?: string[]; reason: string; operator?: string }) => {
        const pair = opts.same ?? opts.linked;
        if (!pair || (opts.same && opts.linked) || pair.length !== 2) throw new ExhibitError('permanent', 'INVALID_INPUT', 'give exactly one of --same <a> <b> or --linked <a> <b>, with two accounts');
        const { graphAssertCommand } = await import('../commands/graph.js');
        return graphAssertCommand(config(), caseId, opts.same ? 'same' : 'linked', [pair[0]!, pair[1]!], opts.reason, opts.operator);
      }),
    );
}
