import type { Config } from '../../schemas/config.js';
import { parseOnly, runBench } from '../../bench/run.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

// Not from ./common.js: that pulls in the workers (and every collector); a bench row whose code
// cannot load should be reported in the table, not stop the command.
const out = (line = '') => process.stdout.write(`${line}\n`);
const err = (line = '') => process.stderr.write(`${line}\n`);

export interface BenchCliOptions {
  quick: boolean;
  /** Comma-separated row ids. */
  only?: string;
  out?: string;
  profile?: string;
}

/**
 * `exhibit bench`: run the benchmarks (bench/run.ts), print the Markdown table on stdout. Missed
 * targets are results, not errors: the exit code is non-zero only when nothing could be measured.
 */
export async function benchCommand(config: Config, opts: BenchCliOptions): Promise<ExitCode> {
  let only;
  try {
    only = parseOnly(opts.only);
  } catch (e) {
    err(`exhibit: ${(e as Error).message}`);
    return EXIT.USAGE;
  }
  const results = await runBench({
    quick: opts.quick,
    ...(only ? { only } : {}),
    ...(opts.out ? { outDir: opts.out } : {}),
    ...(opts.profile ? { profileDir: opts.profile } : {}),
    chromiumPath: config.capture.chromiumPath,
  });
  out(results.table);
  if (results.rows.length > 0 && results.rows.every((r) => r.pass === null)) {
    err('exhibit: no benchmark could be measured');
    return EXIT.UNAVAILABLE;
  }
  return EXIT.OK;
}

/**
 * `exhibit bench fuzz [--runs N] [--seed S]`: the fuzz properties of test/unit/fuzz/ with N runs
 * each; vitest's progress on stderr, a Markdown table on stdout. Exit 1 when a property failed
 * (a bug was found: the table shows the counterexample and the seed to replay it).
 */
export async function benchFuzzCommand(opts: { runs?: string; seed?: string }): Promise<ExitCode> {
  const { DEFAULT_FUZZ_RUNS, runFuzz } = await import('../../bench/fuzz.js');
  const runs = opts.runs === undefined ? DEFAULT_FUZZ_RUNS : Number(opts.runs);
  const seed = opts.seed === undefined ? undefined : Number(opts.seed);
  if (!Number.isInteger(runs) || runs < 1 || (seed !== undefined && !Number.isInteger(seed))) {
    err('exhibit: --runs must be a positive whole number and --seed a whole number');
    return EXIT.USAGE;
  }
  const result = await runFuzz({ runs, ...(seed !== undefined ? { seed } : {}), progress: (chunk) => process.stderr.write(chunk) });
  out(result.table);
  if (result.properties.length === 0) {
    err('exhibit: the fuzz tests did not run');
    return EXIT.UNAVAILABLE;
  }
  return result.ok ? EXIT.OK : EXIT.INTERNAL;
}
