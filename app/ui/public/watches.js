// Watchlists and spreadsheets in the web app. Captured text (post text, authors, the platform's
// signals) is always put into the page as text nodes through dom.js `h`, never as markup.
import { ApiError, del, enc, get, me, post } from './api.js';
import { fmtTime, h, mount } from './dom.js';

const canWatch = () => me?.role === 'analyst';

function errorBox(e) {
  const msg = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e?.message ?? e);
  return h('p', { class: 'error', role: 'alert' }, msg);
}

const every = (ms) => (ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${Math.round(ms / 60_000)}m`);
const captureLink = (caseId, id, label) => h('a', { href: `#/cases/${enc(caseId)}/captures/${enc(id)}`, class: 'capture-link', 'data-capture-id': id }, label ?? id);

function intervalText(w) {
  return w.backingOff ? `${every(w.watch.every)} → ${every(w.effectiveEvery)} (backing off after ${w.consecutiveFailures} failed runs)` : every(w.watch.every);
}

function lastResult(w) {
  if (!w.lastRunAt) return h('span', { class: 'muted' }, 'no run yet');
  return [fmtTime(w.lastRunAt), ' ', h('span', { class: `state ${w.lastOutcome === 'ok' ? 'state-sealed' : 'state-failed'}` }, w.lastOutcome), w.lastFailure ? h('div', { class: 'bad' }, `${w.lastFailure.code}: ${w.lastFailure.message}`) : null];
}

function actions(w, after) {
  if (!canWatch()) return null;
  const act = (label, fn, cls = 'secondary') =>
    h('button', { type: 'button', class: `${cls} watch-${label.toLowerCase()}`, onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        await fn();
        await after();
      } catch (e) {
        ev.target.replaceWith(errorBox(e));
      }
    } }, label);
  const id = enc(w.watch.id);
  return h(
    'span',
    { class: 'actions' },
    w.watch.state === 'active' ? act('Pause', () => post(`/api/watches/${id}/pause`)) : act('Resume', () => post(`/api/watches/${id}/resume`)),
    ' ',
    act('Run', () => post(`/api/watches/${id}/run`)),
    ' ',
    act('Remove', async () => {
      if (confirm(`Remove the watch on ${w.watch.url}? Its captures and custody events stay.`)) await del(`/api/watches/${id}`);
    }),
  );
}

function addForm(onAdded) {
  const url = h('input', { id: 'watch-url', required: true, placeholder: 'https://t.me/s/channel' });
  const kase = h('select', { id: 'watch-case' }, (me?.cases ?? []).map((c) => h('option', { value: c }, c)));
  const interval = h('input', { id: 'watch-every', value: '15m', required: true, pattern: '[1-9][0-9]{0,5}[mhd]', title: 'a whole number and m, h or d (1m to 7d)' });
  const basis = h('input', { id: 'watch-basis', placeholder: 'e.g. Warrant 17/2026' });
  const hook = h('input', { id: 'watch-webhook', placeholder: 'https://… (optional)' });
  const secret = h('input', { id: 'watch-secret', type: 'password', autocomplete: 'off', placeholder: 'at least 16 characters' });
  const now = h('input', { type: 'checkbox', id: 'watch-run-now', checked: true });
  const out = h('div', { id: 'watch-add-result' });
  const form = h(
    'form',
    { class: 'stack', id: 'watch-form' },
    h('label', {}, 'URL (channel, account, page or post)', url),
    h('label', {}, 'Case', kase),
    h('label', {}, 'Every (15m, 1h, 1d)', interval),
    h('label', {}, 'Legal basis', basis),
    h('label', {}, 'Webhook (findings are POSTed here, signed)', hook),
    h('label', {}, 'Webhook secret', secret),
    h('label', {}, h('span', {}, now, ' run once now')),
    h('button', { type: 'submit' }, 'Add watch'),
    out,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const body = { url: url.value.trim(), caseId: kase.value, every: interval.value.trim(), ...(basis.value.trim() ? { legalBasis: basis.value.trim() } : {}), ...(hook.value.trim() ? { webhook: { url: hook.value.trim(), secret: secret.value } } : {}), ...(now.checked ? { runNow: true } : {}) };
      const st = await post('/api/watches', body);
      location.hash = `#/watches/${enc(st.watch.id)}`;
      await onAdded?.();
    } catch (e) {
      mount(out, errorBox(e));
    }
  });
  return h('section', { class: 'card' }, h('h2', {}, 'Add a watch'), form);
}

