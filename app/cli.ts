import { readFile } from 'node:fs/promises';
import { Argument, Command, CommanderError, Option } from 'commander';
import { loadConfig } from '../lib/config.js';
import { readUrlList } from '../lib/url-list.js';
import { ConfigError, ExhibitError, toFailure } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { collectorOverrides, rewriteCollectorFlags } from './collector-options.js';
import { EXIT, exitCodeFor, type ExitCode } from './exit-codes.js';
import type { Config } from '../schemas/config.js';

/** Global options every command shares; they override env and YAML. */
interface GlobalOpts {
  config?: string;
  stateDir?: string;
  redisUrl?: string;
  store?: 'fs' | 's3';
  logLevel?: string;
  logFormat?: string;
  collectorOption?: string[];
}

function configFromOpts(g: GlobalOpts, extra: Record<string, unknown> = {}): Config {
  const overrides: Record<string, unknown> = { ...extra };
  if (g.collectorOption?.length) overrides.collectors = collectorOverrides(g.collectorOption);
  if (g.stateDir) overrides.stateDir = g.stateDir;
  if (g.redisUrl) overrides.redis = { url: g.redisUrl };
  if (g.store) overrides.store = { kind: g.store };
  if (g.logLevel || g.logFormat) overrides.log = { ...(g.logLevel ? { level: g.logLevel } : {}), ...(g.logFormat ? { format: g.logFormat } : {}) };
  return loadConfig({ file: g.config, overrides });
}

/** First line of a secret file, so secrets need not appear on the command line. */
async function readSecretFile(file: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split(/\r?\n/)[0]!.trim();
  } catch (cause) {
    throw new ExhibitError('permanent', 'INVALID_INPUT', `cannot read secret file ${file}: ${(cause as Error).message}`, { cause });
  }
}

