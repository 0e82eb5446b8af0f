/**
 * Capture latency: submit → sealed (signed and timestamped) capture of the sample post page, one
 * at a time, against a bare Playwright loop on the same page. Target: p50 ≤ 1.5× baseline.
 */
import type { BareParams } from '../baselines/playwright.js';
import type { ChildIO } from '../lib/child-io.js';
import type { BenchEnv } from '../lib/env.js';
import { startExhibit, isGood, type CaptureTiming } from '../lib/exhibit-capture.js';
import { summarize, median } from '../lib/stats.js';
import { formatDuration, type BenchRow } from '../report.js';

const ROW = 'capture latency';
const TARGET = 'p50 ≤ 1.5×';

export interface ExhibitLatencyParams {
  config: Record<string, unknown>;
  url: string;
  caseId: string;
  runs: number;
  warmup: number;
}

/** Child task: `warmup` + `runs` captures, one at a time, each awaited until sealed. */
export async function exhibitLatency(p: ExhibitLatencyParams, io: ChildIO): Promise<{ timings: CaptureTiming[]; warmup: CaptureTiming[] }> {
  const h = await startExhibit(p.config);
  try {
    const warmup: CaptureTiming[] = [];
    for (let i = 0; i < p.warmup; i++) warmup.push(...(await h.captureMany(p.url, p.caseId, 1)).timings);
    const timings: CaptureTiming[] = [];
    io.mark('start');
    for (let i = 0; i < p.runs; i++) {
      timings.push(...(await h.captureMany(p.url, p.caseId, 1)).timings);
      io.progress(i + 1, p.runs);
    }
    io.mark('end');
    return { timings, warmup };
  } finally {
    await h.close();
  }
}

export async function runCaptureLatency(env: BenchEnv): Promise<BenchRow[]> {
  const runs = env.quick ? 5 : 20;
  const warmup = env.quick ? 1 : 2;
  const bare: BareParams = { url: env.postUrl, chromiumPath: env.opts.chromiumPath, viewport: { width: 1280, height: 900 } };
  env.say(ROW, `bare Playwright, ${runs} runs`);
  const base = await env.child<{ samplesMs: number[]; pngBytes: number; htmlBytes: number; browserVersion: string }>('bare-latency', { ...bare, runs, warmup }, { onProgress: env.progress(ROW, 'bare Playwright') });
  env.say(ROW, `Exhibit, ${runs} runs`);
  const ex = await env.child<{ timings: CaptureTiming[] }>('exhibit-latency', { config: env.configTree('latency'), url: env.postUrl, caseId: 'BENCH-LATENCY', runs, warmup } satisfies ExhibitLatencyParams, {
    onProgress: env.progress(ROW, 'Exhibit'),
  });
  const good = ex.result.timings.filter(isGood);
  const bad = ex.result.timings.filter((t) => !isGood(t));
  if (good.length === 0) throw new Error(`no Exhibit capture was sealed: ${bad[0]?.failure ?? bad[0]?.state ?? 'no result'}`);
  const e = summarize(good.map((t) => t.totalMs));
  const b = summarize(base.result.samplesMs);
  const part = (k: keyof Pick<CaptureTiming, 'queuedMs' | 'captureMs' | 'handoverMs' | 'sealMs'>) => {
    const v = good.map((t) => t[k]).filter((x): x is number => x !== null);
    return v.length ? median(v) : null;
  };
  const breakdown = { queuedMs: part('queuedMs'), captureMs: part('captureMs'), handoverMs: part('handoverMs'), sealMs: part('sealMs') };
  const ratio = e.p50 / b.p50;
  return [
    {
      id: 'capture-latency',
      what: `capture latency, sample post, concurrency 1 (n=${good.length})`,
      exhibit: `p50 ${formatDuration(e.p50)}, p90 ${formatDuration(e.p90)}${bad.length ? ` (${bad.length} not sealed)` : ''}`,
      baseline: `p50 ${formatDuration(b.p50)}, p90 ${formatDuration(b.p90)}`,
      ratio,
      target: TARGET,
      pass: ratio <= 1.5 && bad.length === 0,
      data: {
        exhibit: e,
        baseline: b,
        exhibitMedianBreakdownMs: breakdown,
        notSealed: bad.map((t) => ({ state: t.state, pageStatus: t.pageStatus, failure: t.failure })),
        exhibitSamples: ex.result.timings,
        baselineSamplesMs: base.result.samplesMs,
        baselinePngBytes: base.result.pngBytes,
        baselineHtmlBytes: base.result.htmlBytes,
      },
    },
  ];
}