export async function watchesView(rerender) {
  const { watches } = await get('/api/watches');
  const table =
    watches.length === 0
      ? h('p', { class: 'muted', id: 'no-watches' }, 'No watches in your cases.')
      : h(
          'table',
          { id: 'watch-table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Target'), h('th', {}, 'Case'), h('th', {}, 'State'), h('th', {}, 'Every'), h('th', {}, 'Runs'), h('th', {}, 'Last result'), h('th', {}, 'Next run'), h('th', {}, ''))),
          h(
            'tbody',
            {},
            watches.map((w) =>
              h(
                'tr',
                { 'data-watch-id': w.watch.id, 'data-state': w.watch.state },
                h('td', {}, h('a', { href: `#/watches/${enc(w.watch.id)}` }, h('span', { class: 'mono' }, w.watch.url))),
                h('td', {}, w.watch.caseId),
                h('td', {}, w.watch.state),
                h('td', {}, intervalText(w)),
                h('td', {}, String(w.runs)),
                h('td', {}, lastResult(w)),
                h('td', {}, fmtTime(w.nextRunAt)),
                h('td', {}, actions(w, rerender)),
              ),
            ),
          ),
        );
  return [h('h1', {}, 'Watches'), h('p', { class: 'muted' }, 'A watch re-captures a channel, account, page or post into its case on a schedule; new, edited and deleted posts are captured and sealed like any capture.'), table, canWatch() ? addForm(rerender) : null];
}

// ---- one watch: status, live timeline, changes ------------------------------------------------

function sideBox(caseId, label, side) {
  if (!side) return h('div', { class: 'side muted' }, `${label}: none`);
  const head = h('p', { class: 'side-head' }, h('strong', {}, label), ' · ', captureLink(caseId, side.captureId, side.state === 'sealed' ? 'sealed capture' : 'capture'), side.state === 'sealed' ? ` · observed ${fmtTime(side.observedAt)}` : side.state === 'pending' ? ' · sealing…' : ` · ${side.note ?? 'unreadable'}`);
  return h(
    'div',
    { class: 'side', 'data-capture-id': side.captureId, 'data-state': side.state },
    head,
    side.author ? h('p', { class: 'muted', dir: 'auto' }, side.author, side.published ? ` · ${side.published}` : '') : null,
    side.text !== null ? h('p', { class: 'post-text side-text', dir: side.direction ?? 'auto', lang: side.language ?? null }, side.text) : null,
    side.media.length ? h('ul', { class: 'media-digests' }, side.media.map((m) => h('li', { class: 'mono' }, `${m.type} ${m.digest ?? '(bytes not recorded)'}`))) : null,
  );
}

/** The word diff as one paragraph in the text's own direction: removed text struck, added text marked. */
function diffBox(change) {
  const dir = change.after?.direction ?? change.before?.direction ?? 'auto';
  return h(
    'p',
    { class: 'post-text diff', dir, lang: change.after?.language ?? null },
    change.textDiff.map((p) => (p.op === 'same' ? p.text : h(p.op === 'removed' ? 'del' : 'ins', { class: p.op }, p.text))),
  );
}

function changeBox(caseId, c) {
  const kids = [h('p', { class: 'change-head' }, h('span', { class: `kind kind-${c.kind}` }, c.kind), ' ', h('span', { class: 'mono' }, c.postKey), c.postUrl ? h('span', { class: 'mono muted' }, ` ${c.postUrl}`) : null)];
  if (c.kind === 'edited') {
    kids.push(h('div', { class: 'side-by-side' }, sideBox(caseId, 'Before', c.before), sideBox(caseId, 'After', c.after)));
    if (c.textDiff) kids.push(h('p', { class: 'muted' }, c.textDiffCoarse ? 'Text changed (too long for a word diff):' : 'Text changes:'), diffBox(c));
    else if (c.before?.state === 'sealed' && c.after?.state === 'sealed' && c.before.text === c.after.text) kids.push(h('p', { class: 'muted' }, 'Text unchanged.'));
    else kids.push(h('p', { class: 'muted' }, 'The diff appears when both captures are sealed.'));
    if (c.mediaAdded.length || c.mediaRemoved.length)
      kids.push(h('ul', { class: 'media-changes' }, c.mediaAdded.map((m) => h('li', { class: 'added mono' }, `+ ${m.type} ${m.digest ?? m.sourceUrl ?? ''}`)), c.mediaRemoved.map((m) => h('li', { class: 'removed mono' }, `− ${m.type} ${m.digest ?? m.sourceUrl ?? ''}`))));
  } else if (c.kind === 'deleted') {
    kids.push(h('div', { class: 'side-by-side' }, sideBox(caseId, 'Last sealed capture', c.before), sideBox(caseId, 'Observation', c.after)));
    const signals = c.after?.signals?.length ? ` (${c.after.signals.join('; ')})` : '';
    kids.push(
      c.gone === 'confirmed'
        ? h('p', { class: 'gone confirmed' }, `Gone: the platform showed "${c.after.visibility}"${signals} on the post's page.`)
        : c.gone === 'pending'
          ? h('p', { class: 'gone pending muted' }, 'Checking: the observation capture of the post page is sealing.')
          : h('p', { class: 'gone unconfirmed' }, `Not confirmed gone: the post left the list, but its own page did not say it is gone${c.after?.visibility ? ` (it showed: ${c.after.visibility})` : ''}.`),
    );
  } else {
    kids.push(sideBox(caseId, 'Captured', c.after));
  }
  return h('div', { class: `change change-${c.kind}`, 'data-kind': c.kind, 'data-post': c.postKey }, kids);
}