export function buildProgram(run: (code: ExitCode) => void): Command {
  const program = new Command('exhibit')
    .description('Capture web pages and social-media posts as court-grade, independently verifiable evidence.')
    .option('-c, --config <file>', 'YAML config file (default $EXHIBIT_CONFIG, then ./exhibit.yaml)')
    .option('--state-dir <dir>', 'state directory for the embedded default (private Redis, local store, keys, spool)')
    .option('--redis-url <url>', 'use this Redis instead of the embedded one')
    .addOption(new Option('--store <kind>', 'evidence store').choices(['fs', 's3']))
    .addOption(new Option('--log-level <level>', 'log level for the logs on stderr').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .addOption(new Option('--log-format <format>', 'logs on stderr: json lines, human lines, or auto (human on a terminal, else json)').choices(['auto', 'json', 'human']))
    .option('--collector-option <id.opt=value>', 'a collector option (collectors.<id>.<opt>; value parsed as JSON when it parses); repeatable; also written --collectors.<id>.<opt> <value> (see docs/collectors.md)', (v: string, prev: string[] = []) => [...prev, v])
    .exitOverride()
    .showHelpAfterError();

  const globals = () => program.opts<GlobalOpts>();
  const action =
    <A extends unknown[]>(fn: (...args: A) => Promise<ExitCode>) =>
    async (...args: A) => {
      run(await fn(...args));
    };

  program
    .command('capture')
    .description('capture one or more URLs into a case; shows progress until each capture is sealed')
    .argument('[urls...]', 'URLs to capture')
    .option('-f, --file <path>', 'read URLs from a file, one per line ("-" for stdin)')
    .requiredOption('--case <caseId>', 'case the captures belong to, e.g. C-2026-001')
    .requiredOption('--operator <id>', 'who is capturing (recorded in every manifest and custody event)')
    .option('--legal-basis <text>', 'legal basis for the capture (warrant, statute), carried into the manifest and package')
    .option('--allow-private-network', 'allow private, loopback and link-local targets (local test sites only)')
    .option('--force', 'capture again even if this URL was already captured into this case')
    .option('--timeout <ms>', 'time limit for one page capture, in ms', (v) => Number.parseInt(v, 10))
    .option('--account <label>', "capture logged in as this collection account of the URL's platform (see `exhibit accounts`)")
    .option('--with-profile', "also capture the post author's profile page (a linked capture into the same case)")
    .option('--wait', 'run the capture and seal workers in this process (no separate `exhibit worker` needed)')
    .option('--no-follow', 'enqueue and return at once, without waiting for the captures')
    .option('--json', 'print results as JSON')
    .action(
      action(async (urls: string[], opts: Record<string, unknown>) => {
        const { captureCommand } = await import('./commands/capture.js');
        const list = [...urls, ...(opts.file ? await readUrlList(String(opts.file)) : [])];
        if (list.length === 0) throw new ExhibitError('permanent', 'INVALID_INPUT', 'no URLs given: pass URLs as arguments or --file');
        return captureCommand(configFromOpts(globals()), list, {
          caseId: String(opts.case),
          operator: String(opts.operator),
          legalBasis: opts.legalBasis === undefined ? undefined : String(opts.legalBasis),
          allowPrivateNetwork: Boolean(opts.allowPrivateNetwork),
          force: Boolean(opts.force),
          timeoutMs: typeof opts.timeout === 'number' && Number.isFinite(opts.timeout) ? opts.timeout : undefined,
          account: opts.account === undefined ? undefined : String(opts.account),
          withProfile: Boolean(opts.withProfile),
          wait: Boolean(opts.wait),
          follow: opts.follow !== false,
          json: Boolean(opts.json),
        });
      }),
    );

  program
    .command('status')
    .description('state and progress of captures')
    .argument('<captureIds...>', 'capture ids')
    .option('--json', 'print as JSON')
    .action(
      action(async (ids: string[], opts: { json?: boolean }) => {
        const { statusCommand } = await import('./commands/status.js');
        return statusCommand(configFromOpts(globals()), ids, Boolean(opts.json));
      }),
    );

  program
    .command('reseal')
    .description('seal again captures whose seal failed (e.g. the store was down past queue.retryBudgetMs), from what was captured')
    .argument('<captureIds...>', 'capture ids')
    .option('--wait', 'run a seal worker in this process and wait for the seals')
    .option('--json', 'print as JSON')
    .action(
      action(async (ids: string[], opts: { wait?: boolean; json?: boolean }) => {
        const { resealCommand } = await import('./commands/reseal.js');
        return resealCommand(configFromOpts(globals()), ids, { wait: Boolean(opts.wait), json: Boolean(opts.json) });
      }),
    );

  program
    .command('list')
    .description('sealed captures of a case: author, text, published and capture time, what the platform showed')
    .requiredOption('--case <caseId>', 'case id')
    .option('--platform <id>', 'only this platform (collector id, e.g. telegram, mastodon; web for plain pages)')
    .option('--author <name>', 'only posts whose author handle or display name contains this')
    .option('--status <status>', 'only sealed, unsealed, failed (page not captured) or a visibility state (visible, login-wall, deleted, not-recognised, …)')
    .option('--since <time>', 'captured at or after this ISO-8601 time or date')
    .option('--until <time>', 'captured before this ISO-8601 time or date')
    .addOption(new Option('--sort <key>', 'order').choices(['captured', 'published', 'author', 'platform']).default('captured'))
    .option('--tag <tag>', "only captures an analyst tagged so (`exhibit tag`); case and Arabic letter variants don't matter")
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { case: string; platform?: string; author?: string; status?: string; since?: string; until?: string; sort: 'captured' | 'published' | 'author' | 'platform'; tag?: string; json?: boolean }) => {
        const { listCommand } = await import('./commands/show.js');
        return listCommand(configFromOpts(globals()), opts.case, Boolean(opts.json), { platform: opts.platform, author: opts.author, status: opts.status, since: opts.since, until: opts.until, sort: opts.sort, tag: opts.tag });
      }),
    );

  program
    .command('cases')
    .description('cases in the evidence store, with counts: captures, sealed, failed, last capture time')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { casesCommand } = await import('./commands/show.js');
        return casesCommand(configFromOpts(globals()), Boolean(opts.json));
      }),
    );

  program
    .command('show')
    .description("one capture's manifest, human-readable (or --json for the exact manifest)")
    .argument('<captureId>', 'capture id')
    .option('--case <caseId>', 'case id (found automatically when omitted)')
    .option('--json', 'print the manifest JSON')
    .action(
      action(async (captureId: string, opts: { case?: string; json?: boolean }) => {
        const { showCommand } = await import('./commands/show.js');
        return showCommand(configFromOpts(globals()), captureId, opts.case, Boolean(opts.json));
      }),
    );

  program
    .command('search')
    .description('full-text search of sealed captures: post text, authors, hashtags, mentions, URLs, page titles, tags and notes; Arabic, Persian and Urdu as typed (letter variants and diacritics folded for matching only)')
    .argument('[query]', 'words to find (at most 200 characters, 16 words); the last word may be the start of a word')
    .option('--case <caseId...>', 'only these cases (default: every case in the store)')
    .option('--tag <tag>', 'only captures with this tag')
    .option('--limit <n>', 'most captures shown (1–200, default 50)', (v) => Number.parseInt(v, 10))
    .option('--rebuild', 'throw the search index away and build it again from the store first (alone: only rebuild)')
    .option('--operator <id>', 'who searches (recorded as a read on the custody log of each case with hits; default your user name)')
    .option('--json', 'print as JSON')
    .action(
      action(async (query: string | undefined, opts: { case?: string[]; tag?: string; limit?: number; rebuild?: boolean; operator?: string; json?: boolean }) => {
        const { searchCommand } = await import('./commands/search.js');
        return searchCommand(configFromOpts(globals()), query, { caseIds: opts.case, tag: opts.tag, limit: opts.limit, rebuild: Boolean(opts.rebuild), operator: opts.operator, json: Boolean(opts.json) });
      }),
    );

  const annotate = (kind: 'tag' | 'note') =>
    program
      .command(kind)
      .argument('<captureId>', 'capture id')
      .option('--case <caseId>', 'case id (found automatically when omitted)')
      .option('--operator <id>', 'who annotates (default: your user name; recorded with the OS user and host)')
      .option('--json', 'print as JSON');
  annotate('tag')
    .description('tag a sealed capture, or --remove a tag: a custody event (who, when, what); the evidence is not changed')
    .argument('<tag>', 'the tag (1–64 characters, no commas)')
    .option('--remove', 'remove the tag instead')
    .action(
      action(async (captureId: string, tag: string, opts: { case?: string; operator?: string; remove?: boolean; json?: boolean }) => {
        const { tagCommand } = await import('./commands/annotate.js');
        return tagCommand(configFromOpts(globals()), captureId, tag, Boolean(opts.remove), { caseId: opts.case, operator: opts.operator, json: Boolean(opts.json) });
      }),
    );
  annotate('note')
    .description('add a note to a sealed capture: a custody event (who, when, what); notes are never edited or removed')
    .argument('<text>', 'the note (up to 4000 characters)')
    .action(
      action(async (captureId: string, text: string, opts: { case?: string; operator?: string; json?: boolean }) => {
        const { noteCommand } = await import('./commands/annotate.js');
        return noteCommand(configFromOpts(globals()), captureId, text, { caseId: opts.case, operator: opts.operator, json: Boolean(opts.json) });
      }),
    );

  program
    .command('package')
    .description('build a certified package (BagIt zip with signatures, timestamps, custody log and certificate) of a case')
    .argument('<caseId>', 'case id')
    .option('-o, --out <file>', 'zip to write (never overwritten)', undefined)
    .option('--capture <captureId...>', 'only these captures (default: the whole case)')
    .option('--operator <id>', 'who builds the package (recorded in the custody log; default: your user name)')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (caseId: string, opts: { out?: string; capture?: string[]; operator?: string; json?: boolean }) => {
        const { packageCommand } = await import('./commands/package.js');
        return packageCommand(configFromOpts(globals()), caseId, { captureIds: opts.capture, out: opts.out, operator: opts.operator, json: Boolean(opts.json) });
      }),
    );

  program
    .command('verify')
    .description('verify a package (zip or unzipped directory) offline: digests, signatures, timestamps, custody log, package seal; VERIFIED only when its signer and TSA are pinned')
    .argument('<package>', 'package zip or directory')
    .option('--tsa-ca <file...>', 'pin a TSA root certificate (PEM or DER) you obtained independently; the CA inside the package is never trusted')
    .option('--signing-key <key...>', 'pin an Ed25519 signing key: sha256:<hex> fingerprint or public key PEM file, obtained independently')
    .option('--no-trust-store', 'ignore the local trust store and this deployment\'s own keys and TSA CAs: only the flags pin')
    .option('--json', 'print the full report as JSON')
    .action(
      action(async (source: string, opts: { tsaCa?: string[]; signingKey?: string[]; trustStore: boolean; json?: boolean }) => {
        const { verifyAndReport } = await import('./commands/verify.js');
        return verifyAndReport(source, { json: Boolean(opts.json), trustAnchorFiles: opts.tsaCa, signingKeys: opts.signingKey, ...(opts.trustStore ? { local: configFromOpts(globals()) } : {}) });
      }),
    );

  const trust = program.command('trust').description('the local trust store: signing keys and TSA roots pinned for verifying packages from elsewhere');
  trust
    .command('add')
    .description('pin a signing key and/or a TSA root (confirm the fingerprint with its owner out of band first)')
    .option('--signing-key <key>', 'sha256:<hex> fingerprint or Ed25519 public key PEM file')
    .option('--tsa-ca <file>', 'TSA root certificate, PEM or DER')
    .option('--name <name>', 'a label, e.g. the agency it belongs to')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { signingKey?: string; tsaCa?: string; name?: string; json?: boolean }) => {
        const { trustCommand } = await import('./commands/trust.js');
        return trustCommand(configFromOpts(globals()), { action: 'add', signingKey: opts.signingKey, tsaCa: opts.tsaCa, name: opts.name, json: Boolean(opts.json) });
      }),
    );
  trust
    .command('list')
    .description('list the pinned signing keys and TSA roots')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { trustCommand } = await import('./commands/trust.js');
        return trustCommand(configFromOpts(globals()), { action: 'list', json: Boolean(opts.json) });
      }),
    );
  trust
    .command('remove')
    .description('unpin a signing key or TSA root by its fingerprint')
    .argument('<fingerprint>', 'sha256:<hex>')
    .action(
      action(async (fingerprint: string) => {
        const { trustCommand } = await import('./commands/trust.js');
        return trustCommand(configFromOpts(globals()), { action: 'remove', fingerprint, json: false });
      }),
    );

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
  const withGraphFilters = (c: Command) =>
    c
      .option('--edge-types <list>', 'only these edge types, comma-separated (authored, mentions, replies-to, quotes, reposts, links-to, in-domain, tagged-with, has-media, same-media, similar-media, same-avatar, co-thread, asserted-same, asserted-linked)')
      .option('--since <time>', "only facts stated (or, lacking the platform's time, captured) at or after this time")
      .option('--until <time>', 'only facts stated (or captured) at or before this time')
      .option('--platform <name...>', 'only nodes of these platforms')
      .option('--min-weight <n>', 'only edges seen in at least n distinct observations')
      .option('--account <handle>', "one account's neighbourhood: the account (handle, id or node id) and everything one edge away");
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
      const { graphCommand, parseEdgeTypes } = await import('./commands/graph.js');
      return graphCommand(configFromOpts(globals()), caseIds, { format: opts.format, out: opts.out, edgeTypes: parseEdgeTypes(opts.edgeTypes), ...graphFilters(opts), similarMediaMaxDistance: nonNegativeInt('--similar-distance', opts.similarDistance) });
    }),
  );
  withGraphFilters(graph.command('measures').description('degree, weighted degree, most-forwarded sources, accounts sharing media, connected components and betweenness, each explained').argument('<caseId...>', 'case id(s)').option('--json', 'print the measures as JSON')).action(
    action(async (caseIds: string[], opts: GraphOpts) => {
      const { graphMeasuresCommand, parseEdgeTypes } = await import('./commands/graph.js');
      return graphMeasuresCommand(configFromOpts(globals()), caseIds, { edgeTypes: parseEdgeTypes(opts.edgeTypes), ...graphFilters(opts) }, Boolean(opts.json));
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
        const { graphAssertCommand } = await import('./commands/graph.js');
        return graphAssertCommand(configFromOpts(globals()), caseId, opts.same ? 'same' : 'linked', [pair[0]!, pair[1]!], opts.reason, opts.operator);
      }),
    );

  const timestamp = program.command('timestamp').description('RFC 3161 timestamp tokens from any authority');
  timestamp
    .command('verify')
    .description('check any timestamp token (TimeStampResp or bare TimeStampToken) against any file, offline; exit 0 verified, 10 consistent but no anchor pinned, 8 fails')
    .argument('<file>', 'the timestamped file')
    .argument('<token>', 'the token (.tsr or DER TimeStampToken)')
    .option('--tsa-ca <file...>', "trust anchors (PEM or DER) the TSA's certificate must chain to; without one the TSA is not authenticated")
    .option('--untrusted <file...>', 'intermediate or TSA certificates (PEM or DER) for tokens that do not carry them')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (file: string, token: string, opts: { tsaCa?: string[]; untrusted?: string[]; json?: boolean }) => {
        const { timestampVerifyCommand } = await import('./commands/timestamp.js');
        return timestampVerifyCommand(file, token, { tsaCa: opts.tsaCa, untrusted: opts.untrusted, json: Boolean(opts.json) });
      }),
    );

  const warc = program.command('warc').description('WARC and WACZ files from any tool');
  warc
    .command('check')
    .description('check every record of a WARC (plain or gzip per record) or WACZ: structure, block and payload digests, WARC-IP-Address, request/response pairs, CDXJ index; exit 0 clean, 8 a check fails, 4 not a WARC or WACZ')
    .argument('<file>', 'file.warc, file.warc.gz or file.wacz')
    .option('--json', 'print every finding as JSON')
    .action(
      action(async (file: string, opts: { json?: boolean }) => {
        const { warcCheckCommand } = await import('./commands/warc.js');
        return warcCheckCommand(file, { json: Boolean(opts.json) });
      }),
    );

  program
    .command('worker')
    .description('run capture, seal and watch workers until interrupted (SIGINT/SIGTERM finish running jobs first)')
    .option('--capture-concurrency <n>', 'captures at once', (v) => Number.parseInt(v, 10))
    .option('--seal-concurrency <n>', 'seal jobs at once', (v) => Number.parseInt(v, 10))
    .addOption(new Option('--only <stage>', 'run only the capture or only the seal worker').choices(['capture', 'seal']))
    .action(
      action(async (opts: { captureConcurrency?: number; sealConcurrency?: number; only?: string }) => {
        const { workerCommand } = await import('./commands/worker.js');
        const extra: Record<string, unknown> = {};
        if (opts.captureConcurrency) extra.capture = { concurrency: opts.captureConcurrency };
        if (opts.sealConcurrency) extra.seal = { concurrency: opts.sealConcurrency };
        return workerCommand(configFromOpts(globals(), extra), opts.only);
      }),
    );

  program
    .command('demo')
    .description('capture the bundled sample post end to end on the embedded default, package and verify it')
    .action(
      action(async () => {
        const { demoCommand } = await import('./commands/demo.js');
        return demoCommand(globals());
      }),
    );

  program
    .command('doctor')
    .description('every external program Exhibit and its tests run (the program list in ./exhibit): version and where it was found; exit 69 when one Exhibit needs is missing')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { doctorCommand } = await import('./commands/doctor.js');
        return doctorCommand(configFromOpts(globals()), { json: Boolean(opts.json) });
      }),
    );

  const bench = program
    .command('bench')
    .description('benchmarks: each part of the pipeline against the raw tool it is built on, side by side (Markdown table; JSON in bench/results/)')
    .option('--quick', 'a short run (fewer captures, smaller files) to check that everything works')
    .option('--only <rows>', 'comma-separated rows: capture-latency, capture-throughput, memory, seal, verify, bulk-submit, package')
    .option('--out <dir>', 'directory for the JSON results (default bench/results)')
    .option('--profile <dir>', 'write a V8 CPU profile (--cpu-prof) of every benchmark process into this directory')
    .action(
      action(async (opts: { quick?: boolean; only?: string; out?: string; profile?: string }) => {
        const { benchCommand } = await import('./commands/bench.js');
        return benchCommand(configFromOpts(globals()), { quick: Boolean(opts.quick), only: opts.only, out: opts.out, profile: opts.profile });
      }),
    );
  bench
    .command('fuzz')
    .description('the fuzz (property) tests with many runs: URL parser, zip reader, bag parsers, WARC writer, image metadata, every platform extractor')
    .option('--runs <n>', 'runs per property (./exhibit test runs a few dozen to a few hundred)', '1000')
    .option('--seed <n>', 'fast-check seed, to replay a failure the table reported')
    .action(
      action(async (opts: { runs?: string; seed?: string }) => {
        const { benchFuzzCommand } = await import('./commands/bench.js');
        return benchFuzzCommand(opts);
      }),
    );

  program
    .command('keys')
    .description('list the Ed25519 signing keys, or rotate to a new one (old signatures keep verifying)')
    .addArgument(new Argument('[action]', 'list or rotate').choices(['list', 'rotate']).default('list'))
    .option('--json', 'print as JSON')
    .action(
      action(async (what: string, opts: { json?: boolean }) => {
        const { keysCommand } = await import('./commands/keys.js');
        return keysCommand(configFromOpts(globals()), what, Boolean(opts.json));
      }),
    );

  program
    .command('serve')
    .description('serve the HTTP API (OpenAPI at /openapi.json) and the web app; captures are made by `exhibit worker`')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', (v) => Number.parseInt(v, 10), 8080)
    .option('--max-upload <bytes>', 'largest package accepted for verification, in bytes (default 2 GiB)', (v) => Number.parseInt(v, 10))
    .option('--secure-cookies', 'mark the session cookie Secure (when served behind TLS)')
    .action(
      action(async (opts: { host: string; port: number; maxUpload?: number; secureCookies?: boolean }) => {
        const { serveCommand } = await import('./commands/serve.js');
        return serveCommand(configFromOpts(globals()), { host: opts.host, port: opts.port, maxUploadBytes: opts.maxUpload, secureCookies: Boolean(opts.secureCookies) });
      }),
    );

  const users = program.command('users').description('API users: roles analyst, prosecutor, auditor, admin; case memberships; API tokens');
  users
    .command('add')
    .description('create a user (the first admin is made this way)')
    .argument('<name>', 'user name')
    .addOption(new Option('--role <role>', 'role').choices(['analyst', 'prosecutor', 'auditor', 'admin']).makeOptionMandatory())
    .option('--case <caseId...>', 'cases the user is a member of')
    .option('--json', 'print as JSON')
    .action(
      action(async (name: string, opts: { role: string; case?: string[]; json?: boolean }) => {
        const { usersCommand } = await import('./commands/users.js');
        return usersCommand(configFromOpts(globals()), 'add', { name, role: opts.role, cases: opts.case, json: Boolean(opts.json) });
      }),
    );
  users
    .command('token')
    .description('issue an API token for a user (printed once on stdout)')
    .argument('<name>', 'user name')
    .option('--json', 'print as JSON')
    .action(
      action(async (name: string, opts: { json?: boolean }) => {
        const { usersCommand } = await import('./commands/users.js');
        return usersCommand(configFromOpts(globals()), 'token', { name, json: Boolean(opts.json) });
      }),
    );
  users
    .command('cases')
    .description("change a user's case memberships")
    .argument('<name>', 'user name')
    .option('--case <caseId...>', 'add these cases')
    .option('--remove <caseId...>', 'remove these cases')
    .option('--json', 'print as JSON')
    .action(
      action(async (name: string, opts: { case?: string[]; remove?: string[]; json?: boolean }) => {
        const { usersCommand } = await import('./commands/users.js');
        return usersCommand(configFromOpts(globals()), 'cases', { name, cases: opts.case, remove: opts.remove, json: Boolean(opts.json) });
      }),
    );
  users
    .command('list')
    .description('list users')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { usersCommand } = await import('./commands/users.js');
        return usersCommand(configFromOpts(globals()), 'list', { json: Boolean(opts.json) });
      }),
    );

  const accounts = program.command('accounts').description('collection accounts: browser storage states per platform account, encrypted at rest (EXHIBIT_ACCOUNTS_KEY)');
  accounts
    .command('import')
    .description('import a Playwright storage state (cookies + localStorage JSON) for a collection account; replaces an earlier import')
    .argument('<platform>', 'collector id of the platform, e.g. mastodon, x, instagram')
    .argument('<label>', 'name of the account, used with `capture --account <label>`')
    .requiredOption('--storage-state <file>', 'JSON written by Playwright `context.storageState()`')
    .option('--handle <@name>', "the account's handle on the platform (recorded in manifests)")
    .option('--json', 'print as JSON')
    .action(
      action(async (platform: string, label: string, opts: { storageState: string; handle?: string; json?: boolean }) => {
        const { accountsCommand } = await import('./commands/accounts.js');
        return accountsCommand(configFromOpts(globals()), 'import', { platform, label, storageState: opts.storageState, handle: opts.handle, json: Boolean(opts.json) });
      }),
    );
  accounts
    .command('list')
    .description('list collection accounts: label, platform, handle, import time (never cookies)')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { accountsCommand } = await import('./commands/accounts.js');
        return accountsCommand(configFromOpts(globals()), 'list', { json: Boolean(opts.json) });
      }),
    );
  accounts
    .command('remove')
    .description('delete a collection account')
    .argument('<platform>', 'platform')
    .argument('<label>', 'label')
    .action(
      action(async (platform: string, label: string) => {
        const { accountsCommand } = await import('./commands/accounts.js');
        return accountsCommand(configFromOpts(globals()), 'remove', { platform, label });
      }),
    );

  const watch = program.command('watch').description('watchlists: re-capture a channel, account, page or post on a schedule; new, edited and deleted posts are captured (runs happen in `exhibit worker`)');
  watch
    .command('add')
    .description('watch a URL: capture it into the case every interval and capture what changed')
    .argument('<url>', 'channel, account, page or post URL')
    .requiredOption('--case <caseId>', 'case the captures go into')
    .requiredOption('--every <interval>', 'interval: a whole number and m, h or d (1m to 7d), e.g. 15m')
    .requiredOption('--operator <id>', 'the person on whose authority the watch captures (recorded on every capture and run)')
    .option('--legal-basis <text>', 'legal basis, carried into every capture')
    .option('--webhook <url>', 'POST each finding here, signed (X-Exhibit-Signature: sha256=HMAC-SHA256(secret, body))')
    .option('--webhook-secret <secret>', 'HMAC secret for --webhook (at least 16 characters; kept only in Redis; visible in the process list — prefer --webhook-secret-file)')
    .option('--webhook-secret-file <path>', 'read the HMAC secret for --webhook from this file (first line)')
    .option('--allow-private-network', 'allow private and loopback targets (local test sites only)')
    .option('--run-now', 'also queue a first run now instead of waiting for the first slot')
    .option('--json', 'print as JSON')
    .action(
      action(async (url: string, opts: { case: string; every: string; operator: string; legalBasis?: string; webhook?: string; webhookSecret?: string; webhookSecretFile?: string; allowPrivateNetwork?: boolean; runNow?: boolean; json?: boolean }) => {
        const { watchCommand } = await import('./commands/watch.js');
        return watchCommand(configFromOpts(globals()), 'add', { add: { url, caseId: opts.case, every: opts.every, operator: opts.operator, legalBasis: opts.legalBasis, webhook: opts.webhook, webhookSecret: opts.webhookSecretFile !== undefined ? await readSecretFile(opts.webhookSecretFile) : opts.webhookSecret, allowPrivateNetwork: Boolean(opts.allowPrivateNetwork), runNow: Boolean(opts.runNow), json: Boolean(opts.json) } });
      }),
    );
  watch
    .command('list')
    .description('watches with state, interval (and back-off), last and next run')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const { watchCommand } = await import('./commands/watch.js');
        return watchCommand(configFromOpts(globals()), 'list', { json: Boolean(opts.json) });
      }),
    );
  for (const [name, description] of [
    ['pause', 'stop scheduling a watch (its runs and captures stay)'],
    ['resume', 'schedule a paused watch again'],
    ['remove', 'delete a watch, its schedule and snapshot (its captures and custody events stay)'],
    ['run', 'queue a run of a watch now'],
    ['events', 'runs of a watch, newest first, with their findings'],
  ] as const) {
    watch
      .command(name)
      .description(description)
      .argument('<id>', 'watch id')
      .option('--json', 'print as JSON')
      .action(
        action(async (id: string, opts: { json?: boolean }) => {
          const { watchCommand } = await import('./commands/watch.js');
          return watchCommand(configFromOpts(globals()), name, { id, json: Boolean(opts.json) });
        }),
      );
  }

  program
    .command('down')
    .description('stop the embedded Redis of this state directory')
    .action(
      action(async () => {
        const { downCommand } = await import('./commands/worker.js');
        return downCommand(configFromOpts(globals()));
      }),
    );

  return program;
}

