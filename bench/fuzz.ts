/**
 * `exhibit bench fuzz`: the fuzz (property) tests of test/unit/fuzz/ with many more runs than
 * `./exhibit test` gives them. Runs vitest in a child process with EXHIBIT_FUZZ_RUNS=N (each
 * property's run count; the slowest ones divide it by their cost, see test/support/fuzz.ts) and
 * EXHIBIT_FUZZ_SEED to replay a reported failure, then prints a Markdown table of the properties.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../lib/software.js';

export const FUZZ_DIR = 'test/unit/fuzz';
/** Runs per property unless told otherwise: about ten minutes on a shared 2-core machine. */
export const DEFAULT_FUZZ_RUNS = 1000;

export interface FuzzOptions {
  runs: number;
  seed?: number;
  /** Lines of vitest's own progress output go here (stderr in the CLI). */
  progress?: (chunk: string) => void;
}

export interface FuzzResult {
  runs: number;
  seed: number | null;
  durationMs: number;
  properties: Array<{ file: string; name: string; status: string; durationMs: number; failure: string | null }>;
  ok: boolean;
  table: string;
}

interface VitestJson {
  success: boolean;
  testResults: Array<{ name: string; assertionResults: Array<{ fullName: string; status: string; duration?: number | null; failureMessages: string[] }> }>;
}

/** Run every fuzz property `runs` times (vitest, unit project, one file after another). */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-bench-fuzz-'));
  const report = path.join(dir, 'vitest.json');
  const started = performance.now();
  try {
    const vitest = path.join(projectRoot, 'node_modules', 'vitest', 'vitest.mjs');
    const args = [vitest, 'run', '--project', 'unit', FUZZ_DIR, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, '--no-file-parallelism'];
    const env = { ...process.env, EXHIBIT_FUZZ_RUNS: String(opts.runs), ...(opts.seed !== undefined ? { EXHIBIT_FUZZ_SEED: String(opts.seed) } : {}) };
    const child = spawn(process.execPath, args, { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => opts.progress?.(d.toString()));
    child.stderr.on('data', (d: Buffer) => opts.progress?.(d.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    const json = JSON.parse(await readFile(report, 'utf8').catch(() => '{"success":false,"testResults":[]}')) as VitestJson;
    const properties = json.testResults.flatMap((f) =>
      f.assertionResults.map((a) => ({
        file: path.relative(projectRoot, f.name),
        name: a.fullName,
        status: a.status,
        durationMs: Math.round(a.duration ?? 0),
        failure: a.failureMessages.length ? a.failureMessages.join('\n').split('\n').slice(0, 8).join('\n') : null,
      })),
    );
    const ok = code === 0 && properties.length > 0 && properties.every((p) => p.status === 'passed' || p.status === 'skipped');
    const durationMs = Math.round(performance.now() - started);
    return { runs: opts.runs, seed: opts.seed ?? null, durationMs, properties, ok, table: formatFuzzTable(properties, opts.runs, durationMs) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatFuzzTable(properties: FuzzResult['properties'], runs: number, durationMs: number): string {
  const lines = [`Fuzz properties, EXHIBIT_FUZZ_RUNS=${runs} (${(durationMs / 1000).toFixed(1)} s)`, '', '| file | property | result | time |', '|---|---|---|---:|'];
  for (const p of properties) lines.push(`| ${p.file} | ${p.name.replaceAll('|', '\\|')} | ${p.status} | ${(p.durationMs / 1000).toFixed(1)} s |`);
  const failed = properties.filter((p) => p.status === 'failed');
  if (failed.length) lines.push('', ...failed.map((p) => `**${p.name}**\n\n\`\`\`\n${p.failure}\n\`\`\``));
  return lines.join('\n');
}
