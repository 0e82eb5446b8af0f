// Exhibit web app: a hash router over a few views. Every captured value is put into the page as
// text (textContent via dom.js `h`), never as markup; images come from our own API.
import { ApiError, artifactUrl, enc, get, loadSession, login, logout, me, patch, post } from './api.js';
import { fmtBytes, fmtTime, h, mapLink, mount, progressBar, replayFrame } from './dom.js';
import { exportLinks, intakeCard, watchesView, watchView } from './watches.js';
import { annotationsPanel, searchView, tagFilter, tagList } from './search.js';
import { graphView } from './graph.js';
import { importCard, mayShare, shareCard } from './share.js';

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

/** What a capture shows, in words: the platform's visibility when it has a post.json, else the page outcome. */
function shownWords(c) {
  if (c.content) return c.content.visibilityWords;
  if (c.pageStatus === 'failed') return `page not captured${c.failure ? ` (${c.failure.message})` : ''}`;
  return c.pageStatus === 'captured' ? 'page captured' : '';
}

/** Author of a capture: display name and @handle, each in its own direction. */
function authorCell(c) {
  const name = c.content?.authorName ?? c.author;
  const handle = c.content?.authorHandle;
  if (!name && !handle) return h('span', { class: 'muted' }, '—');
  return h('span', { class: 'author' }, name ? h('bdi', { class: 'author-name' }, name) : null, name && handle ? ' ' : null, handle ? h('bdi', { class: 'author-handle', dir: 'ltr' }, `@${handle.replace(/^@/, '')}`) : null);
}

const SORTS = {
  captured: { label: 'Captured, newest first', key: (c) => c.sealedAt ?? c.submittedAt ?? '', desc: true },
  published: { label: 'Published, newest first', key: (c) => c.content?.published ?? '', desc: true },
  author: { label: 'Author', key: (c) => (c.content?.authorName ?? c.author ?? c.content?.authorHandle ?? '\uffff').toLocaleLowerCase() },
  platform: { label: 'Platform', key: (c) => c.platform ?? '\uffff' },
  status: { label: 'Status', key: (c) => `${c.state} ${shownWords(c)}` },
};

