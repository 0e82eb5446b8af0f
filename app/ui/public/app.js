// Exhibit web app: a hash router over a few views. Every captured value is put into the page as
// text (textContent via dom.js `h`), never as markup; images come from our own API.
import { ApiError, artifactUrl, enc, get, loadSession, login, logout, me, patch, post } from './api.js';
import { fmtBytes, fmtTime, h, mapLink, mount, progressBar, replayFrame } from './dom.js';
import { exportLinks, intakeCard, watchesView, watchView } from './watches.js';
import { annotationsPanel, searchView, tagFilter, tagList } from './search.js';
import { graphView } from './graph.js';

const view = document.getElementById('view');
const nav = document.getElementById('nav');
const whoami = document.getElementById('whoami');
let cleanup = [];

const may = {
  submit: () => me?.role === 'analyst',
  read: () => me?.role === 'analyst' || me?.role === 'prosecutor',
  custody: () => me && me.role !== 'admin',
  package: () => me?.role === 'prosecutor',
  verify: () => me?.role === 'prosecutor' || me?.role === 'auditor',
  admin: () => me?.role === 'admin',
};

function errorBox(e) {
  const msg = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e?.message ?? e);
  return h('p', { class: 'error', role: 'alert' }, msg);
}

function stateBadge(state) {
  return h('span', { class: `state state-${state}` }, state);
}

function renderChrome() {
  const links = [];
  if (me) {
    if (me.role !== 'admin') links.push(h('a', { href: '#/' }, 'Cases'));
    if (may.read()) links.push(h('a', { href: '#/watches', id: 'nav-watches' }, 'Watches'));
    if (may.read()) links.push(h('a', { href: '#/search', id: 'nav-search' }, 'Search'));
    if (may.verify()) links.push(h('a', { href: '#/verify' }, 'Verify a package'));
    if (may.admin()) links.push(h('a', { href: '#/admin' }, 'Users'), h('a', { href: '/admin/queues' }, 'Queues'));
  }
  mount(nav, links);
  mount(
    whoami,
    me
      ? [
          h('span', { id: 'user-name' }, `${me.name} (${me.role})`),
          h('button', { class: 'secondary', type: 'button', id: 'logout', onclick: async () => { await logout(); location.hash = '#/login'; } }, 'Sign out'),
        ]
      : [],
  );
}

// ---- views ------------------------------------------------------------------------------------

async function loginView() {
  const name = h('input', { name: 'name', id: 'login-name', autocomplete: 'username', required: true });
  const token = h('input', { name: 'token', id: 'login-token', type: 'password', autocomplete: 'current-password', required: true });
  const out = h('div');
  const form = h('form', { class: 'stack', id: 'login-form' }, h('label', {}, 'User name', name), h('label', {}, 'API token', token), h('button', { type: 'submit' }, 'Sign in'), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await login(name.value.trim(), token.value.trim());
      location.hash = me.role === 'admin' ? '#/admin' : '#/';
    } catch (e) {
      mount(out, errorBox(e));
    }
  });
  return [h('h1', {}, 'Sign in'), h('p', { class: 'muted' }, 'Use the API token an administrator issued to you (exhibit users token <name>).'), h('section', { class: 'card' }, form)];
}

