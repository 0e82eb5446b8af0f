import type { Config } from '../../schemas/config.js';
import { captureStatus, isFinal, type CaptureStatus } from '../../workers/job-state.js';
import { startWorkers, type Services } from '../../workers/runtime.js';
import { intakeSheet } from '../../workers/csv-intake.js';
import { submitUrlList, type CaptureRequestCommon, type SubmitOutcome } from '../../workers/submit.js';
import { EXIT, exitCodeFor, type ExitCode } from '../exit-codes.js';
import { progressView } from '../progress.js';
import { cliOperator, err, out, withServices } from './common.js';

export interface CaptureCliOptions {
  caseId: string;
  operator: string;
  legalBasis?: string;
  allowPrivateNetwork: boolean;
  force: boolean;
  timeoutMs?: number;
  account?: string;
  withProfile?: boolean;
  wait: boolean;
  follow: boolean;
  json: boolean;
}

const LABEL: Record<CaptureStatus['state'], string> = {
  unknown: 'unknown',
  queued: 'queued',
  capturing: 'capturing',
  sealing: 'sealing',
  sealed: 'sealed',
  unsealed: 'UNSEALED',
  failed: 'FAILED',
};

/** Follow captures until each is final, drawing progress. */
export async function followCaptures(s: Services, ids: string[], pollMs = 250): Promise<Map<string, CaptureStatus>> {
  const view = progressView();
  const final = new Map<string, CaptureStatus>();
  try {
    while (final.size < ids.length) {
      for (const id of ids) {
        if (final.has(id)) continue;
        const st = await captureStatus(s, id);
        if (isFinal(st.state)) {
          final.set(id, st);
          view.done(id, `${LABEL[st.state]}${st.result?.status === 'failed' ? ' (page failed)' : ''}`);
        } else {
          view.update(id, st.progress?.percent ?? 0, st.progress?.stage ?? LABEL[st.state], st.progress?.detail ?? undefined);
        }
      }
      if (final.size < ids.length) await new Promise((r) => setTimeout(r, pollMs));
    }
  } finally {
    view.stop();
  }
  return final;
}

/** The worst outcome decides the exit code. */
export function exitCodeForCaptures(invalid: SubmitOutcome[], statuses: CaptureStatus[]): ExitCode {
  const codes: ExitCode[] = [];
  if (invalid.length) codes.push(EXIT.INVALID_INPUT);
  for (const st of statuses) {
    if (st.state === 'failed') codes.push(st.failure ? exitCodeFor(st.failure) : EXIT.INTERNAL);
    else if (st.result?.status === 'failed') codes.push(EXIT.CAPTURE_FAILED);
    else if (st.state === 'unsealed') codes.push(EXIT.UNSEALED);
  }
  const order: ExitCode[] = [EXIT.INTEGRITY, EXIT.INTERNAL, EXIT.UNAVAILABLE, EXIT.INVALID_INPUT, EXIT.CAPTURE_FAILED, EXIT.UNSEALED];
  return order.find((c) => codes.includes(c)) ?? EXIT.OK;
}

/** What every URL of one `exhibit capture` shares: case, operator, legal basis and options. */
export function captureRequestCommon(opts: Omit<CaptureCliOptions, 'wait' | 'follow' | 'json'>): CaptureRequestCommon {
  return {
    caseId: opts.caseId,
    requestedBy: opts.operator,
    operator: cliOperator(opts.operator),
    legalBasis: opts.legalBasis,
    options: {
      ...(opts.allowPrivateNetwork ? { allowPrivateNetwork: true } : {}),
      ...(opts.force ? { force: true } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.account ? { account: opts.account } : {}),
      ...(opts.withProfile ? { withProfile: true } : {}),
    },
  };
}

