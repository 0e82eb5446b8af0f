/**
 * Capture throughput and memory, measured in the same runs.
 *
 * - Throughput: captures/min sealed (signed, timestamped) with the default worker settings
 *   (capture.concurrency and seal.concurrency from the config defaults, sized for 2 cores), vs bare
 *   Playwright at its best concurrency (1, 2, 3 and 4 are tried; the best is the baseline).
 *   Target: ≥ 0.75× baseline.
 * - Memory: peak PSS of the worker process and its Chromium (the child's whole process tree,
 *   sampled every 200 ms) during the throughput run vs bare Playwright at the same concurrency.
 *   Target: ≤ 1.3× baseline.
 */
import { configFrom } from '../../lib/config.js';
import type { BareParams } from '../baselines/playwright.js';
import type { ChildIO } from '../lib/child-io.js';
import type { BenchEnv } from '../lib/env.js';
import { startExhibit, isGood, type CaptureTiming } from '../lib/exhibit-capture.js';
import type { MemoryPeak } from '../lib/memory.js';
import { median, perMinute } from '../lib/stats.js';
import { formatBytes, formatNumber, type BenchRow } from '../report.js';

const ROW = 'capture throughput';

export interface ExhibitThroughputParams {
  config: Record<string, unknown>;
  url: string;
  caseId: string;
  n: number;
}

/** Child task: one warm-up capture (launches Chromium), then `n` captures submitted at once. */
export async function exhibitThroughput(p: ExhibitThroughputParams, io: ChildIO): Promise<{ elapsedMs: number; timings: CaptureTiming[] }> {
  const h = await startExhibit(p.config);
  try {
    await h.captureMany(p.url, p.caseId, 1);
    io.mark('start');
    const r = await h.captureMany(p.url, p.caseId, p.n, (done) => io.progress(done, p.n));
    io.mark('end');
    return r;
  } finally {
    await h.close();
  }
}

interface BareRun {
  concurrency: number;
  perMin: number;
  elapsedMs: number;
  ok: number;
  failed: number;
  memory: MemoryPeak | null;
}

export async function runCaptureThroughput(env: BenchEnv): Promise<BenchRow[]> {
  const n = env.quick ? 10 : 60;
  const configTree = env.configTree('throughput');
  const defaults = configFrom(configTree);
  const concurrency = defaults.capture.concurrency;
  const bare: BareParams = { url: env.postUrl, chromiumPath: env.opts.chromiumPath, viewport: defaults.capture.viewport };

  const bareRuns: BareRun[] = [];
  for (const c of [1, 2, 3, 4]) {
    env.say(ROW, `bare Playwright at concurrency ${c}, ${n} captures`);
    const r = await env.child<{ elapsedMs: number; ok: number; failed: number; errors: string[] }>('bare-throughput', { ...bare, n, concurrency: c, warmup: 1 }, { sampleMemory: true, onProgress: env.progress(ROW, `bare Playwright c=${c}`) });
    if (r.result.ok === 0) throw new Error(`bare Playwright captured nothing at concurrency ${c}: ${r.result.errors[0] ?? ''}`);
    bareRuns.push({ concurrency: c, perMin: perMinute(r.result.ok, r.result.elapsedMs), elapsedMs: r.result.elapsedMs, ok: r.result.ok, failed: r.result.failed, memory: r.memory });
  }
  const best = bareRuns.reduce((a, b) => (b.perMin > a.perMin ? b : a));
  const sameConcurrency = bareRuns.find((r) => r.concurrency === concurrency) ?? best;

  env.say(ROW, `Exhibit (capture.concurrency ${concurrency}, seal.concurrency ${defaults.seal.concurrency}), ${n} captures`);
  const ex = await env.child<{ elapsedMs: number; timings: CaptureTiming[] }>('exhibit-throughput', { config: configTree, url: env.postUrl, caseId: 'BENCH-THROUGHPUT', n } satisfies ExhibitThroughputParams, {
    sampleMemory: true,
    onProgress: env.progress(ROW, 'Exhibit'),
  });
  const good = ex.result.timings.filter(isGood);
  const bad = ex.result.timings.filter((t) => !isGood(t));
  const exPerMin = perMinute(good.length, ex.result.elapsedMs);
  const ratio = exPerMin / best.perMin;
  const medianOf = (k: 'captureMs' | 'sealMs' | 'queuedMs' | 'handoverMs') => {
    const v = good.map((t) => t[k]).filter((x): x is number => x !== null);
    return v.length ? median(v) : null;
  };
  const rows: BenchRow[] = [
    {
      id: 'capture-throughput',
      what: `capture throughput, ${n} captures, default workers (capture ${concurrency}, seal ${defaults.seal.concurrency})`,
      exhibit: `${formatNumber(exPerMin)} captures/min sealed${bad.length ? ` (${bad.length} of ${n} not sealed)` : ''}`,
      baseline: `${formatNumber(best.perMin)} captures/min (best at concurrency ${best.concurrency})`,
      ratio,
      target: '≥ 0.75×',
      pass: ratio >= 0.75 && bad.length === 0,
      data: {
        n,
        exhibit: { perMin: exPerMin, elapsedMs: ex.result.elapsedMs, sealed: good.length, notSealed: bad.map((t) => ({ state: t.state, failure: t.failure })), medianCaptureJobMs: medianOf('captureMs'), medianSealJobMs: medianOf('sealMs'), medianQueuedMs: medianOf('queuedMs'), medianHandoverMs: medianOf('handoverMs') },
        baseline: bareRuns.map((r) => ({ concurrency: r.concurrency, perMin: r.perMin, elapsedMs: r.elapsedMs, ok: r.ok, failed: r.failed })),
        bestBaselineConcurrency: best.concurrency,
      },
    },
  ];
  const ePss = ex.memory?.peakPssKb ?? 0;
  const bPss = sameConcurrency.memory?.peakPssKb ?? 0;
  if (ePss > 0 && bPss > 0) {
    const mr = ePss / bPss;
    rows.push({
      id: 'memory',
      what: `peak PSS, worker process + Chromium, during the throughput run (concurrency ${sameConcurrency.concurrency})`,
      exhibit: `${formatBytes(ePss * 1024)} (${ex.memory!.processesAtPeak} processes)`,
      baseline: `${formatBytes(bPss * 1024)} (${sameConcurrency.memory!.processesAtPeak} processes)`,
      ratio: mr,
      target: '≤ 1.3×',
      pass: mr <= 1.3,
      data: {
        exhibit: ex.memory,
        exhibitChildMaxRssKb: ex.maxRssKb,
        baselineConcurrency: sameConcurrency.concurrency,
        baseline: sameConcurrency.memory,
        baselineByConcurrency: bareRuns.map((r) => ({ concurrency: r.concurrency, memory: r.memory })),
      },
    });
  } else {
    rows.push({ id: 'memory', what: 'peak PSS during the throughput run', exhibit: '—', baseline: '—', ratio: null, target: '≤ 1.3×', pass: null, error: 'no PSS samples (is /proc/<pid>/smaps_rollup readable?)', data: {} });
  }
  return rows;
}
