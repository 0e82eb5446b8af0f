/**
 * `exhibit bench`: every benchmark of issue 5 against its baseline, measured in the same run on the
 * same machine. Starts a private Redis, a local TSA and the sample site, runs the rows (each catches
 * its own failure and shows it in the table), prints the Markdown table on stdout, writes
 * `bench/results/<time>.json` and `latest.json`, and stops everything, also on failure.
 *
 * Results are figures, not assertions: a missed target does not fail the run. The run fails only
 * when it could not run (services would not start, results could not be written).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../lib/software.js';
import type { GraphBenchEnv } from './cases/case-graph.js';
import { runChild } from './lib/child.js';
import { startBenchEnv, type BenchEnv } from './lib/env.js';
import { machineFacts, type MachineFacts } from './lib/machine.js';
import { failedRow, formatReport, type BenchRow, type RowId } from './report.js';

export { parseOnly } from './report.js';

export interface RunBenchOptions {
  quick: boolean;
  /** Rows to run (default: all). `memory` comes with `capture-throughput` and vice versa. */
  only?: RowId[];
  /** Results directory. @defaultValue bench/results */
  outDir?: string;
  /** Write a V8 CPU profile of every child process into this directory (`node --cpu-prof`). */
  profileDir?: string;
  chromiumPath?: string;
}

export interface BenchResults {
  schemaVersion: 'exhibit.bench-results/1';
  mode: 'quick' | 'full';
  startedAt: string;
  finishedAt: string;
  machine: MachineFacts;
  loadAverageAtEnd: number[];
  rows: BenchRow[];
  table: string;
}

interface Group {
  rows: RowId[];
  /** Row names and targets, for a group that fails before producing rows. */
  labels: Array<[RowId, string, string]>;
  run(env: BenchEnv): Promise<BenchRow[]>;
  /** CPU-only rows: run without the services (Redis, TSA, sample site). */
  cpuOnly?: (env: GraphBenchEnv) => Promise<BenchRow[]>;
}

// Cases are imported when their group runs: a row whose code cannot load is reported, not fatal.
const GROUPS: Group[] = [
  { rows: ['capture-latency'], labels: [['capture-latency', 'capture latency', 'p50 ≤ 1.5×']], run: async (env) => (await import('./cases/capture-latency.js')).runCaptureLatency(env) },
  {
    rows: ['capture-throughput', 'memory'],
    labels: [
      ['capture-throughput', 'capture throughput', '≥ 0.75×'],
      ['memory', 'peak PSS during the throughput run', '≤ 1.3×'],
    ],
    run: async (env) => (await import('./cases/capture-throughput.js')).runCaptureThroughput(env),
  },
  { rows: ['seal'], labels: [['seal', 'seal a large media file', '≥ 0.9×, RSS ≤ 200 MB']], run: async (env) => (await import('./cases/seal.js')).runSealRow(env) },
  { rows: ['verify'], labels: [['verify', 'verify a package holding it', '≥ 0.9× openssl; < sha256sum -c']], run: async (env) => (await import('./cases/verify.js')).runVerifyRow(env) },
  { rows: ['bulk-submit'], labels: [['bulk-submit', 'bulk submit', '≥ 0.5×']], run: async (env) => (await import('./cases/bulk-submit.js')).runBulkSubmitRow(env) },
  { rows: ['package'], labels: [['package', 'package a case', '≤ 1.5×']], run: async (env) => (await import('./cases/package.js')).runPackageRow(env) },
  {
    rows: ['graph-build', 'graph-incremental'],
    labels: [
      ['graph-build', 'case graph build', '≤ 2× (100,000 posts)'],
      ['graph-incremental', 'incremental update of one capture', '< 50 ms'],
    ],
    run: (env) => runGraph(env),
    cpuOnly: (env) => runGraph(env),
  },
];

const runGraph = async (env: GraphBenchEnv) => (await import('./cases/case-graph.js')).runCaseGraphRows(env);

export async function runBench(opts: RunBenchOptions): Promise<BenchResults> {
  const startedAt = new Date();
  const chromiumPath = opts.chromiumPath ?? '/usr/bin/chromium';
  const machine = await machineFacts({ chromiumPath, root: projectRoot });
  const outDir = path.resolve(opts.outDir ?? path.join(projectRoot, 'bench', 'results'));
  await mkdir(outDir, { recursive: true });
  const nodeArgs = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(opts.profileDir)}`] : [];
  if (opts.profileDir) await mkdir(opts.profileDir, { recursive: true });
  const groups = GROUPS.filter((g) => !opts.only || g.rows.some((r) => opts.only!.includes(r)));
  const say = (m: string) => process.stderr.write(`[bench] ${m}\n`);
  say(`${opts.quick ? 'quick' : 'full'} run of ${groups.flatMap((g) => g.rows).join(', ')} on ${machine.cpuModel} (${machine.cores} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);

  // Services start only when a row needs them (the graph rows are CPU-only).
  let env: BenchEnv | null = null;
  const cpuDir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-bench-cpu-'));
  const cpuEnv: GraphBenchEnv = {
    quick: opts.quick,
    workDir: cpuDir,
    child: (task, params, o = {}) => runChild(task, params, { nodeArgs, ...o }),
    say: (row, message) => process.stderr.write(`[bench] ${row}: ${message}\n`),
  };
  const rows: BenchRow[] = [];
  try {
    for (const [i, g] of groups.entries()) {
      say(`── ${i + 1}/${groups.length}: ${g.rows.join(' + ')}`);
      const t0 = performance.now();
      try {
        rows.push(...(g.cpuOnly ? await g.cpuOnly(cpuEnv) : await g.run((env ??= await startBenchEnv({ quick: opts.quick, nodeArgs, chromiumPath })))));
      } catch (err) {
        say(`${g.rows.join(' + ')} could not be measured: ${err instanceof Error ? err.message : String(err)}`);
        for (const [id, what, target] of g.labels) rows.push(failedRow(id, what, target, err));
      }
      say(`${g.rows.join(' + ')} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await env?.stop();
    await rm(cpuDir, { recursive: true, force: true });
  }

  const table = formatReport(rows, machine, opts.quick ? 'quick' : 'full');
  const results: BenchResults = {
    schemaVersion: 'exhibit.bench-results/1',
    mode: opts.quick ? 'quick' : 'full',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    loadAverageAtEnd: os.loadavg(),
    rows,
    table,
  };
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const stamp = startedAt.toISOString().replace(/:/g, '-');
  await writeFile(path.join(outDir, `${stamp}.json`), json);
  await writeFile(path.join(outDir, 'latest.json'), json);
  say(`results written to ${path.join(outDir, `${stamp}.json`)} and latest.json`);
  return results;
}
