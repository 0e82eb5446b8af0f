import type { Config } from '../../schemas/config.js';
import { formatInterval, type ChangeMedia, type ChangeSide, type TextDiffPart, type WatchChange, type WatchRun, type WatchStatus, type WebhookDeliveryFailure } from '../../schemas/watch.js';
import { readRunChanges } from '../../analysis/watch-changes.js';
import { addWatch, failedDeliveries, listWatches, pauseWatch, removeWatch, resumeWatch, runWatchNow, watchEvents, watchStatus, withWatchQueues } from '../../workers/watch.js';
import { isolate, VISIBILITY_WORDS } from '../post-view.js';
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

/** A word diff on one line: `[-removed-]` and `{+added+}`, isolated in the text's direction. */
export function diffLine(parts: TextDiffPart[], dir: 'ltr' | 'rtl' | null): string {
  const text = parts.map((p) => (p.op === 'same' ? p.text : p.op === 'removed' ? `[-${p.text}-]` : `{+${p.text}+}`)).join('').replace(/\s*\n\s*/g, ' ⏎ ');
  return isolate(text, dir);
}

const mediaWords = (m: ChangeMedia) => `${m.type} ${m.digest ?? `(not recorded) ${m.sourceUrl ?? ''}`}`;

function sideLine(label: string, side: ChangeSide): string {
  const state = side.state === 'sealed' ? `observed ${side.observedAt ?? '-'}${side.visibility && side.visibility !== 'visible' ? `, the platform showed: ${VISIBILITY_WORDS[side.visibility]}` : ''}` : side.state === 'pending' ? 'not sealed yet' : `unreadable: ${side.note ?? ''}`;
  return `    ${label.padEnd(7)} capture ${side.captureId}  (${state})`;
}

function changeLines(c: WatchChange): string[] {
  const lines = [`  ${c.kind.padEnd(7)} ${c.postKey}  ${c.postUrl ?? ''}`];
  if (c.kind === 'deleted') {
    if (c.before) lines.push(sideLine('last', c.before));
    if (c.after) lines.push(sideLine('now', c.after));
    const signals = c.after?.signals.length ? ` (${c.after.signals.join('; ')})` : '';
    lines.push(
      c.gone === 'confirmed'
        ? `    gone: the platform showed ${VISIBILITY_WORDS[c.after!.visibility!]}${signals}`
        : c.gone === 'pending'
          ? '    gone? the observation capture of its page is not sealed yet'
          : `    not confirmed gone: it left the list, but its page did not say it is gone${c.after?.visibility ? ` (the platform showed: ${VISIBILITY_WORDS[c.after.visibility]})` : ''}`,
    );
    return lines;
  }
  if (c.before) lines.push(sideLine('before', c.before));
  if (c.after) lines.push(sideLine(c.kind === 'new' ? 'capture' : 'after', c.after));
  if (c.kind === 'new' && c.after?.text) lines.push(`    text    ${isolate(c.after.text.replace(/\s*\n\s*/g, ' ⏎ ').slice(0, 300), c.after.direction)}`);
  if (c.textDiff) lines.push(`    text    ${diffLine(c.textDiff, c.after?.direction ?? c.before?.direction ?? null)}${c.textDiffCoarse ? '  (too long for a word diff: whole text replaced)' : ''}`);
  else if (c.kind === 'edited' && c.before?.state === 'sealed' && c.after?.state === 'sealed' && c.before.text === c.after.text) lines.push('    text    unchanged');
  for (const m of c.mediaAdded) lines.push(`    media + ${mediaWords(m)}`);
  for (const m of c.mediaRemoved) lines.push(`    media - ${mediaWords(m)}`);
  return lines;
}

function runLines(r: WatchRun, changes: WatchChange[]): string[] {
  const head = `run ${r.run}  ${r.finishedAt}  ${r.outcome}  page ${r.targetCaptureId ?? '-'}  ${r.postsSeen} posts  ${r.findings.length} findings${r.failure ? `  ${r.failure.code}: ${r.failure.message}` : ''}`;
  return [head, ...r.review.map((f) => `  review  ${f.code}: ${f.message}`), ...changes.flatMap(changeLines)];
}

function deliveryLine(f: WebhookDeliveryFailure): string {
  return `  ${f.deliveryId}  run ${f.run}  ${f.kind} ${f.postKey}  after ${f.attempts} attempt(s)${f.failedAt ? ` at ${f.failedAt}` : ''}: ${f.reason}`;
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
        const st = await watchStatus(d, id); // NOT_FOUND for an unknown id
        const runs = await watchEvents(d, id);
        const withChanges = [];
        for (const r of runs) withChanges.push({ ...r, changes: await readRunChanges(s.store, st.watch.caseId, r) });
        const failed = await failedDeliveries(d, id);
        if (opts.json) out(JSON.stringify({ runs: withChanges, failedDeliveries: failed }, null, 2));
        else {
          if (runs.length === 0) out('no runs yet');
          for (const r of withChanges) for (const line of runLines(r, r.changes)) out(line);
          if (failed.length) {
            out(`failed webhook deliveries (${failed.length}):`);
            for (const f of failed) out(deliveryLine(f));
          }
        }
        return EXIT.OK;
      }
      out(`watch ${id} ${what === 'pause' ? 'paused' : what === 'resume' ? 'resumed' : 'removed'}`);
      return EXIT.OK;
    } finally {
      await d.closeWatchQueues();
    }
  });
}