async function casesView() {
  if (may.admin()) return [h('h1', {}, 'Administration'), h('p', {}, h('a', { href: '#/admin' }, 'Manage users'), ' · ', h('a', { href: '/admin/queues' }, 'Queue dashboard'))];
  const { cases } = await get('/api/cases');
  return [
    h('h1', {}, 'Your cases'),
    cases.length === 0
      ? h('p', { class: 'muted' }, 'You are not a member of any case yet.')
      : h(
          'table',
          { id: 'cases' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Case'), h('th', {}, 'Sealed captures'))),
          h('tbody', {}, cases.map((c) => h('tr', {}, h('td', {}, h('a', { href: `#/cases/${enc(c.caseId)}` }, c.caseId)), h('td', {}, String(c.sealedCaptures))))),
        ),
  ];
}

/** A capture a watch made: marked, with what it is to the watch (re-capture of an edit, observation of a deletion). */
function watchMark(c) {
  if (!c.watchId) return null;
  const what = c.supersedes ? 'watch: edit re-capture' : c.observationOf ? 'watch: deletion check' : 'watch';
  return h('div', {}, h('a', { href: `#/watches/${enc(c.watchId)}`, class: 'watch-mark', 'data-watch-id': c.watchId }, what));
}

function follow(caseId, ids, onUpdate, onDone) {
  const es = new EventSource(`/api/cases/${enc(caseId)}/events?ids=${ids.map(enc).join(',')}`);
  es.addEventListener('status', (ev) => onUpdate(JSON.parse(ev.data).captures));
  es.addEventListener('done', () => {
    es.close();
    onDone();
  });
  es.onerror = () => es.close();
  cleanup.push(() => es.close());
}

function submitForm(caseId, refresh) {
  const urls = h('textarea', { id: 'submit-urls', name: 'urls', placeholder: 'One URL per line', required: true });
  const basis = h('input', { id: 'submit-basis', name: 'legalBasis', placeholder: 'e.g. Warrant 17/2026' });
  const force = h('input', { type: 'checkbox', id: 'submit-force' });
  const out = h('div', { id: 'submit-progress' });
  const form = h('form', { class: 'stack', id: 'submit-form' }, h('label', {}, 'URLs (one, or a pasted list)', urls), h('label', {}, 'Legal basis', basis), h('label', {}, h('span', {}, force, ' capture again even if already captured')), h('button', { type: 'submit' }, 'Capture'), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const list = urls.value.split(/\r?\n/).map((s) => s.trim()).filter((s) => s && !s.startsWith('#'));
    if (!list.length) return;
    try {
      const res = await post(`/api/cases/${enc(caseId)}/captures`, { urls: list, ...(basis.value.trim() ? { legalBasis: basis.value.trim() } : {}), ...(force.checked ? { force: true } : {}) });
      const rows = new Map();
      const ul = h('ul', { class: 'progress-list' });
      for (const r of res.rejected) ul.append(h('li', { class: 'bad' }, h('span', { class: 'mono' }, r.url), ` — rejected: ${r.failure.code}: ${r.failure.message}`));
      for (const a of res.accepted) {
        const li = h('li', { 'data-capture-id': a.captureId }, h('span', { class: 'mono' }, a.url), ' ', h('span', { class: 'st' }, a.duplicate ? 'already submitted' : 'queued'));
        rows.set(a.captureId, li);
        ul.append(li);
      }
      mount(out, ul);
      if (res.accepted.length)
        follow(
          caseId,
          [...rows.keys()],
          (captures) => {
            for (const c of captures) {
              const li = rows.get(c.captureId);
              if (!li) continue;
              const label = c.progress && !['sealed', 'unsealed', 'failed'].includes(c.state) ? progressBar(c.progress.percent, `${c.state}: ${c.progress.stage}`) : stateBadge(c.state);
              mount(li.querySelector('.st'), label, c.failure ? ` ${c.failure.code}: ${c.failure.message}` : '');
              li.dataset.state = c.state;
            }
          },
          refresh,
        );
    } catch (e) {
      mount(out, errorBox(e));
    }
  });
  return h('section', { class: 'card' }, h('h2', {}, 'Submit URLs'), form);
}

