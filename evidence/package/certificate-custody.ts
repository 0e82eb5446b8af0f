/** The certificate's custody log: the full timeline (one capture) or condensed to a line per kind of event per capture (several). */
import type { CustodyAction, CustodyEvent } from '../../schemas/custody.js';
import { plural } from './certificate-capture.js';
import { code, escapeHtml, hexOf, t, time, truncateMiddle, type CertificateInput } from './certificate-html.js';

export const ACTION_STYLE: Record<CustodyAction, { glyph: string; cls: string }> = {
  'request-submitted': { glyph: '●', cls: 'request' },
  'capture-started': { glyph: '▶', cls: 'capture' },
  'capture-finished': { glyph: '■', cls: 'capture' },
  'capture-failed': { glyph: '✖', cls: 'failure' },
  'artifact-sealed': { glyph: '◆', cls: 'seal' },
  'manifest-signed': { glyph: '✎', cls: 'seal' },
  timestamped: { glyph: '◷', cls: 'seal' },
  'seal-failed': { glyph: '✖', cls: 'failure' },
  packaged: { glyph: '▣', cls: 'package' },
  'package-failed': { glyph: '✗', cls: 'failure' },
  exported: { glyph: '⇪', cls: 'package' },
  verified: { glyph: '✓', cls: 'access' },
  viewed: { glyph: '◉', cls: 'access' },
  downloaded: { glyph: '⇩', cls: 'access' },
  'watch-triggered': { glyph: '↻', cls: 'watch' },
  'head-signed': { glyph: '✎', cls: 'seal' },
  'identity-asserted': { glyph: '⇔', cls: 'access' },
  shared: { glyph: '⇗', cls: 'package' },
  received: { glyph: '⇘', cls: 'package' },
  'tag-added': { glyph: '#', cls: 'access' },
  'tag-removed': { glyph: '#', cls: 'access' },
  'note-added': { glyph: '✍', cls: 'access' },
  'store-tampered': { glyph: '⚠', cls: 'failure' },
};
export const actionLabel = (a: string) => a.charAt(0).toUpperCase() + a.slice(1).replace(/-/g, ' ');

/** Details worth a line each, by action; others show every key. Long values are shortened. */
export const DETAIL_SKIP = new Set(['sha512', 'storeKey', 'jobId', 'manifestKey', 'idempotencyKey']);
export function detailLines(e: CustodyEvent): string[] {
  const lines: string[] = [];
  const fmt = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v));
  if (e.action === 'request-submitted' && Array.isArray(e.details.captures)) {
    for (const c of e.details.captures.slice(0, 5)) {
      const url = c && typeof c === 'object' ? (c as Record<string, unknown>).url : undefined;
      if (url !== undefined) lines.push(`<span class="k">URL</span> ${t(truncateMiddle(fmt(url)))}`);
    }
    if (e.details.captures.length > 5) lines.push(`<span class="muted">… and ${e.details.captures.length - 5} more</span>`);
  }
  const keys = Object.keys(e.details).filter((k) => !DETAIL_SKIP.has(k) && !(e.action === 'request-submitted' && k === 'captures'));
  for (const k of keys.slice(0, 8)) {
    const v = e.details[k];
    if (v === null || v === undefined) continue;
    lines.push(`<span class="k">${escapeHtml(k)}</span> ${t(truncateMiddle(fmt(v)))}`);
  }
  if (keys.length > 8) lines.push(`<span class="muted">… ${keys.length - 8} more field(s) in the custody log</span>`);
  return lines;
}

/** Who acted, named for what they are: a command-line operator (with OS user and host), a signed-in web user, or a service and who authorised it. */
export function actorHtml(e: CustodyEvent): string {
  const a = e.actor;
  const kind =
    a.type === 'operator'
      ? `command-line operator${a.osUser ? `: OS user ${t(a.osUser)}${a.host ? ` on host ${t(a.host)}` : ''}` : ''}, ${t(a.role)}`
      : a.type === 'user'
        ? `signed-in web user, ${t(a.role)}`
        : `${escapeHtml(a.type)}, ${t(a.role)}`;
  return `${t(a.id)} <span class="muted">(${kind})</span>${a.authorisedBy ? ` <span class="auth">authorised by ${t(a.authorisedBy)}</span>` : ''}`;
}

