import type { Command } from 'commander';
import type { CliDeps } from './deps.js';

/** `exhibit bench` and `bench fuzz`: the benchmarks (the only way into bench/). */
export function register(program: Command, { action, config }: CliDeps): void {
  const bench = program
    .command('bench')
    .description('benchmarks: each part of the pipeline against the raw tool it is built on, side by side (Markdown table; JSON in bench/results/)')
    .option('--quick', 'a short run (fewer captures, smaller files) to check that everything works')
    .option('--only <rows>', 'comma-separated rows: capture-latency, capture-throughput, memory, seal, verify, bulk-submit, package')
    .option('--out <dir>', 'directory for the JSON results (default bench/results)')
    .option('--profile <dir>', 'write a V8 CPU profile (--cpu-prof) of every benchmark process into this directory')
    .action(
      action(async (opts: { quick?: boolean; only?: string; out?: string; profile?: string }) => {
        const { benchCommand } = await import('../commands/bench.js');
        return benchCommand(config(), { quick: Boolean(opts.quick), only: opts.only, out: opts.out, profile: opts.profile });
      }),
    );
  bench
    .command('fuzz')
    .description('the fuzz (property) tests with many runs: URL parser, zip reader, bag parsers, WARC writer, image metadata, every platform extractor')
    .option('--runs <n>', 'runs per property (./exhibit test runs a few dozen to a few hundred)', '1000')
    .option('--seed <n>', 'fast-check seed, to replay a failure the table reported')
    .action(
      action(async (opts: { runs?: string; seed?: string }) => {
        const { benchFuzzCommand } = await import('../commands/bench.js');
        return benchFuzzCommand(opts);
      }),
    );
}