function packageBuilder(caseId, selected) {
  const out = h('div', { id: 'package-progress' });
  const withGraph = h('input', { type: 'checkbox', id: 'package-graph' });
  const start = async (ids) => {
    try {
      const job = await post(`/api/cases/${enc(caseId)}/packages`, { ...(ids ? { captureIds: ids } : {}), ...(withGraph.checked ? { graph: true } : {}) });
      mount(out, progressBar(0, 'queued'));
      const es = new EventSource(`/api/cases/${enc(caseId)}/packages/${enc(job.packageId)}/events`);
      cleanup.push(() => es.close());
      es.addEventListener('package', (ev) => {
        const j = JSON.parse(ev.data);
        if (j.state === 'building') mount(out, progressBar(j.percent, j.phase));
        else if (j.state === 'ready')
          mount(
            out,
            h('p', { class: 'ok', id: 'package-ready' }, 'Package ready: ', h('a', { href: `/api/cases/${enc(caseId)}/packages/${enc(j.packageId)}/download`, download: j.fileName, id: 'package-download' }, j.fileName), ` (${fmtBytes(j.size)}, ${j.sha256})`),
            h('p', {}, h('a', { href: '#/verify' }, 'Verify a package'), ' — upload the downloaded zip to check it item by item.'),
          );
        else mount(out, h('p', { class: 'error' }, `Package failed: ${j.failure?.code}: ${j.failure?.message}`));
      });
      es.addEventListener('done', () => es.close());
      es.onerror = () => es.close();
    } catch (e) {
      mount(out, errorBox(e));
    }
  };
  return h(
    'section',
    { class: 'card', id: 'package-builder' },
    h('h2', {}, 'Certified package'),
    h('p', { class: 'muted' }, 'A BagIt zip with signatures, timestamps, the custody log and a certificate. Building and downloading are recorded on the custody log.'),
    h('p', {}, h('label', { class: 'inline' }, withGraph, ' Include the case graph (GraphML and a figure, built from the packaged captures; a derived analysis product, checked by verify)')),
    h('button', { type: 'button', id: 'package-case', onclick: () => start(null) }, 'Package the whole case'),
    ' ',
    h('button', { type: 'button', class: 'secondary', id: 'package-selected', onclick: () => { const ids = [...selected()]; if (ids.length) start(ids); else mount(out, h('p', { class: 'error' }, 'Select captures first.')); } }, 'Package selected captures'),
    out,
  );
}

function custodyTable(events) {
  return h(
    'table',
    { class: 'custody' },
    h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'Time (UTC)'), h('th', {}, 'Actor'), h('th', {}, 'Action'), h('th', {}, 'Details'))),
    h(
      'tbody',
      {},
      events.map((e) =>
        h(
          'tr',
          {},
          h('td', {}, String(e.seq)),
          h('td', {}, fmtTime(e.time)),
          h('td', {}, `${e.actor.id} (${e.actor.type}, ${e.actor.role})${e.actor.authorisedBy ? ` for ${e.actor.authorisedBy}` : ''}`),
          h('td', {}, e.action),
          h('td', { class: 'mono' }, [e.details?.name, e.details?.view, e.details?.artifact, e.details?.package].filter(Boolean).join(' ') || ''),
        ),
      ),
    ),
  );
}

async function caseView(caseId) {
  const parts = [h('h1', {}, `Case ${caseId}`)];
  const listBox = h('div', { id: 'captures' });
  const selected = new Set();
  let tag = null;
  const refresh = async () => {
    try {
      const { captures } = await get(`/api/cases/${enc(caseId)}/captures${tag ? `?tag=${enc(tag)}` : ''}`);
      mount(
        listBox,
        captures.length === 0
          ? h('p', { class: 'muted' }, tag ? 'No capture has this tag.' : 'No captures yet.')
          : h(
              'table',
              { id: 'capture-table' },
              h('thead', {}, h('tr', {}, may.package() ? h('th', {}, '') : null, h('th', {}, 'Screenshot'), h('th', {}, 'Capture'), h('th', {}, 'Platform'), h('th', {}, 'Author'), h('th', {}, 'Time (UTC)'), h('th', {}, 'Status'), h('th', {}, 'Tags'))),
              h(
                'tbody',
                {},
                captures.map((c) =>
                  h(
                    'tr',
                    { 'data-capture-id': c.captureId },
                    may.package()
                      ? h('td', {}, h('input', { type: 'checkbox', class: 'pick', 'aria-label': 'select for package', disabled: !c.sealedAt, onchange: (ev) => (ev.target.checked ? selected.add(c.captureId) : selected.delete(c.captureId)) }))
                      : null,
                    h('td', {}, c.thumbnail ? h('img', { class: 'thumb', alt: 'screenshot thumbnail', loading: 'lazy', src: artifactUrl(caseId, c.captureId, c.thumbnail) }) : h('span', { class: 'muted' }, '—')),
                    h('td', {}, c.sealedAt ? h('a', { href: `#/cases/${enc(caseId)}/captures/${enc(c.captureId)}`, class: 'capture-link' }, c.title || c.url || c.captureId) : h('span', {}, c.url ?? c.captureId), h('div', { class: 'mono muted' }, c.url ?? '')),
                    h('td', {}, c.platform ?? '—'),
                    h('td', { dir: 'auto' }, c.author ?? '—'),
                    h('td', {}, fmtTime(c.sealedAt ?? c.submittedAt)),
                    h('td', {}, stateBadge(c.state), watchMark(c), c.pageStatus === 'failed' ? h('div', { class: 'bad' }, `page failed${c.failure ? `: ${c.failure.code}` : ''}`) : null),
                    h('td', { class: 'capture-tags' }, tagList(c.tags)),
                  ),
                ),
              ),
            ),
      );
    } catch (e) {
      mount(listBox, errorBox(e));
    }
  };
  if (may.submit()) parts.push(submitForm(caseId, refresh), intakeCard(caseId, refresh));
  if (may.read()) {
    parts.push(h('p', {}, h('a', { href: `#/cases/${enc(caseId)}/graph`, id: 'graph-link' }, 'Case graph'), h('span', { class: 'muted' }, ' — who posts, mentions, replies to, forwards and shares media with whom, each link traced to its captures')));
    parts.push(h('h2', {}, 'Captures'), tagFilter(tag, (t) => { tag = t; listBox.dataset.tag = t ?? ''; void refresh().then(() => { listBox.dataset.filtered = t ?? ''; }); }), exportLinks(caseId), listBox);
    await refresh();
  }
  if (may.package()) parts.push(packageBuilder(caseId, () => selected));
  if (me.role === 'auditor') {
    const { events } = await get(`/api/cases/${enc(caseId)}/custody`);
    parts.push(h('h2', {}, 'Custody log'), custodyTable(events));
  }
  return parts;
}