/** The case list, content first: filters (platform, author, status, time) and a sort order, applied in the page. */
function captureList(caseId, selected) {
  const f = { platform: '', author: '', status: '', from: '', to: '', sort: 'captured' };
  let captures = [];
  const box = h('div', { id: 'capture-list-body' });
  const opt = (v, label) => h('option', { value: v }, label);
  const platformSel = h('select', { id: 'filter-platform', onchange: (e) => ((f.platform = e.target.value), render()) });
  const statusSel = h('select', { id: 'filter-status', onchange: (e) => ((f.status = e.target.value), render()) });
  const controls = h(
    'div',
    { class: 'filters', id: 'capture-filters' },
    h('label', {}, 'Platform', platformSel),
    h('label', {}, 'Author', h('input', { id: 'filter-author', type: 'search', placeholder: 'name or @handle', oninput: (e) => ((f.author = e.target.value.trim().toLocaleLowerCase()), render()) })),
    h('label', {}, 'Status', statusSel),
    h('label', {}, 'Captured from', h('input', { id: 'filter-from', type: 'date', onchange: (e) => ((f.from = e.target.value), render()) })),
    h('label', {}, 'to', h('input', { id: 'filter-to', type: 'date', onchange: (e) => ((f.to = e.target.value), render()) })),
    h('label', {}, 'Sort', h('select', { id: 'sort', onchange: (e) => ((f.sort = e.target.value), render()) }, Object.entries(SORTS).map(([k, v]) => opt(k, v.label)))),
  );
  const fillSelect = (sel, values, all) => {
    const keep = sel.value;
    mount(sel, opt('', all), values.map((v) => opt(v, v)));
    sel.value = values.includes(keep) ? keep : '';
  };
  const statusOf = (c) => [c.state, shownWords(c)].filter(Boolean);
  const matches = (c) => {
    if (f.platform && c.platform !== f.platform) return false;
    if (f.status && !statusOf(c).includes(f.status)) return false;
    if (f.author) {
      const who = [c.content?.authorName, c.content?.authorHandle, c.author].filter(Boolean).join(' ').toLocaleLowerCase();
      if (!who.includes(f.author.replace(/^@/, ''))) return false;
    }
    const t = (c.sealedAt ?? c.submittedAt ?? '').slice(0, 10);
    if (f.from && (!t || t < f.from)) return false;
    if (f.to && (!t || t > f.to)) return false;
    return true;
  };
  const row = (c) =>
    h(
      'tr',
      { 'data-capture-id': c.captureId, class: c.content && c.content.visibility !== 'visible' ? 'not-shown' : null },
      may.package()
        ? h('td', {}, h('input', { type: 'checkbox', class: 'pick', 'aria-label': 'select for package', disabled: !c.sealedAt, checked: selected.has(c.captureId), onchange: (ev) => (ev.target.checked ? selected.add(c.captureId) : selected.delete(c.captureId)) }))
        : null,
      h('td', {}, c.thumbnail ? h('img', { class: 'thumb', alt: 'screenshot thumbnail', loading: 'lazy', src: artifactUrl(caseId, c.captureId, c.thumbnail) }) : h('span', { class: 'muted' }, '—')),
      h(
        'td',
        { class: 'content-cell' },
        h('div', { class: 'who' }, authorCell(c), c.content?.listed ? h('span', { class: 'muted' }, ` · list page, ${c.content.listed} posts`) : null),
        c.content?.text
          ? h('p', { class: 'excerpt', dir: c.content.direction ?? 'auto', lang: c.content.language ?? null }, c.content.text)
          : h('p', { class: 'excerpt muted', dir: 'auto' }, c.content ? (c.content.visibility === 'visible' ? '(no text)' : '(the platform showed no post)') : c.title || ''),
        c.sealedAt ? h('a', { href: `#/cases/${enc(caseId)}/captures/${enc(c.captureId)}`, class: 'capture-link' }, 'Open capture') : null,
        h('div', { class: 'mono muted' }, c.url ?? c.captureId),
      ),
      h('td', {}, c.platform ?? '—'),
      h('td', { class: 'time' }, c.content?.published ? fmtTime(c.content.published) : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'time' }, fmtTime(c.sealedAt ?? c.submittedAt)),
      h('td', {}, stateBadge(c.state), watchMark(c), shownWords(c) ? h('div', { class: `shown ${c.content ? (c.content.visibility === 'visible' ? 'ok' : 'warn') : c.pageStatus === 'failed' ? 'warn' : ''}` }, shownWords(c)) : null),
      h('td', { class: 'capture-tags' }, tagList(c.tags)),
    );
  function render() {
    const s = SORTS[f.sort] ?? SORTS.captured;
    const shown = captures.filter(matches).sort((a, b) => {
      const x = s.key(a);
      const y = s.key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (s.desc ? -1 : 1) || a.captureId.localeCompare(b.captureId);
    });
    mount(
      box,
      h('p', { class: 'muted', id: 'capture-count' }, shown.length === captures.length ? `${captures.length} capture(s)` : `${shown.length} of ${captures.length} capture(s) shown`),
      h(
        'table',
        { id: 'capture-table' },
        h('thead', {}, h('tr', {}, may.package() ? h('th', {}, '') : null, h('th', {}, 'Screenshot'), h('th', {}, 'Who said what'), h('th', {}, 'Platform'), h('th', {}, 'Published (UTC)'), h('th', {}, 'Captured (UTC)'), h('th', {}, 'Status'), h('th', {}, 'Tags'))),
        h('tbody', {}, shown.map(row)),
      ),
    );
  }
  return {
    el: h('div', { id: 'captures' }, controls, box),
    set(list, emptyText = 'No captures yet.') {
      captures = list;
      fillSelect(platformSel, [...new Set(list.map((c) => c.platform).filter(Boolean))].sort(), 'all platforms');
      fillSelect(statusSel, [...new Set(list.flatMap(statusOf))].sort(), 'any status');
      if (list.length === 0) mount(box, h('p', { class: 'muted' }, emptyText));
      else render();
    },
    fail(e) {
      mount(box, errorBox(e));
    },
  };
}