function runBox(caseId, r) {
  return h(
    'section',
    { class: 'card run', 'data-run': String(r.run), 'data-outcome': r.outcome },
    h('h3', {}, `Run ${r.run} · ${fmtTime(r.finishedAt)} · `, h('span', { class: r.outcome === 'ok' ? 'ok' : 'bad' }, r.outcome), ` · ${r.postsSeen} posts seen · ${r.findings.length} findings`),
    r.targetCaptureId ? h('p', { class: 'muted' }, 'Page capture: ', captureLink(caseId, r.targetCaptureId)) : null,
    r.failure ? h('p', { class: 'bad' }, `${r.failure.code}: ${r.failure.message}`) : null,
    r.review.map((f) => h('p', { class: 'warn' }, `Review: ${f.message}`)),
    r.changes.map((c) => changeBox(caseId, c)),
  );
}

export async function watchView(id, addCleanup, rerender) {
  const box = h('div', { id: 'watch-detail' });
  const render = async () => {
    const ev = await get(`/api/watches/${enc(id)}/events?limit=20`);
    const w = ev.status;
    const caseId = w.watch.caseId;
    mount(
      box,
      h(
        'dl',
        { class: 'facts', id: 'watch-facts' },
        h('dt', {}, 'Target'), h('dd', { class: 'mono' }, w.watch.url),
        h('dt', {}, 'Case'), h('dd', {}, h('a', { href: `#/cases/${enc(caseId)}` }, caseId)),
        h('dt', {}, 'State'), h('dd', { id: 'watch-state' }, w.watch.state),
        h('dt', {}, 'Every'), h('dd', {}, intervalText(w)),
        h('dt', {}, 'On the authority of'), h('dd', {}, w.watch.createdBy),
        h('dt', {}, 'Legal basis'), h('dd', {}, w.watch.legalBasis ?? '—'),
        h('dt', {}, 'Webhook'), h('dd', { class: 'mono' }, w.watch.webhook?.url ?? '—'),
        h('dt', {}, 'Runs'), h('dd', { id: 'watch-runs' }, String(w.runs)),
        h('dt', {}, 'Last result'), h('dd', {}, lastResult(w)),
        h('dt', {}, 'Next run'), h('dd', {}, fmtTime(w.nextRunAt)),
      ),
      h('p', {}, actions(w, render)),
      ev.failedDeliveries.length
        ? [
            h('h2', {}, 'Failed webhook deliveries'),
            h(
              'table',
              { id: 'failed-deliveries' },
              h('thead', {}, h('tr', {}, h('th', {}, 'Delivery'), h('th', {}, 'Finding'), h('th', {}, 'Attempts'), h('th', {}, 'Failed at'), h('th', {}, 'Reason'))),
              h('tbody', {}, ev.failedDeliveries.map((f) => h('tr', {}, h('td', { class: 'mono' }, f.deliveryId), h('td', {}, `${f.kind} ${f.postKey}`), h('td', {}, String(f.attempts)), h('td', {}, fmtTime(f.failedAt)), h('td', {}, f.reason)))),
            ),
          ]
        : null,
      h('h2', {}, 'Events'),
      ev.runs.length ? h('div', { id: 'watch-timeline' }, ev.runs.map((r) => runBox(caseId, r))) : h('p', { class: 'muted', id: 'watch-timeline' }, 'No runs yet.'),
    );
    box.dataset.runs = String(w.runs);
  };
  await render();
  // Live: the server says when anything changed (a run finished, a capture sealed); the view re-reads.
  const es = new EventSource(`/api/watches/${enc(id)}/stream`);
  let pending = null;
  es.addEventListener('watch', (m) => {
    const v = JSON.parse(m.data);
    if (v.removed) {
      rerender?.('#/watches');
      return;
    }
    clearTimeout(pending);
    pending = setTimeout(() => render().catch((e) => mount(box, errorBox(e))), 150);
  });
  // The server ends a stream after 30 minutes: the browser reconnects by itself (and gives up on a
  // refusal, e.g. a session that ended), so no error handler closes it.
  addCleanup(() => {
    clearTimeout(pending);
    es.close();
  });
  return [h('p', {}, h('a', { href: '#/watches' }, '← Watches')), h('h1', {}, 'Watch'), box];
}

