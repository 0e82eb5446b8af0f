import { Command, CommanderError, Option } from 'commander';
import { loadConfig } from '../lib/config.js';
import { ConfigError, toFailure } from '../lib/errors.js';
import { createLogger } from '../lib/logger.js';
import { collectorOverrides, rewriteCollectorFlags } from './collector-options.js';
import { EXIT, exitCodeFor, type ExitCode } from './exit-codes.js';
import type { Config } from '../schemas/config.js';
import * as accounts from './cli/accounts.js';
import * as annotate from './cli/annotate.js';
import * as bench from './cli/bench.js';
import * as capture from './cli/capture.js';
import type { CliCommand, CliDeps, GlobalOpts } from './cli/deps.js';
import * as demo from './cli/demo.js';
import * as doctor from './cli/doctor.js';
import * as down from './cli/down.js';
import * as exportCommand from './cli/export.js';
import * as graph from './cli/graph.js';
import * as importCommand from './cli/import.js';
import * as keys from './cli/keys.js';
import * as packageCommand from './cli/package.js';
import * as partners from './cli/partners.js';
import * as reseal from './cli/reseal.js';
import * as search from './cli/search.js';
import * as serve from './cli/serve.js';
import * as share from './cli/share.js';
import * as show from './cli/show.js';
import * as status from './cli/status.js';
import * as timestamp from './cli/timestamp.js';
import * as trust from './cli/trust.js';
import * as users from './cli/users.js';
import * as verify from './cli/verify.js';
import * as warc from './cli/warc.js';
import * as watch from './cli/watch.js';
import * as worker from './cli/worker.js';

/** Every command, in the order `exhibit --help` lists them (show.ts declares list, cases and show). */
export const COMMANDS: readonly CliCommand[] = [capture, exportCommand, status, reseal, show, search, annotate, packageCommand, share, importCommand, verify, partners, trust, graph, timestamp, warc, worker, demo, doctor, bench, keys, serve, users, accounts, watch, down];

function configFromOpts(g: GlobalOpts, extra: Record<string, unknown> = {}): Config {
  const overrides: Record<string, unknown> = { ...extra };
  if (g.collectorOption?.length) overrides.collectors = collectorOverrides(g.collectorOption);
  if (g.stateDir) overrides.stateDir = g.stateDir;
  if (g.redisUrl) overrides.redis = { url: g.redisUrl };
  if (g.store) overrides.store = { kind: g.store };
  if (g.logLevel || g.logFormat) overrides.log = { ...(g.logLevel ? { level: g.logLevel } : {}), ...(g.logFormat ? { format: g.logFormat } : {}) };
  return loadConfig({ file: g.config, overrides });
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
  const deps: CliDeps = {
    config: (extra) => configFromOpts(globals(), extra),
    globals,
    action:
      (fn) =>
      async (...args) => {
        run(await fn(...args));
      },
  };
  for (const command of COMMANDS) command.register(program, deps);
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