/** `--log-format` as given on the command line, for errors raised before (or without) a config. */
function logFormatFromArgv(argv: string[]): 'auto' | 'json' | 'human' {
  const i = argv.findIndex((a) => a === '--log-format' || a.startsWith('--log-format='));
  const v = i < 0 ? undefined : argv[i]!.includes('=') ? argv[i]!.split('=')[1] : argv[i + 1];
  return v === 'json' || v === 'human' ? v : 'auto';
}

/** Print a failure for a person on stderr and pick the exit code. */
export function reportError(err: unknown): ExitCode {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return EXIT.OK;
    return EXIT.USAGE;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`exhibit: ${err.message}\n`);
    return EXIT.INVALID_CONFIG;
  }
  const failure = toFailure(err);
  process.stderr.write(`exhibit: ${failure.code}: ${failure.message}\n`);
  if (failure.code === 'INTERNAL' && err instanceof Error && err.stack) {
    createLogger('error', { format: logFormatFromArgv(process.argv) }).error({ context: 'cli', err }, 'unexpected error');
  }
  return exitCodeFor(failure);
}

async function main(): Promise<void> {
  let code: ExitCode = EXIT.OK;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync(rewriteCollectorFlags(process.argv));
  } catch (err) {
    code = reportError(err);
  }
  process.exitCode = code;
  // Open handles (Redis connections, browser) must not keep a finished command alive.
  setTimeout(() => process.exit(code), 200).unref();
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('app/cli.ts')) {
  void main();
}