const IMAGE = /^image\/(png|jpeg|webp|gif|avif)\b/;

async function captureView(caseId, captureId) {
  const base = `/api/cases/${enc(caseId)}/captures/${enc(captureId)}`;
  const d = await get(base);
  const m = d.manifest;
  const [text, meta, custody, postDoc] = await Promise.all([get(`${base}/text`), get(`${base}/metadata`), get(`${base}/custody`), d.hasPost ? get(`${base}/post`).catch(() => null) : Promise.resolve(null)]);
  const shot = m.artifacts.find((a) => a.role === 'screenshot' && !a.derivedFrom);
  const p = postDoc?.post;
  const out = [
    h(
      'dl',
      { class: 'facts', id: 'capture-facts' },
      h('dt', {}, 'Status'), h('dd', {}, stateBadge(d.state), ' page ', m.status, m.failure ? ` — ${m.failure.code}: ${m.failure.message}` : ''),
      h('dt', {}, 'Requested URL'), h('dd', { class: 'mono' }, m.request.url),
      h('dt', {}, 'Final URL'), h('dd', { class: 'mono' }, m.page.finalUrl ?? '—'),
      h('dt', {}, 'Operator'), h('dd', {}, m.request.requestedBy),
      h('dt', {}, 'Legal basis'), h('dd', {}, m.request.legalBasis ?? '—'),
      h('dt', {}, 'Captured'), h('dd', {}, `${fmtTime(m.environment.startedAt)} → ${fmtTime(m.environment.finishedAt)}`),
      h('dt', {}, 'Sealed'), h('dd', {}, fmtTime(m.sealedAt)),
      h('dt', {}, 'Server'), h('dd', {}, m.page.remoteIp ?? '—'),
      h('dt', {}, 'Browser'), h('dd', {}, `${m.environment.browserVersion}, ${m.environment.viewport.width}×${m.environment.viewport.height}, ${m.environment.locale}`),
      h('dt', {}, 'Collector'), h('dd', {}, `${m.environment.collector.id} ${m.environment.collector.version}`),
      h('dt', {}, 'Manifest'), h('dd', { class: 'mono' }, d.manifestDigest),
      h('dt', {}, 'Signature'), h('dd', { class: 'mono' }, d.signature ? `Ed25519 ${d.signature.keyFingerprint}` : 'none'),
      h('dt', {}, 'Timestamps'), h('dd', {}, d.timestamps.length ? d.timestamps.map((t) => `${fmtTime(t.genTime)} by ${t.tsaName ?? t.tsaUrl}`).join('; ') : 'none — UNSEALED'),
    ),
  ];
  out.push(await annotationsPanel(caseId, captureId));
  if (shot) out.push(h('h2', {}, 'Screenshot'), h('div', { class: 'shot' }, h('img', { id: 'screenshot', alt: 'full-page screenshot as captured', src: artifactUrl(caseId, captureId, shot.name) })));
  if (p) {
    out.push(
      h('h2', {}, `Post (${postDoc.platform})`),
      h('p', { id: 'post-author', dir: 'auto' }, p.author ? `${p.author.displayName ?? ''} ${p.author.handle ? '@' + p.author.handle.replace(/^@/, '') : ''}`.trim() : 'author unknown', p.published ? ` · ${p.published.raw}` : ''),
      p.text ? h('p', { class: 'post-text', id: 'post-text', dir: p.text.direction ?? 'auto', lang: p.text.language ?? null }, p.text.content) : h('p', { class: 'muted' }, 'no text'),
    );
  } else if (postDoc) out.push(h('h2', {}, 'Post'), h('p', { class: 'muted' }, `The platform did not show the post: ${postDoc.visibility.state}${postDoc.visibility.reason ? ` — ${postDoc.visibility.reason}` : ''}`));
  if (text.blocks.length) {
    out.push(
      h('h2', {}, 'Page text'),
      h('div', { id: 'page-text' }, text.blocks.map((b) => h('p', { class: 'post-text', dir: b.dir ?? 'auto', lang: b.lang ?? null }, b.text))),
      text.truncated ? h('p', { class: 'muted' }, 'Truncated.') : null,
    );
  }
  const media = m.artifacts.filter((a) => a.role === 'media');
  if (media.length) {
    out.push(
      h('h2', {}, 'Media'),
      h(
        'div',
        { class: 'media', id: 'media' },
        media.map((a) =>
          h(
            'figure',
            {},
            IMAGE.test(a.mediaType) ? h('img', { alt: a.name, src: artifactUrl(caseId, captureId, a.name) }) : h('a', { href: artifactUrl(caseId, captureId, a.name, true) }, `download ${a.name}`),
            h('figcaption', {}, `${a.name} · ${a.mediaType} · ${fmtBytes(a.size)}`, a.sourceUrl ? h('div', { class: 'mono' }, a.sourceUrl) : null),
          ),
        ),
      ),
    );
  }
  if (meta.items.length) {
    out.push(
      h('h2', {}, 'Extracted metadata'),
      h(
        'div',
        { id: 'metadata' },
        meta.items.map((i) =>
          h('section', { class: 'card' }, h('p', {}, h('strong', {}, i.source), ` — ${i.method} (${i.tool})`, i.gps ? [' · GPS ', mapLink(i.gps.latitude, i.gps.longitude)] : null), h('pre', {}, JSON.stringify(i.data, null, 2))),
        ),
      ),
    );
  }
  out.push(
    h('h2', {}, 'Artifacts and digests'),
    h(
      'table',
      { id: 'artifacts' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Artifact'), h('th', {}, 'Role'), h('th', {}, 'Type'), h('th', {}, 'Size'), h('th', {}, 'SHA-256'))),
      h(
        'tbody',
        {},
        m.artifacts.map((a) =>
          h(
            'tr',
            {},
            h('td', {}, h('a', { href: artifactUrl(caseId, captureId, a.name, true), download: a.name.split('/').pop() }, a.name), a.derivedFrom ? h('div', { class: 'muted' }, `derived from ${a.derivedFrom.source} (${a.derivedFrom.method})`) : null),
            h('td', {}, a.role),
            h('td', {}, a.mediaType),
            h('td', {}, fmtBytes(a.size)),
            h('td', { class: 'digest' }, a.sha256),
          ),
        ),
      ),
    ),
    h('h2', {}, 'Custody timeline'),
    custodyTable(custody.events),
  );
  const details = h('div', { id: 'details-panel', role: 'tabpanel' }, out);
  const replay = h('div', { id: 'replay-panel', role: 'tabpanel', hidden: true });
  const tabs = captureTabs(details, replay, hasArchive(m), () => openReplay(base, replay));
  return [h('p', {}, h('a', { href: `#/cases/${enc(caseId)}` }, `← Case ${caseId}`)), h('h1', { dir: 'auto', id: 'capture-title' }, m.page.title || m.request.url), tabs, details, replay];
}

const hasArchive = (m) => m.artifacts.some((a) => a.role === 'wacz' || a.role === 'warc');

/** Details | Replay. Replay is opened only when asked for: each opening is a read on the custody log. */
function captureTabs(details, replay, replayable, onReplay) {
  const tab = (id, label, panel) => h('button', { type: 'button', role: 'tab', id, class: 'tab', 'aria-controls': panel.id }, label);
  const dTab = tab('tab-details', 'Details', details);
  const rTab = tab('tab-replay', 'Replay', replay);
  if (!replayable) {
    rTab.disabled = true;
    rTab.title = 'This capture recorded no web archive.';
  }
  const select = (which) => {
    for (const [t, p] of [[dTab, details], [rTab, replay]]) {
      t.setAttribute('aria-selected', String(t === which));
      p.hidden = t !== which;
    }
  };
  dTab.addEventListener('click', () => select(dTab));
  rTab.addEventListener('click', () => {
    select(rTab);
    onReplay();
  });
  select(dTab);
  return h('div', { role: 'tablist', class: 'tabs' }, dTab, rTab);
}

async function openReplay(base, panel) {
  mount(panel, h('p', { class: 'muted' }, 'Opening the replay…'));
  try {
    const t = await post(`${base}/replay`);
    mount(
      panel,
      h(
        'p',
        { class: 'muted', id: 'replay-info' },
        `The page as recorded in ${t.archive.name} (${t.archive.role.toUpperCase()}, ${fmtBytes(t.archive.size)}, ${t.archive.sha256}), replayed by ReplayWeb.page on the separate replay origin ${t.replayOrigin}. `,
        `This view is custody event ${t.custodySeq}; its link expires at ${fmtTime(t.expiresAt)}.`,
      ),
      h('div', { class: 'replay' }, replayFrame(t.viewerUrl, t.replayOrigin)),
    );
  } catch (e) {
    mount(panel, errorBox(e));
  }
}

async function verifyView() {
  const file = h('input', { type: 'file', id: 'verify-file', accept: '.zip,application/zip', required: true });
  const out = h('div', { id: 'verify-result' });
  const form = h('form', { class: 'stack', id: 'verify-form' }, h('label', {}, 'Package (zip)', file), h('button', { type: 'submit' }, 'Verify'), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = file.files?.[0];
    if (!f) return;
    mount(out, h('p', { class: 'muted' }, `Verifying ${f.name} (${fmtBytes(f.size)})…`));
    try {
      const { report, uploadSha256, custodySeq } = await post('/api/verify', new Blob([f], { type: 'application/zip' }), { 'Content-Type': 'application/zip', 'X-Filename': f.name.replace(/[^\x20-\x7e]/g, '_') });
      mount(
        out,
        h(
          'p',
          { class: `banner ${report.ok ? 'ok' : 'bad'}`, id: 'verify-verdict' },
          report.verdict === 'verified'
            ? `VERIFIED: all ${report.checks.length} checks passed; signer and TSA pinned`
            : report.verdict === 'unauthenticated'
              ? `UNAUTHENTICATED: all ${report.checks.length} checks passed, but the signer or TSA is not pinned on this server`
              : `NOT VERIFIED: ${report.failures.length} of ${report.checks.length} checks failed`,
        ),
        h('p', {}, `Case ${report.caseId ?? '?'} · ${report.captureIds.length} capture(s) · ${report.custodyEvents} custody events · upload ${uploadSha256}`, custodySeq ? ` · recorded as custody event ${custodySeq}` : ''),
        h('pre', { class: 'muted', id: 'verify-trust' }, report.trust.summary),
        h(
          'table',
          { id: 'verify-checks' },
          h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'Item'), h('th', {}, 'Check'), h('th', {}, 'Result'))),
          h('tbody', {}, report.checks.map((c) => h('tr', { class: c.ok ? 'ok' : 'bad' }, h('td', {}, c.ok ? '✓' : '✗'), h('td', { class: 'mono' }, c.item), h('td', {}, c.check), h('td', {}, c.message)))),
        ),
      );
    } catch (e) {
      mount(out, errorBox(e));
    }
  });
  return [h('h1', {}, 'Verify a package'), h('p', { class: 'muted' }, 'Checks bag completeness, every digest, each signature, each RFC 3161 timestamp and the custody chain, offline.'), h('section', { class: 'card' }, form)];
}

