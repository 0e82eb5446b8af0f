/**
 * Entry point of a benchmark child process: `node --import tsx bench/child.ts <task> <json params>`.
 * Loads only the module its task needs (a bare baseline imports nothing of Exhibit), runs it, and
 * reports on fd 3 (see bench/lib/child.ts).
 */
import { childIO, emit, type ChildTask } from './lib/child-io.js';

type AnyTask = ChildTask<never, unknown>;

const TASKS: Record<string, () => Promise<AnyTask>> = {
  'bare-latency': async () => (await import('./baselines/playwright.js')).bareLatency as AnyTask,
  'bare-throughput': async () => (await import('./baselines/playwright.js')).bareThroughput as AnyTask,
  'bare-addbulk': async () => (await import('./baselines/bullmq.js')).bareAddBulk as AnyTask,
  'bare-zip': async () => (await import('./baselines/zip-store.js')).bareZip as AnyTask,
  'exhibit-latency': async () => (await import('./cases/capture-latency.js')).exhibitLatency as AnyTask,
  'exhibit-throughput': async () => (await import('./cases/capture-throughput.js')).exhibitThroughput as AnyTask,
  'exhibit-seal': async () => (await import('./cases/seal.js')).exhibitSeal as AnyTask,
  'exhibit-verify': async () => (await import('./cases/verify.js')).exhibitVerify as AnyTask,
  'exhibit-bulk': async () => (await import('./cases/bulk-submit.js')).exhibitBulk as AnyTask,
  'exhibit-package': async () => (await import('./cases/package.js')).exhibitPackage as AnyTask,
  'exhibit-graph': async () => (await import('./cases/case-graph.js')).exhibitGraph as AnyTask,
  'direct-graph': async () => (await import('./cases/case-graph.js')).directGraph as AnyTask,
};

async function main(): Promise<void> {
  const [task, json] = process.argv.slice(2);
  const load = task ? TASKS[task] : undefined;
  if (!load) throw new Error(`unknown bench task ${JSON.stringify(task)}; known: ${Object.keys(TASKS).join(', ')}`);
  const fn = await load();
  const result = await fn(JSON.parse(json ?? '{}') as never, childIO);
  emit({ event: 'result', result, maxRssKb: process.resourceUsage().maxRSS });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    emit({ event: 'error', message: err instanceof Error ? err.message : String(err), ...(err instanceof Error && err.stack ? { stack: err.stack } : {}) });
    process.exit(1);
  },
);
