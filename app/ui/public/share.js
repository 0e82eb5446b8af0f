// Sharing with partner agencies from the case view: build a package for a partner (captures chosen
// in the package selection, artifacts withheld), the shares of the case (from its custody log), and
// taking in a package a partner sent. Every value is put into the page as text (dom.js `h`).
import { ApiError, enc, get, me, post } from './api.js';
import { fmtBytes, fmtTime, h, mount, progressBar } from './dom.js';

/** Roles offered for withholding (artifact roles of schemas/artifact.ts); a derivative goes with its original. */
const WITHHOLD_ROLES = ['screenshot', 'dom', 'mhtml', 'warc', 'wacz', 'media'];
const TLPS = ['clear', 'green', 'amber', 'amber+strict', 'red'];

export const mayShare = () => me?.role === 'prosecutor';

function errorBox(e) {
  const msg = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e?.message ?? e);
  return h('p', { class: 'error', role: 'alert' }, msg);
}

function sharesTable(shares) {
  if (!shares.length) return h('p', { class: 'muted', id: 'shares-empty' }, 'Nothing of this case has been shared.');
  return h(
    'table',
    { id: 'shares-list' },
    h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'Shared (UTC)'), h('th', {}, 'Partner'), h('th', {}, 'By'), h('th', {}, 'TLP'), h('th', {}, 'Until'), h('th', {}, 'Legal basis'), h('th', {}, 'Captures'), h('th', {}, 'Withheld'))),
    h(
      'tbody',
      {},
      shares.map((s) =>
        h(
          'tr',
          { 'data-share': s.shareId },
          h('td', {}, String(s.seq)),
          h('td', {}, fmtTime(s.at)),
          h('td', {}, s.partner),
          h('td', {}, s.sharedBy),
          h('td', {}, `TLP:${s.tlp.toUpperCase()}`),
          h('td', {}, s.expires ?? '—'),
          h('td', {}, s.legalBasis),
          h('td', {}, String(s.captureIds.length)),
          h('td', { class: 'mono' }, s.withheld.map((w) => w.name).join(', ') || '—'),
        ),
      ),
    ),
  );
}

/** "Share with a partner": the form, the build's progress and download, and the shares of the case. */
export function shareCard(caseId, selected) {
  const out = h('div', { id: 'share-progress' });
  const listBox = h('div', { id: 'shares' });
  const partner = h('select', { id: 'share-partner', required: true });
  const basis = h('input', { id: 'share-legal-basis', required: true, placeholder: 'MLA request, treaty or agreement' });
  const tlp = h('select', { id: 'share-tlp' }, TLPS.map((t) => h('option', { value: t, selected: t === 'amber' }, `TLP:${t.toUpperCase()}`)));
  const expires = h('input', { id: 'share-expires', type: 'date' });
  const roles = WITHHOLD_ROLES.map((r) => h('input', { type: 'checkbox', class: 'withhold', value: r, 'aria-label': `withhold ${r}` }));
  const names = h('input', { id: 'share-withhold-names', placeholder: 'media/001.jpg, … (optional)' });
  const refresh = async () => {
    try {
      mount(listBox, sharesTable((await get(`/api/cases/${enc(caseId)}/shares`)).shares));
    } catch (e) {
      mount(listBox, errorBox(e));
    }
  };
  void get('/api/partners')
    .then(({ partners }) => mount(partner, partners.length ? partners.map((p) => h('option', { value: p.name }, p.name)) : [h('option', { value: '' }, 'no partner pinned (exhibit partners add)')]))
    .catch((e) => mount(out, errorBox(e)));
  const poll = async (job) => {
    // Stop when the view is left.
    while (job.state === 'building' && document.body.contains(out)) {
      mount(out, progressBar(job.percent, job.phase));
      await new Promise((r) => setTimeout(r, 1000));
      job = await get(`/api/cases/${enc(caseId)}/shares/${enc(job.packageId)}`);
    }
    if (job.state === 'ready') {
      mount(out, h('p', { class: 'ok', id: 'share-ready' }, `Package for ${job.share.partner} ready: `, h('a', { href: `/api/cases/${enc(caseId)}/shares/${enc(job.packageId)}/download`, download: job.fileName, id: 'share-download' }, job.fileName), ` (${fmtBytes(job.size)}, ${job.sha256})`));
      await refresh();
    } else if (job.state === 'failed') mount(out, h('p', { class: 'error', id: 'share-failed' }, `Share failed: ${job.failure?.code}: ${job.failure?.message}`));
  };
  const form = h(
    'form',
    { class: 'stack', id: 'share-form' },
    h('label', {}, 'Partner', partner),
    h('label', {}, 'Legal basis', basis),
    h('label', {}, 'Handling (TLP 2.0)', tlp),
    h('label', {}, 'Usable until (optional)', expires),
    h('fieldset', {}, h('legend', {}, 'Withhold'), roles.map((r) => h('label', { class: 'inline' }, r, ` ${r.value} `)), h('label', {}, 'Artifact names or bag paths', names)),
    h('button', { type: 'submit', id: 'share-submit' }, 'Share selected captures'),
    out,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const captureIds = [...selected()];
    if (!captureIds.length) return mount(out, h('p', { class: 'error' }, 'Select captures first (in the list above).'));
    const withhold = [...roles.filter((r) => r.checked).map((r) => r.value), ...names.value.split(',').map((s) => s.trim()).filter(Boolean)];
    try {
      const job = await post(`/api/cases/${enc(caseId)}/shares`, { partner: partner.value, captureIds, withhold, legalBasis: basis.value, tlp: tlp.value, expires: expires.value || null });
      await poll(job);
    } catch (e) {
      mount(out, errorBox(e));
    }
  });
  void refresh();
  return h(
    'section',
    { class: 'card', id: 'share-builder' },
    h('h2', {}, 'Share with a partner'),
    h('p', { class: 'muted' }, 'A certified package of the selected captures for a partner agency, with a signed share record (legal basis, TLP, expiry, what is withheld). Building, the share and the download are recorded on the custody log.'),
    form,
    h('h3', {}, 'Shares of this case'),
    listBox,
  );
}