async function caseView(caseId) {
  const parts = [h('h1', {}, `Case ${caseId}`)];
  const selected = new Set();
  const list = captureList(caseId, selected);
  const listBox = list.el;
  let tag = null;
  const refresh = async () => {
    try {
      const { captures } = await get(`/api/cases/${enc(caseId)}/captures${tag ? `?tag=${enc(tag)}` : ''}`);
      list.set(captures, tag ? 'No capture has this tag.' : 'No captures yet.');
    } catch (e) {
      list.fail(e);
    }
  };
  if (may.submit()) parts.push(submitForm(caseId, refresh), intakeCard(caseId, refresh));
  if (may.read()) {
    parts.push(h('p', {}, h('a', { href: `#/cases/${enc(caseId)}/graph`, id: 'graph-link' }, 'Case graph'), h('span', { class: 'muted' }, ' — who posts, mentions, replies to, forwards and shares media with whom, each link traced to its captures')));
    parts.push(h('h2', {}, 'Captures'), tagFilter(tag, (t) => { tag = t; listBox.dataset.tag = t ?? ''; void refresh().then(() => { listBox.dataset.filtered = t ?? ''; }); }), exportLinks(caseId), listBox);
    await refresh();
  }
  if (may.package()) parts.push(packageBuilder(caseId, () => selected));
  if (mayShare()) parts.push(shareCard(caseId, () => selected), importCard(caseId, refresh));
  if (me.role === 'auditor') {
    const { events } = await get(`/api/cases/${enc(caseId)}/custody`);
    parts.push(h('h2', {}, 'Custody log'), custodyTable(events));
  }
  return parts;
}

const IMAGE = /^image\/(png|jpeg|webp|gif|avif)\b/;

/** Who asked: a command-line operator (name given, OS user, host) or a signed-in web user. */
function requesterWords(r) {
  if (r.operator) return `${r.operator.name} — command-line operator (OS user ${r.operator.osUser} on ${r.operator.host})`;
  if (r.user) return `${r.user.name} — signed-in web user (${r.user.role})`;
  return r.requestedBy;
}

const VISIBILITY_WORDS = {
  'login-wall': 'the platform showed a login wall',
  deleted: 'deleted by the platform',
  unavailable: 'the platform said it is not available, giving no reason',
  'age-gated': 'the platform showed an age gate',
  'region-gated': 'the platform did not show it in this region',
  'rate-limited': 'the platform refused to answer (rate limited)',
  'not-recognised': 'not recognised — review',
};

/** One post as the platform served it: author, published time, text in its own direction (language only when the platform states it), and its media. */
function postCard(caseId, captureId, m, p, id) {
  const names = new Set(m.artifacts.map((a) => a.name));
  const art = (name) => (name && names.has(name) ? m.artifacts.find((a) => a.name === name) : null);
  const media = p.media.map((x) => ({ x, a: art(x.artifact) })).filter((e) => e.a || e.x.sourceUrl);
  const author = p.author ? [p.author.displayName ? h('bdi', { class: 'author-name' }, p.author.displayName) : null, p.author.handle ? [' ', h('bdi', { class: 'author-handle', dir: 'ltr' }, `@${p.author.handle.replace(/^@/, '')}`)] : null] : h('span', { class: 'muted' }, 'author not stated');
  return h(
    'article',
    { class: 'post-card', 'data-post-id': p.id, ...(id ? { id } : {}) },
    h('p', { class: 'post-head' }, h('span', { class: 'post-author' }, author), p.published ? h('span', { class: 'muted' }, ` · ${p.published.utc ? fmtTime(p.published.utc) : p.published.raw}`) : null),
    p.text ? h('p', { class: 'post-text', id: id ? 'post-text' : null, dir: p.text.direction ?? 'auto', lang: p.text.language ?? null }, p.text.content) : h('p', { class: 'muted' }, 'no text'),
    media.length
      ? h(
          'div',
          { class: 'media post-media' },
          media.map(({ x, a }) =>
            h(
              'figure',
              {},
              a && IMAGE.test(a.mediaType) ? h('img', { alt: x.alt ?? a.name, src: artifactUrl(caseId, captureId, a.name) }) : a ? h('a', { href: artifactUrl(caseId, captureId, a.name, true) }, `download ${a.name}`) : h('span', { class: 'muted' }, `${x.type} not recorded`),
              h('figcaption', {}, a ? `${a.name} · ${fmtBytes(a.size)}` : x.type),
            ),
          ),
        )
      : null,
  );
}

