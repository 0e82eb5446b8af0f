import type { Config } from '../../schemas/config.js';
import { formatInterval, type WatchRun, type WatchStatus } from '../../schemas/watch.js';
import { addWatch, listWatches, pauseWatch, removeWatch, resumeWatch, runWatchNow, watchEvents, watchStatus, withWatchQueues } from '../../workers/watch.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { err, out, withServices } from './common.js';

export interface WatchAddOpts {
  url: string;
  caseId: string;
  every: string;
  operator: string;
  legalBasis?: string;
  webhook?: string;
  webhookSecret?: string;
  allowPrivateNetwork?: boolean;
  runNow?: boolean;
  json?: boolean;
}

function statusLine(w: WatchStatus): string {
  const every = w.backingOff ? `${formatInterval(w.watch.every)}→${formatInterval(w.effectiveEvery)} (backing off: ${w.consecutiveFailures} failed runs)` : formatInterval(w.watch.every);
  return `${w.watch.id}  ${w.watch.state.padEnd(6)}  every ${every}  case ${w.watch.caseId}  runs ${w.runs}  last ${w.lastRunAt ?? '-'}${w.lastOutcome ? ` ${w.lastOutcome}` : ''}  next ${w.nextRunAt ?? '-'}  ${w.watch.url}`;
}

function runLines(r: WatchRun): string[] {
  const head = `run ${r.run}  ${r.finishedAt}  ${r.outcome}  page ${r.targetCaptureId ?? '-'}  ${r.postsSeen} posts  ${r.findings.length} findings${r.failure ? `  ${r.failure.code}: ${r.failure.message}` : ''}`;
  return [head, ...r.review.map((f) => `  review  ${f.code}: ${f.message}`), ...r.findings.map((f) => `  ${f.kind.padEnd(7)} ${f.postKey}  capture ${f.captureId ?? '-'}${f.previousCaptureId ? `  (earlier ${f.previousCaptureId})` : ''}  ${f.postUrl ?? ''}`)];
}

/** `exhibit watch add|list|pause|resume|remove|run|events`. Runs happen in `exhibit worker`. */
export async function watchCommand(config: Config, what: 'add' | 'list' | 'pause' | 'resume' | 'remove' | 'run' | 'events', opts: { id?: string; add?: WatchAddOpts; json?: boolean }): Promise<ExitCode> {
  return withServices(config, async (s) => {
    const d = withWatchQueues(s);
    try {
      if (what === 'add') {
        const a = opts.add!;
        if ((a.webhook === undefined) !== (a.webhookSecret === undefined)) {
          err('exhibit: --webhook needs --webhook-secret-file (or --webhook-secret), and a secret needs --webhook');
          return EXIT.USAGE;
        }
        const w = await addWatch(
          {
            url: a.url,
            caseId: a.caseId,
            every: a.every,
            createdBy: a.operator,
            ...(a.legalBasis !== undefined ? { legalBasis: a.legalBasis } : {}),
            ...(a.webhook !== undefined ? { webhook: { url: a.webhook, secret: a.webhookSecret } } : {}),
            ...(a.allowPrivateNetwork ? { allowPrivateNetwork: true } : {}),
          },
          d,
          { initialRun: Boolean(a.runNow) },
        );
        const st = await watchStatus(d, w.id);
        out(a.json ? JSON.stringify(st, null, 2) : `watch ${w.id} added: ${w.url} into case ${w.caseId} every ${formatInterval(w.every)}, first run ${a.runNow ? 'now' : (st.nextRunAt ?? '-')} (runs happen in \`exhibit worker\`)`);
        return EXIT.OK;
      }
      if (what === 'list') {
        const list = await listWatches(d);
        if (opts.json) out(JSON.stringify(list, null, 2));
        else if (list.length === 0) out('no watches');
        else for (const w of list) out(statusLine(w));
        return EXIT.OK;
      }
      const id = String(opts.id);
      if (what === 'pause') await pauseWatch(d, id);
      else if (what === 'resume') await resumeWatch(d, id);
      else if (what === 'remove') await removeWatch(d, id);
      else if (what === 'run') {
        const job = await runWatchNow(d, id);
        out(`run of watch ${id} queued (job ${job}); see \`exhibit watch events ${id}\``);
        return EXIT.OK;
      } else {
        await watchStatus(d, id); // NOT_FOUND for an unknown id
        const runs = await watchEvents(d, id);
        if (opts.json) out(JSON.stringify(runs, null, 2));
        else if (runs.length === 0) out('no runs yet');
        else for (const r of runs) for (const line of runLines(r)) out(line);
        return EXIT.OK;
      }
      out(`watch ${id} ${what === 'pause' ? 'paused' : what === 'resume' ? 'resumed' : 'removed'}`);
      return EXIT.OK;
    } finally {
      await d.closeWatchQueues();
    }
  });
}