/** "Import a package": a zip received from a partner, verified against that partner's pins, into this case. */
export function importCard(caseId, onDone) {
  const out = h('div', { id: 'import-result' });
  const partner = h('select', { id: 'import-partner', required: true });
  const file = h('input', { type: 'file', id: 'import-file', accept: '.zip,application/zip', required: true });
  void get('/api/partners')
    .then(({ partners }) => mount(partner, partners.map((p) => h('option', { value: p.name }, p.name))))
    .catch((e) => mount(out, errorBox(e)));
  const form = h('form', { class: 'stack', id: 'import-form' }, h('label', {}, 'From partner', partner), h('label', {}, 'Package (zip)', file), h('button', { type: 'submit', id: 'import-submit' }, 'Import'), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = file.files?.[0];
    if (!f || !partner.value) return;
    mount(out, h('p', { class: 'muted' }, `Verifying ${f.name} (${fmtBytes(f.size)}) against ${partner.value}'s pins…`));
    try {
      const r = await post(`/api/cases/${enc(caseId)}/imports?from=${enc(partner.value)}`, new Blob([f], { type: 'application/zip' }), { 'Content-Type': 'application/zip', 'X-Filename': f.name.replace(/[^\x20-\x7e]/g, '_') });
      const rec = r.record;
      mount(
        out,
        h('p', { class: 'ok', id: 'import-ok' }, r.created ? `Received from ${rec.partner.name}: ${rec.captures.length} capture(s) of ${rec.origin.organization} case ${rec.origin.caseId}, verified; custody events ${r.custodySeqs.join(', ')}.` : 'Already imported into this case; nothing new recorded.'),
        rec.share ? h('p', {}, `Share ${rec.share.shareId}: ${rec.share.legalBasis}; TLP:${rec.share.tlp.toUpperCase()}${rec.share.expires ? `; until ${rec.share.expires}` : ''}; ${rec.share.withheld} artifact(s) withheld by the sender.`) : null,
      );
      onDone?.();
    } catch (e) {
      mount(out, errorBox(e));
    }
  });
  return h('section', { class: 'card', id: 'import-package' }, h('h2', {}, 'Import a package'), h('p', { class: 'muted' }, 'A package a partner agency sent: refused, naming each failing item, unless it verifies against that partner’s pinned keys and TSA roots.'), form);
}
