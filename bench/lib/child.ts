/**
 * Benchmarked work runs in child processes (`node --import tsx bench/child.ts <task>`), so each
 * side starts from a fresh process, its memory can be measured alone (the process tree of the
 * child), and it can be profiled (`--profile <dir>` adds `--cpu-prof`). Events travel on fd 3 as
 * JSON lines, leaving stdout and stderr to whatever the code under test prints.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { projectRoot } from '../../lib/software.js';
import { MemorySampler, type MemoryPeak } from './memory.js';

export type ChildEvent =
  | { event: 'progress'; done: number; total: number; label?: string }
  | { event: 'mark'; mark: 'start' | 'end' }
  | { event: 'result'; result: unknown; maxRssKb: number }
  | { event: 'error'; message: string; stack?: string };

export interface ChildRun<R> {
  result: R;
  /** Peak resident set of the child process itself over its whole life (getrusage), kB. */
  maxRssKb: number;
  /** Peak PSS/RSS of the child's process tree between its `start` and `end` marks, when sampled. */
  memory: MemoryPeak | null;
  wallMs: number;
}

export interface ChildOptions {
  onProgress?(done: number, total: number, label?: string): void;
  /** Sample the child's process tree between its start and end marks. */
  sampleMemory?: boolean;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Give up after this long. @defaultValue 30 min */
  timeoutMs?: number;
}

/** Run a task of bench/child.ts in a fresh Node process and return what it reported. */
export async function runChild<R>(task: string, params: unknown, opts: ChildOptions = {}): Promise<ChildRun<R>> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', ...(opts.nodeArgs ?? []), path.join(projectRoot, 'bench', 'child.ts'), task, JSON.stringify(params)], {
    cwd: projectRoot,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  const sampler = opts.sampleMemory && child.pid ? new MemorySampler(child.pid) : null;
  let memory: MemoryPeak | null = null;
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => {
    stderrTail.push(l);
    if (stderrTail.length > 40) stderrTail.shift();
  });
  let outcome: { result: R; maxRssKb: number } | null = null;
  let failure: string | null = null;
  const events = createInterface({ input: child.stdio[3] as NodeJS.ReadableStream });
  const pending: Promise<unknown>[] = [];
  events.on('line', (line) => {
    let e: ChildEvent;
    try {
      e = JSON.parse(line) as ChildEvent;
    } catch {
      return;
    }
    if (e.event === 'progress') opts.onProgress?.(e.done, e.total, e.label);
    else if (e.event === 'mark' && sampler) {
      if (e.mark === 'start') sampler.start();
      else pending.push(sampler.stop().then((m) => (memory = m)));
    } else if (e.event === 'result') outcome = { result: e.result as R, maxRssKb: e.maxRssKb };
    else if (e.event === 'error') failure = e.message;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30 * 60_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  if (sampler && !memory) memory = await sampler.stop();
  await Promise.all(pending);
  if (failure || !outcome || code !== 0) {
    const why = failure ?? (code === null ? 'killed (timeout)' : `exited with code ${code}`);
    throw new Error(`bench task ${task} failed: ${why}${stderrTail.length ? `\n  stderr: ${stderrTail.slice(-8).join('\n  ')}` : ''}`);
  }
  const done = outcome as { result: R; maxRssKb: number };
  return { result: done.result, maxRssKb: done.maxRssKb, memory, wallMs: performance.now() - started };
}
