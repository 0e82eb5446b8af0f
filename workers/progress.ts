import type { JobProgress } from '../schemas/jobs.js';

/**
 * Forward job progress, but not every report: each one is a Redis script call and an event to
 * every listener, and a seal reports several times per file. A report goes out when the stage
 * changes, when the percentage moved by `minStep` or more, when `minIntervalMs` passed since the
 * last one, and always at 100 %. Progress is for people watching: the last report always wins.
 */
export function throttledProgress(send: (p: JobProgress) => void, opts: { minStep?: number; minIntervalMs?: number; now?: () => number } = {}): (p: JobProgress) => void {
  const minStep = opts.minStep ?? 5;
  const minIntervalMs = opts.minIntervalMs ?? 250;
  const now = opts.now ?? Date.now;
  let last: { stage: string; percent: number; at: number } | null = null;
  return (p) => {
    const t = now();
    if (last && p.stage === last.stage && p.percent < 100 && Math.abs(p.percent - last.percent) < minStep && t - last.at < minIntervalMs) return;
    last = { stage: p.stage, percent: p.percent, at: t };
    send(p);
  };
}