async function adminView() {
  const { users } = await get('/api/users');
  const out = h('div', { id: 'admin-out' });
  const name = h('input', { id: 'new-user-name', required: true });
  const role = h('select', { id: 'new-user-role' }, ['analyst', 'prosecutor', 'auditor', 'admin'].map((r) => h('option', { value: r }, r)));
  const cases = h('input', { id: 'new-user-cases', placeholder: 'C-2026-001, C-2026-002' });
  const form = h('form', { class: 'stack', id: 'new-user' }, h('label', {}, 'Name', name), h('label', {}, 'Role', role), h('label', {}, 'Cases (comma-separated)', cases), h('button', { type: 'submit' }, 'Create user'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await post('/api/users', { name: name.value.trim(), role: role.value, cases: cases.value.split(',').map((s) => s.trim()).filter(Boolean) });
      await route();
    } catch (e) {
      mount(out, errorBox(e));
    }
  });
  const issue = async (n) => {
    try {
      const t = await post(`/api/users/${enc(n)}/tokens`);
      mount(out, h('p', {}, `Token for ${t.name} (shown once): `, h('code', { class: 'mono', id: 'issued-token' }, t.token)));
    } catch (e) {
      mount(out, errorBox(e));
    }
  };
  const toggle = async (u) => {
    try {
      await patch(`/api/users/${enc(u.name)}`, { disabled: !u.disabled });
      await route();
    } catch (e) {
      mount(out, errorBox(e));
    }
  };
  return [
    h('h1', {}, 'Users'),
    out,
    h(
      'table',
      { id: 'users' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Role'), h('th', {}, 'Cases'), h('th', {}, 'Tokens'), h('th', {}, ''))),
      h(
        'tbody',
        {},
        users.map((u) =>
          h('tr', {}, h('td', {}, u.name, u.disabled ? ' (disabled)' : ''), h('td', {}, u.role), h('td', {}, u.cases.join(', ') || '—'), h('td', {}, String(u.tokens)), h('td', {}, h('button', { type: 'button', class: 'secondary', onclick: () => issue(u.name) }, 'Issue token'), ' ', h('button', { type: 'button', class: 'secondary', onclick: () => toggle(u) }, u.disabled ? 'Enable' : 'Disable'))),
        ),
      ),
    ),
    h('section', { class: 'card' }, h('h2', {}, 'New user'), form),
  ];
}