/** The post, or every post of a list capture (channel page, profile, timeline), or what the platform showed instead. */
function postSection(caseId, captureId, m, doc) {
  const v = doc.visibility;
  const out = [];
  const shown = v.state === 'visible' ? null : h('p', { class: 'shown warn', id: 'post-visibility' }, VISIBILITY_WORDS[v.state] ?? v.state, v.reason ? ` — ${v.reason}` : '');
  if (doc.post) {
    out.push(h('h2', {}, `Post (${doc.platform})`), shown, postCard(caseId, captureId, m, doc.post, 'post'));
    if (doc.replies.length) out.push(h('h3', {}, `Replies shown (${doc.replies.length})`), h('div', { id: 'replies' }, doc.replies.map((r) => postCard(caseId, captureId, m, r))));
  } else if (doc.replies.length) {
    const who = doc.profile ? [doc.profile.displayName ?? '', doc.profile.handle ? ` @${doc.profile.handle}` : ''].join('') : doc.pageUrl;
    out.push(h('h2', {}, h('span', {}, `${doc.replies.length} posts on this ${doc.profile?.kind ?? 'page'} (${doc.platform}): `), h('bdi', {}, who)), shown, h('div', { id: 'listed-posts' }, doc.replies.map((r) => postCard(caseId, captureId, m, r))));
  } else out.push(h('h2', {}, `Post (${doc.platform})`), shown ?? h('p', { class: 'muted' }, 'The platform showed the page, but no post was read from it.'));
  if (doc.review.length) out.push(h('p', { class: 'warn' }, `Review: ${doc.review.map((r) => r.message).join('; ')}`));
  return out;
}

/** The capture's heading: who posted it on which platform when there is a post, else the page title. */
function captureTitle(m, doc) {
  const who = (a) => (a ? [a.displayName, a.handle ? `@${a.handle.replace(/^@/, '')}` : null].filter(Boolean).join(' ') : '');
  if (doc?.post?.author && who(doc.post.author)) return `Post by ${who(doc.post.author)} on ${doc.platform}`;
  if (doc && !doc.post && doc.replies.length) return `${who(doc.profile) || doc.pageUrl} — ${doc.platform} ${doc.profile?.kind ?? 'page'}, ${doc.replies.length} posts`;
  return m.page.title || m.request.url;
}