export async function captureCommand(config: Config, urls: string[], opts: CaptureCliOptions): Promise<ExitCode> {
  return withServices(config, async (s) => {
    const outcomes = await submitUrlList(urls, captureRequestCommon(opts), s);
    const invalid = outcomes.filter((o) => !o.ok);
    for (const o of invalid) if (!o.ok) err(`exhibit: rejected ${o.url}: ${o.failure.code}: ${o.failure.message}`);
    const accepted = outcomes.filter((o): o is Extract<SubmitOutcome, { ok: true }> => o.ok);
    if (!opts.json) {
      for (const o of accepted) err(`${o.duplicate ? 'already submitted' : 'queued'}: ${o.captureId} ${o.url}`);
    }
    return followAndReport(s, [...new Set(accepted.map((o) => o.captureId))], invalid, opts, (statuses) => ({ rejected: invalid, captures: statuses }));
  });
}

/**
 * `exhibit capture --csv <file>`: every row of the sheet reported accepted (with its capture id) or
 * rejected (with the reason), then the accepted captures followed like any other.
 */
export async function captureSheetCommand(config: Config, text: string, opts: CaptureCliOptions & { format?: 'auto' | 'csv' | 'tsv' }): Promise<ExitCode> {
  return withServices(config, async (s) => {
    const { caseId: _case, ...common } = captureRequestCommon(opts);
    const report = await intakeSheet(text, { caseId: opts.caseId, common, ...(opts.format ? { format: opts.format } : {}) }, s);
    if (!opts.json) {
      err(`${report.format.toUpperCase()} sheet: ${report.rows.length} rows, ${report.accepted} accepted, ${report.rejected} rejected; columns ${report.columns.join(', ')}${report.ignoredColumns.length ? ` (ignored: ${report.ignoredColumns.join(', ')})` : ''}`);
      for (const r of report.rows) {
        const extra = [r.tags.length ? `tags ${r.tags.join(', ')}` : '', r.note ? 'note' : ''].filter(Boolean).join(', ');
        if (r.status === 'accepted') err(`line ${r.line}  accepted  ${r.captureId}${r.duplicate ? ' (already submitted)' : ''}  ${r.url}${extra ? `  [${extra}: ${r.annotations}]` : ''}`);
        else err(`line ${r.line}  REJECTED  ${r.url ?? '(no URL)'} — ${r.failure?.code}: ${r.failure?.message}`);
      }
      if (report.annotationsNote) err(`note: ${report.annotationsNote}`);
    }
    const invalid: SubmitOutcome[] = report.rows.filter((r) => r.status === 'rejected').map((r) => ({ ok: false, url: r.url ?? '', failure: r.failure! }));
    const ids = [...new Set(report.rows.flatMap((r) => (r.captureId ? [r.captureId] : [])))];
    return followAndReport(s, ids, invalid, opts, (statuses) => ({ intake: report, captures: statuses }));
  });
}

/** Follow (or just read) the captures, print their outcomes, and answer the worst as the exit code. */
async function followAndReport(s: Services, ids: string[], invalid: SubmitOutcome[], opts: CaptureCliOptions, json: (statuses: CaptureStatus[]) => unknown): Promise<ExitCode> {
  let statuses: CaptureStatus[] = [];
  const running = opts.wait && ids.length ? await startWorkers(s) : null;
  try {
    let follow = opts.follow || opts.wait;
    if (follow && !running && ids.length) {
      const workers = await s.queues.capture.getWorkers();
      if (workers.length === 0) {
        err('no worker is running: the captures stay queued until `./exhibit worker` runs (or use --wait to capture in this process)');
        follow = false;
      }
    }
    if (follow && ids.length) statuses = [...(await followCaptures(s, ids)).values()];
    else statuses = await Promise.all(ids.map((id) => captureStatus(s, id)));
  } finally {
    await running?.close();
  }
  if (opts.json) {
    out(JSON.stringify(json(statuses), null, 2));
  } else {
    for (const st of statuses) {
      const page = st.result ? ` page=${st.result.status}` : '';
      const why = st.failure ? ` — ${st.failure.code}: ${st.failure.message}` : '';
      out(`${st.captureId}  ${LABEL[st.state]}${page}  ${st.url ?? ''}${why}`);
      if (st.result) out(`    manifest ${st.result.manifestDigest} (${st.result.artifactCount} artifacts) in ${s.store.location} at ${st.result.manifestKey}`);
    }
  }
  return exitCodeForCaptures(invalid, statuses);
}