export function timeline(input: CertificateInput): string {
  const capNo = new Map(input.captures.map((c, i) => [c.manifest.captureId, i + 1]));
  const subject = (e: CustodyEvent, withDigests = true) => {
    const parts: string[] = [];
    if (e.subject.captureId) parts.push(`${capNo.has(e.subject.captureId) ? `capture ${capNo.get(e.subject.captureId)} ` : 'capture not in this package '}${code(e.subject.captureId)}`);
    if (withDigests && e.subject.digests?.length) parts.push(`${e.subject.digests.length} digest(s)`);
    return parts.join(' · ');
  };
  // Consecutive artifact-sealed events by the same actor for the same capture collapse into one table.
  const runs: CustodyEvent[][] = [];
  for (const e of input.events) {
    const last = runs[runs.length - 1];
    const prev = last?.[last.length - 1];
    if (last && prev && e.action === 'artifact-sealed' && prev.action === 'artifact-sealed' && prev.actor.id === e.actor.id && prev.subject.captureId === e.subject.captureId) last.push(e);
    else runs.push([e]);
  }
  const items = runs.map((run) => {
    const e = run[0]!;
    const style = ACTION_STYLE[e.action] ?? { glyph: '•', cls: 'other' };
    const head = (seqs: string, label: string) => `<div class="ev-head"><span class="seq">${seqs}</span> <time>${escapeHtml(e.time)}</time> <strong>${escapeHtml(label)}</strong></div>`;
    const sub = subject(e, run.length === 1);
    if (run.length > 1) {
      const rows = run
        .map((x) => `<li><span class="num">${x.seq}</span><span dir="auto">${escapeHtml(truncateMiddle(fmtName(x), 80))}</span><code>${escapeHtml(hexOf(x.hash).slice(0, 8))}…</code></li>`)
        .join('');
      return `<li class="ev ${style.cls}"><span class="marker" aria-hidden="true">${style.glyph}</span><div class="ev-body">${head(`#${run[0]!.seq}–${run[run.length - 1]!.seq}`, `${run.length} artifacts sealed`)}<div class="ev-actor">${actorHtml(e)}</div>${sub ? `<div class="ev-subject">${sub}</div>` : ''}<div class="runs-key">${escapeHtml(e.time)} – ${escapeHtml(run[run.length - 1]!.time)} · event #, artifact, start of the event hash</div><ol class="runs">${rows}</ol></div></li>`;
    }
    const details = detailLines(e);
    return `<li class="ev ${style.cls}"><span class="marker" aria-hidden="true">${style.glyph}</span><div class="ev-body">${head(`#${e.seq}`, actionLabel(e.action))}<div class="ev-actor">${actorHtml(e)}</div>${sub ? `<div class="ev-subject">${sub}</div>` : ''}${details.length ? `<div class="ev-details">${details.map((d) => `<span class="fact">${d}</span>`).join(' ')}</div>` : ''}<div class="ev-hash">event ${code(e.hash)}</div></div></li>`;
  });
  return `<ol class="timeline">${items.join('\n')}</ol>`;
}
export const fmtName = (e: CustodyEvent) => (typeof e.details.name === 'string' ? e.details.name : (e.subject.digests?.[0] ?? ''));

/** `#3–5, #9`: sequence numbers as runs of consecutive numbers (at most `max` runs shown). */
export function seqRuns(seqs: readonly number[], max = 6): string {
  const runs: Array<[number, number]> = [];
  for (const n of [...seqs].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1];
    if (last && n === last[1] + 1) last[1] = n;
    else runs.push([n, n]);
  }
  const shown = runs.slice(0, max).map(([a, b]) => (a === b ? `#${a}` : `#${a}–${b}`));
  return `${shown.join(', ')}${runs.length > max ? ` … (${runs.length - max} more)` : ''}`;
}

/**
 * The custody log condensed for many captures: for each capture of this package, one line per kind
 * of event (how many, which event numbers, from when to when, by whom); then each other event on a
 * line of its own. Event numbers are listed as runs, so lines never claim ranges that interleave.
 */
export function condensedCustody(input: CertificateInput): string {
  const capNo = new Map(input.captures.map((c, i) => [c.manifest.captureId, i + 1]));
  const byCapture = new Map<string, Map<string, CustodyEvent[]>>();
  const others: CustodyEvent[] = [];
  for (const e of input.events) {
    const id = e.subject.captureId;
    if (id && capNo.has(id)) {
      const kinds = byCapture.get(id) ?? new Map<string, CustodyEvent[]>();
      byCapture.set(id, kinds);
      const list = kinds.get(e.action) ?? [];
      kinds.set(e.action, list);
      list.push(e);
    } else others.push(e);
  }
  const actorsOf = (evs: CustodyEvent[]) => {
    const actors = [...new Map(evs.map((e) => [`${e.actor.id}\n${e.actor.authorisedBy ?? ''}`, e])).values()];
    return `${actors.slice(0, 3).map(actorHtml).join('<br>')}${actors.length > 3 ? `<br><span class="muted">+${actors.length - 3} more</span>` : ''}`;
  };
  const when = (evs: CustodyEvent[]) => {
    const first = evs[0]!.time;
    const last = evs[evs.length - 1]!.time;
    return first === last ? time(first) : `${time(first)} –<br>${time(last)}`;
  };
  const body: string[] = [];
  input.captures.forEach((c, i) => {
    const kinds = byCapture.get(c.manifest.captureId);
    if (!kinds) return;
    const n = [...kinds.values()].reduce((s, l) => s + l.length, 0);
    body.push(`<tr class="group"><th colspan="4" scope="rowgroup">Capture ${i + 1} <span class="muted">· ${plural(n, 'event')} ·</span> ${code(c.manifest.captureId)}</th></tr>`);
    for (const [action, evs] of kinds) {
      const style = ACTION_STYLE[action as CustodyAction] ?? { glyph: '•', cls: 'other' };
      const label = `${escapeHtml(actionLabel(action))}${evs.length > 1 ? ` <span class="muted">× ${evs.length}</span>` : ''}`;
      body.push(`<tr class="${style.cls}"><td class="num">${seqRuns(evs.map((e) => e.seq))}</td><td>${when(evs)}</td><td>${label}</td><td>${actorsOf(evs)}</td></tr>`);
    }
  });
  if (others.length) {
    body.push('<tr class="group"><th colspan="4" scope="rowgroup">Other events</th></tr>');
    for (const e of others) {
      const style = ACTION_STYLE[e.action] ?? { glyph: '•', cls: 'other' };
      const id = e.subject.captureId;
      const what = `${escapeHtml(actionLabel(e.action))}${id ? ` <span class="muted">(capture not in this package ${code(id)})</span>` : ''}`;
      body.push(`<tr class="${style.cls}"><td class="num">#${e.seq}</td><td>${time(e.time)}</td><td>${what}</td><td>${actorHtml(e)}</td></tr>`);
    }
  }
  return `<table class="index ctable"><thead><tr><th>Events</th><th>Time (UTC)</th><th>What</th><th>By</th></tr></thead><tbody>${body.join('\n')}</tbody></table>`;
}