async function captureView(caseId, captureId) {
  const base = `/api/cases/${enc(caseId)}/captures/${enc(captureId)}`;
  const d = await get(base);
  const m = d.manifest;
  const [text, meta, custody, postDoc] = await Promise.all([get(`${base}/text`), get(`${base}/metadata`), get(`${base}/custody`), d.hasPost ? get(`${base}/post`).catch(() => null) : Promise.resolve(null)]);
  const shot = m.artifacts.find((a) => a.role === 'screenshot' && !a.derivedFrom);
  const out = [
    h(
      'dl',
      { class: 'facts', id: 'capture-facts' },
      h('dt', {}, 'Status'), h('dd', {}, stateBadge(d.state), ' page ', m.status, m.failure ? ` — ${m.failure.code}: ${m.failure.message}` : ''),
      h('dt', {}, 'Requested URL'), h('dd', { class: 'mono' }, m.request.url),
      h('dt', {}, 'Final URL'), h('dd', { class: 'mono' }, m.page.finalUrl ?? '—'),
      h('dt', {}, 'Requested by'), h('dd', { id: 'requested-by' }, requesterWords(m.request)),
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
  if (postDoc) out.push(...postSection(caseId, captureId, m, postDoc));
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
  return [h('p', {}, h('a', { href: `#/cases/${enc(caseId)}` }, `← Case ${caseId}`)), h('h1', { dir: 'auto', id: 'capture-title' }, captureTitle(m, postDoc)), postDoc && m.page.title ? h('p', { class: 'muted', id: 'page-title' }, 'Page title: ', h('bdi', {}, m.page.title)) : null, tabs, details, replay];
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

const CHECK_GROUPS = ['Bag completeness and digests', 'Seal and signatures', 'Timestamps', 'Custody log', 'Captures', 'Other checks'];

/** A check's group: what it is about (the bag, the seal, custody, signatures, a capture…), read from the check's own name. */
function checkGroup(c) {
  const item = c.item;
  if (/^data\/captures\/|^capture /.test(item) || /capture/i.test(c.check)) return 'Captures';
  if (/custody|head/i.test(`${item} ${c.check}`)) return 'Custody log';
  if (/seal|signature|signing|key|rotation/i.test(`${item} ${c.check}`)) return 'Seal and signatures';
  if (/timestamp|tsa|tsr/i.test(`${item} ${c.check}`)) return 'Timestamps';
  if (/bag|manifest|payload|oxum|tagmanifest|^zip$/i.test(`${item} ${c.check}`) || c.check === 'zip') return 'Bag completeness and digests';
  return 'Other checks';
}

/** The verdict and what failed first; then the checks grouped, each group folded away when all of it passed. */
function verifyReport(report, uploadSha256, custodySeq) {
  const verdict =
    report.verdict === 'verified'
      ? `VERIFIED: all ${report.checks.length} checks passed; signer and TSA pinned`
      : report.verdict === 'unauthenticated'
        ? `UNAUTHENTICATED: all ${report.checks.length} checks passed, but the signer or TSA is not pinned on this server`
        : `NOT VERIFIED: ${report.failures.length} of ${report.checks.length} checks failed`;
  const row = (c) => h('tr', { class: c.ok ? 'ok' : 'bad' }, h('td', {}, c.ok ? '✓' : '✗'), h('td', { class: 'mono' }, c.item), h('td', {}, c.check), h('td', { class: 'msg' }, c.message));
  const table = (checks, id) => h('table', { class: 'checks', ...(id ? { id } : {}) }, h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, 'Item'), h('th', {}, 'Check'), h('th', {}, 'Result'))), h('tbody', {}, checks.map(row)));
  const groups = new Map(CHECK_GROUPS.map((g) => [g, []]));
  for (const c of report.checks) {
    const g = checkGroup(c);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(c);
  }
  return [
    h('p', { class: `banner ${report.ok ? 'ok' : 'bad'}`, id: 'verify-verdict' }, verdict),
    report.failures.length ? [h('h2', {}, 'What failed'), table(report.failures, 'verify-failures')] : null,
    h('p', {}, `Case ${report.caseId ?? '?'} · ${report.captureIds.length} capture(s) · ${report.custodyEvents} custody events · upload ${uploadSha256}`, custodySeq ? ` · recorded as custody event ${custodySeq}` : ''),
    h('details', { id: 'verify-trust-box', open: report.verdict !== 'verified' }, h('summary', {}, 'Who vouches for it (signing keys and TSA roots)'), h('pre', { class: 'muted', id: 'verify-trust' }, report.trust.summary)),
    h('h2', {}, 'All checks'),
    h(
      'div',
      { id: 'verify-checks' },
      [...groups].filter(([, checks]) => checks.length).map(([name, checks]) => {
        const failed = checks.filter((c) => !c.ok).length;
        return h('details', { class: `check-group ${failed ? 'bad' : 'ok'}`, 'data-group': name, open: failed > 0 }, h('summary', {}, `${failed ? '✗' : '✓'} ${name}: ${failed ? `${failed} of ${checks.length} failed` : `all ${checks.length} passed`}`), table(checks));
      }),
    ),
  ];
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
      mount(out, verifyReport(report, uploadSha256, custodySeq));
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