// ---- router -----------------------------------------------------------------------------------

async function route() {
  for (const f of cleanup) f();
  cleanup = [];
  const path = location.hash.replace(/^#/, '') || '/';
  const [pathOnly, queryString] = path.split('?');
  if (!me && path !== '/login') await loadSession();
  renderChrome();
  if (!me && path !== '/login') {
    location.hash = '#/login';
    return;
  }
  let m;
  try {
    let content;
    if (path === '/login') content = await loginView();
    else if (path === '/verify') content = await verifyView();
    else if (path === '/admin') content = await adminView();
    else if (path === '/watches') content = await watchesView(() => route());
    else if ((m = /^\/watches\/([^/]+)$/.exec(path))) content = await watchView(decodeURIComponent(m[1]), (f) => cleanup.push(f), (hash) => (location.hash = hash));
    else if (pathOnly === '/search') content = await searchView(new URLSearchParams(queryString ?? ''));
    else if ((m = /^\/cases\/([^/]+)\/graph$/.exec(path))) content = await graphView(decodeURIComponent(m[1]), cleanup);
    else if ((m = /^\/cases\/([^/]+)\/captures\/([^/]+)$/.exec(path))) content = await captureView(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
    else if ((m = /^\/cases\/([^/]+)$/.exec(path))) content = await caseView(decodeURIComponent(m[1]));
    else content = await casesView();
    mount(view, content);
    document.body.dataset.view = path.split('/')[1] || 'home';
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      location.hash = '#/login';
      return;
    }
    mount(view, errorBox(e));
  }
  view.dataset.ready = path;
}

window.addEventListener('hashchange', () => void route());
void route();
