/**
 * Bulk submit: what `exhibit capture --file` does with 10,000 URLs into one case — read the list,
 * validate and normalise every URL, deduplicate (claim in a Redis hash), record the submission in
 * the custody log, enqueue — with no worker running; vs BullMQ `addBulk` of the same number of
 * no-op jobs on the same Redis. Timed: from reading the file to the last job added, through the
 * same `submitUrlList` call the CLI makes (not the CLI's later status read-back and printing).
 * Target: ≥ 0.5× the baseline's rate.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { configFrom } from '../../lib/config.js';
import { createLogger } from '../../lib/logger.js';
import { openServices } from '../../workers/runtime.js';
import { submitUrlList } from '../../workers/submit.js';
import type { ChildIO } from '../lib/child-io.js';
import type { BenchEnv } from '../lib/env.js';
import { median } from '../lib/stats.js';
import { readUrlList } from '../../lib/url-list.js';
import { formatDuration, formatNumber, type BenchRow } from '../report.js';

const ROW = 'bulk submit';

export interface ExhibitBulkParams {
  config: Record<string, unknown>;
  urlFile: string;
  caseId: string;
}

/** Child task: read the URL file and submit every line into one case; no workers. */
export async function exhibitBulk(p: ExhibitBulkParams, io: ChildIO): Promise<{ elapsedMs: number; accepted: number; rejected: number; duplicates: number; waiting: number; recorded: number }> {
  const config = configFrom(p.config);
  const s = await openServices(config, createLogger(config.log.level));
  try {
    await s.queues.capture.waitUntilReady();
    io.mark('start');
    const t0 = performance.now();
    const urls = await readUrlList(p.urlFile);
    // What `exhibit capture --file <list> --case <id> --operator <name>` submits (app/commands/capture.ts).
    const outcomes = await submitUrlList(urls, { caseId: p.caseId, requestedBy: 'bench-analyst', options: {} }, s);
    const elapsedMs = performance.now() - t0;
    io.mark('end');
    const accepted = outcomes.filter((o) => o.ok);
    return {
      elapsedMs,
      accepted: accepted.length,
      rejected: outcomes.length - accepted.length,
      duplicates: accepted.filter((o) => o.ok && o.duplicate).length,
      waiting: await s.queues.capture.getWaitingCount(),
      // Captures listed by the case's `request-submitted` events: the record is part of the work timed.
      recorded: (await s.custody.readLog(p.caseId))
        .filter((e) => e.event.action === 'request-submitted')
        .reduce((n, e) => n + (Array.isArray(e.event.details.captures) ? e.event.details.captures.length : 0), 0),
    };
  } finally {
    await s.close();
  }
}

export async function runBulkSubmitRow(env: BenchEnv): Promise<BenchRow[]> {
  const n = env.quick ? 2_000 : 10_000;
  const reps = env.quick ? 1 : 3;
  const urlFile = path.join(env.workDir, 'bulk-urls.txt');
  // Distinct URLs on the public-looking shape analysts paste (validation does not resolve DNS).
  await writeFile(urlFile, `# bench: ${n} URLs\n${Array.from({ length: n }, (_, i) => `https://social.example/murmur/status/${1_000_000 + i}?ref=bench`).join('\n')}\n`);
  const ex: number[] = [];
  const base: number[] = [];
  let last: { accepted: number; rejected: number; duplicates: number; waiting: number; recorded: number } | null = null;
  for (let i = 0; i < reps; i++) {
    env.say(ROW, `BullMQ addBulk of ${n} no-op jobs ${i + 1}/${reps}`);
    const b = await env.child<{ elapsedMs: number; waiting: number }>('bare-addbulk', { redisUrl: env.redis.url, prefix: `bench-noop-${i}-${Date.now()}`, n });
    if (b.result.waiting !== n) throw new Error(`addBulk left ${b.result.waiting} jobs waiting, expected ${n}`);
    base.push(b.result.elapsedMs);
    env.say(ROW, `Exhibit submit of ${n} URLs ${i + 1}/${reps}`);
    const r = await env.child<{ elapsedMs: number; accepted: number; rejected: number; duplicates: number; waiting: number; recorded: number }>('exhibit-bulk', { config: env.configTree(`bulk-${i}`), urlFile, caseId: 'BENCH-BULK' } satisfies ExhibitBulkParams);
    if (r.result.accepted !== n || r.result.waiting !== n || r.result.recorded !== n) throw new Error(`Exhibit accepted ${r.result.accepted}, enqueued ${r.result.waiting} and recorded ${r.result.recorded} of ${n} URLs`);
    ex.push(r.result.elapsedMs);
    last = r.result;
  }
  const exMs = median(ex);
  const baseMs = median(base);
  const exRate = n / (exMs / 1000);
  const baseRate = n / (baseMs / 1000);
  const ratio = exRate / baseRate;
  return [
    {
      id: 'bulk-submit',
      what: `bulk submit of ${formatNumber(n)} URLs into one case (no workers)`,
      exhibit: `${formatNumber(exRate)} URLs/s (${formatDuration(exMs)})`,
      baseline: `${formatNumber(baseRate)} jobs/s (${formatDuration(baseMs)}) BullMQ addBulk`,
      ratio,
      target: '≥ 0.5×',
      pass: ratio >= 0.5,
      data: { n, reps, exhibit: { medianMs: exMs, perS: exRate, runsMs: ex, last }, baseline: { medianMs: baseMs, perS: baseRate, runsMs: base } },
    },
  ];
}