// ---- spreadsheets -----------------------------------------------------------------------------

/** Upload a CSV (or paste cells from a spreadsheet) of URLs; every row answered. */
export function intakeCard(caseId, onDone) {
  const file = h('input', { type: 'file', id: 'sheet-file', accept: '.csv,.tsv,.txt,text/csv,text/tab-separated-values' });
  const paste = h('textarea', { id: 'sheet-paste', placeholder: 'url<TAB>legal basis<TAB>tags<TAB>note — or paste cells copied from a spreadsheet' });
  const basis = h('input', { id: 'sheet-basis', placeholder: 'for rows without their own' });
  const out = h('div', { id: 'sheet-result' });
  const form = h('form', { class: 'stack', id: 'sheet-form' }, h('label', {}, 'CSV file', file), h('label', {}, 'or paste', paste), h('label', {}, 'Legal basis', basis), h('button', { type: 'submit' }, 'Submit the sheet'), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = file.files?.[0];
    const text = f ? await f.text() : paste.value;
    if (!text.trim()) return mount(out, h('p', { class: 'error' }, 'Choose a CSV file or paste cells first.'));
    try {
      const r = await post(`/api/cases/${enc(caseId)}/intake`, { text, format: f && /\.csv$/i.test(f.name) ? 'csv' : 'auto', ...(basis.value.trim() ? { legalBasis: basis.value.trim() } : {}) });
      mount(
        out,
        h('p', { id: 'sheet-summary', class: r.rejected ? 'warn' : 'ok' }, `${r.format.toUpperCase()}: ${r.rows.length} rows — ${r.accepted} accepted, ${r.rejected} rejected. Columns: ${r.columns.join(', ')}${r.ignoredColumns.length ? ` (ignored: ${r.ignoredColumns.join(', ')})` : ''}.`),
        r.annotationsNote ? h('p', { class: 'warn', id: 'sheet-annotations' }, r.annotationsNote) : null,
        h(
          'table',
          { id: 'sheet-rows' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Line'), h('th', {}, 'URL'), h('th', {}, 'Result'), h('th', {}, 'Legal basis'), h('th', {}, 'Tags / note'))),
          h(
            'tbody',
            {},
            r.rows.map((row) =>
              h(
                'tr',
                { 'data-status': row.status, 'data-line': String(row.line), class: row.status === 'accepted' ? '' : 'bad' },
                h('td', {}, String(row.line)),
                h('td', { class: 'mono' }, row.url ?? '(none)'),
                h('td', {}, row.status === 'accepted' ? ['accepted ', captureLink(caseId, row.captureId, row.duplicate ? 'already submitted' : 'queued')] : `rejected — ${row.failure.code}: ${row.failure.message}`),
                h('td', { dir: 'auto' }, row.legalBasis ?? '—'),
                h('td', { dir: 'auto' }, [row.tags.join(', '), row.note].filter(Boolean).join(' · ') || '—', row.annotations === 'not-applied' ? h('span', { class: 'muted' }, ' (not applied)') : ''),
              ),
            ),
          ),
        ),
      );
      if (r.accepted) await onDone?.();
    } catch (e) {
      mount(out, errorBox(e));
    }
  });
  return h('section', { class: 'card', id: 'sheet-card' }, h('h2', {}, 'Submit a spreadsheet'), h('p', { class: 'muted' }, 'A CSV with a "url" column and optional "legal basis", "tags" and "note" columns (at most 1000 rows). Every row is answered.'), form);
}

export function exportLinks(caseId) {
  const base = `/api/cases/${enc(caseId)}/export`;
  return h('p', { id: 'export-links' }, 'Export the captures: ', h('a', { href: `${base}?format=csv`, id: 'export-csv', download: `${caseId}-captures.csv` }, 'CSV'), ' · ', h('a', { href: `${base}?format=xlsx`, id: 'export-xlsx', download: `${caseId}-captures.xlsx` }, 'XLSX'), ' · intelligence (TLP:AMBER): ', h('a', { href: `${base}?format=stix&tlp=amber`, id: 'export-stix', download: `${caseId}-captures.stix.json` }, 'STIX 2.1'), ' · ', h('a', { href: `${base}?format=misp&tlp=amber`, id: 'export-misp', download: `${caseId}-captures.misp.json` }, 'MISP'), h('span', { class: 'muted' }, ' (recorded on the custody log)'));
}
