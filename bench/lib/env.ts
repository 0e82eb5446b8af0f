/**
 * Everything one benchmark run shares: a private Redis, a local RFC 3161 TSA, the bundled sample
 * site, a temporary state directory, and the run's options. Started once, always stopped.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startSampleSite, type SampleSite } from '../../test/fixtures/sample-site/server.js';
import { startRedis, type RunningService } from '../../test/support/services.js';
import { startLocalTsa, type LocalTsa } from '../../test/support/tsa.js';
import { runChild, type ChildOptions, type ChildRun } from './child.js';

export interface BenchOptions {
  quick: boolean;
  /** Extra node flags for the child processes (e.g. `--cpu-prof`). */
  nodeArgs: string[];
  /** Where temporary state goes. @defaultValue os.tmpdir() */
  tmpRoot?: string;
  chromiumPath: string;
}

export interface BenchEnv {
  readonly opts: BenchOptions;
  readonly quick: boolean;
  readonly workDir: string;
  readonly redis: RunningService & { port: number };
  readonly tsa: LocalTsa;
  readonly site: SampleSite;
  /** The sample post page every capture benchmark loads. */
  readonly postUrl: string;
  /** An Exhibit config tree (for configFrom) on this run's services, with a fresh Redis prefix and state dir per call. */
  configTree(name: string, extra?: Record<string, unknown>): Record<string, unknown>;
  /** Run a bench/child.ts task with this run's node flags. */
  child<R>(task: string, params: unknown, opts?: ChildOptions): Promise<ChildRun<R>>;
  /** Progress line on stderr. */
  say(row: string, message: string): void;
  /** A progress callback printing `row: label n/N`, at most ~20 lines per phase. */
  progress(row: string, label: string): (done: number, total: number) => void;
  /** Values computed once and shared between rows (e.g. the big media file). */
  readonly shared: Map<string, Promise<unknown>>;
  stop(): Promise<void>;
}

export async function startBenchEnv(opts: BenchOptions): Promise<BenchEnv> {
  const workDir = await mkdtemp(path.join(opts.tmpRoot ?? os.tmpdir(), 'exhibit-bench-'));
  const stops: Array<() => Promise<void>> = [() => rm(workDir, { recursive: true, force: true })];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
  };
  try {
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const tsa = await startLocalTsa({ caName: 'Exhibit Bench TSA CA (local, not trusted anywhere else)' });
    stops.push(() => tsa.close());
    const site = await startSampleSite();
    stops.push(() => site.close());
    const say = (row: string, message: string) => process.stderr.write(`[bench] ${row}: ${message}\n`);
    return {
      opts,
      quick: opts.quick,
      workDir,
      redis,
      tsa,
      site,
      postUrl: `${site.url}/post/1`,
      configTree: (name, extra = {}) => ({
        stateDir: path.join(workDir, name),
        redis: { url: redis.url, prefix: `bench-${name}-${randomUUID().slice(0, 8)}` },
        store: { kind: 'fs' },
        capture: { chromiumPath: opts.chromiumPath },
        tsa: { urls: [tsa.url], caFiles: [tsa.caCertPath] },
        log: { level: 'warn' },
        ...extra,
      }),
      child: (task, params, o = {}) => runChild(task, params, { nodeArgs: opts.nodeArgs, ...o }),
      say,
      progress: (row, label) => {
        let lastPrinted = -1;
        return (done, total) => {
          const step = Math.max(1, Math.ceil(total / 20));
          if (done === total || done - lastPrinted >= step || done === 1) {
            lastPrinted = done;
            say(row, `${label} ${done}/${total}`);
          }
        };
      },
      shared: new Map(),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
