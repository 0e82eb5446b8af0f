// Search across the reader's cases, and the analysts' tags and notes on a capture. Captured values
// and annotations go into the page as text only (dom.js `h`), never as markup.
import { ApiError, del, enc, get, me, post } from './api.js';
import { fmtTime, h, mount } from './dom.js';

const may = {
  annotate: () => me?.role === 'analyst',
};

function errorBox(e) {
  const msg = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e?.message ?? e);
  return h('p', { class: 'error', role: 'alert' }, msg);
}

const captureHref = (caseId, captureId) => `#/cases/${enc(caseId)}/captures/${enc(captureId)}`;

function hitItem(hit) {
  const who = hit.author ? [hit.author.displayName, hit.author.handle ? `@${hit.author.handle.replace(/^@/, '')}` : null].filter(Boolean).join(' ') : null;
  return h(
    'li',
    { class: 'search-hit card', 'data-capture-id': hit.captureId, 'data-case-id': hit.caseId },
    h('p', {}, h('a', { href: captureHref(hit.caseId, hit.captureId), class: 'hit-link' }, who || hit.title || hit.url), ' ', h('span', { class: 'muted' }, `· ${hit.platform} · case ${hit.caseId} · captured ${fmtTime(hit.capturedAt)}`, hit.published ? ` · published ${hit.published}` : '')),
    hit.excerpt ? h('p', { class: 'post-text hit-text', dir: hit.direction ?? 'auto' }, hit.excerpt) : hit.title ? h('p', { class: 'hit-text', dir: 'auto' }, hit.title) : null,
    hit.tags.length ? h('p', { class: 'tags' }, hit.tags.map((t) => h('span', { class: 'tag', dir: 'auto' }, t))) : null,
    h('p', { class: 'muted mono' }, `matched in ${hit.matchedIn.join(', ')}${hit.documentsMatched > 1 ? ` (${hit.documentsMatched} posts of the capture)` : ''} · ${hit.url}`),
  );
}

/** `#/search?q=…&case=…&tag=…`: the form, and the results when a query is given. */
export async function searchView(params) {
  const { cases } = await get('/api/cases');
  const q = h('input', { id: 'search-q', name: 'q', type: 'search', dir: 'auto', required: true, maxlength: '200', value: params.get('q') ?? '', placeholder: 'words, @handle, #hashtag, URL — any script, with or without diacritics' });
  const which = h('select', { id: 'search-case', name: 'case' }, h('option', { value: '' }, 'all my cases'), cases.map((c) => h('option', { value: c.caseId, selected: params.get('case') === c.caseId }, c.caseId)));
  const tag = h('input', { id: 'search-tag', name: 'tag', dir: 'auto', maxlength: '64', value: params.get('tag') ?? '', placeholder: 'only with this tag (optional)' });
  const form = h('form', { class: 'stack', id: 'search-form' }, h('label', {}, 'Search', q), h('label', {}, 'Case', which), h('label', {}, 'Tag', tag), h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams({ q: q.value.trim() });
    if (which.value) p.set('case', which.value);
    if (tag.value.trim()) p.set('tag', tag.value.trim());
    location.hash = `#/search?${p}`;
  });
  const results = h('div', { id: 'search-results' });
  const parts = [
    h('h1', {}, 'Search'),
    h('p', { class: 'muted' }, 'Post text, authors, hashtags, mentions, links, page titles, tags and notes of sealed captures in your cases. Arabic, Persian and Urdu match as typed: letter variants and diacritics are folded for matching only; results show the text exactly as recorded. Each search that shows results is recorded on the custody log of the cases they come from.'),
    h('section', { class: 'card' }, form),
    results,
  ];
  const query = params.get('q');
  if (query) {
    try {
      const qs = new URLSearchParams({ q: query });
      if (params.get('case')) qs.set('case', params.get('case'));
      if (params.get('tag')) qs.set('tag', params.get('tag'));
      const r = await get(`/api/search?${qs}`);
      mount(
        results,
        h('p', { id: 'search-count' }, r.total === 0 ? 'No capture matches.' : `${r.total} capture(s) match${r.total > r.hits.length ? ` (showing ${r.hits.length})` : ''}.`),
        h('ol', { class: 'search-hits', id: 'search-hits' }, r.hits.map(hitItem)),
        r.skipped.length ? h('div', { class: 'error', id: 'search-skipped' }, h('p', {}, `${r.skipped.length} sealed capture(s) could not be searched:`), h('ul', {}, r.skipped.map((s) => h('li', { class: 'mono' }, `${s.caseId}/${s.captureId}: ${s.reason}`)))) : null,
        h('details', { class: 'muted' }, h('summary', {}, 'How text is matched'), h('p', { class: 'mono' }, r.normalisation)),
      );
    } catch (e) {
      mount(results, errorBox(e));
    }
  }
  return parts;
}

/** The capture view's "Tags and notes" section: custody events, shown apart from the evidence. */
export async function annotationsPanel(caseId, captureId) {
  const base = `/api/cases/${enc(caseId)}/captures/${enc(captureId)}`;
  const box = h('section', { class: 'card annotations', id: 'annotations' });
  const out = h('div');
  const render = (a) => {
    const tags = h(
      'ul',
      { class: 'tags', id: 'tags' },
      a.tags.length === 0
        ? h('li', { class: 'muted' }, 'no tags')
        : a.tags.map((t) =>
            h(
              'li',
              { class: 'tag', 'data-tag': t.tag, title: `added by ${t.by.id} at ${t.at} (custody event ${t.seq})` },
              h('span', { dir: 'auto' }, t.tag),
              may.annotate() ? h('button', { type: 'button', class: 'secondary remove-tag', 'aria-label': `remove tag ${t.tag}`, onclick: () => change(() => del(`${base}/tags/${enc(t.tag)}`)) }, '×') : null,
            ),
          ),
    );
    const notes = h(
      'ol',
      { class: 'notes', id: 'notes' },
      a.notes.map((n) => h('li', {}, h('p', { class: 'note-text', dir: 'auto' }, n.note), h('p', { class: 'muted' }, `${n.by.id} · ${fmtTime(n.at)} · custody event ${n.seq}`))),
    );
    const forms = [];
    if (may.annotate()) {
      const tagInput = h('input', { id: 'tag-input', dir: 'auto', maxlength: '64', required: true, placeholder: 'tag' });
      const tagForm = h('form', { id: 'tag-form', class: 'inline' }, tagInput, h('button', { type: 'submit' }, 'Add tag'));
      tagForm.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (tagInput.value.trim()) void change(() => post(`${base}/tags`, { tag: tagInput.value.trim() }));
      });
      const noteInput = h('textarea', { id: 'note-input', dir: 'auto', maxlength: '4000', required: true, placeholder: 'note' });
      const noteForm = h('form', { id: 'note-form', class: 'stack' }, noteInput, h('button', { type: 'submit' }, 'Add note'));
      noteForm.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (noteInput.value.trim()) void change(() => post(`${base}/notes`, { note: noteInput.value }));
      });
      forms.push(tagForm, noteForm);
    }
    mount(
      box,
      h('h2', {}, 'Tags and notes'),
      h('p', { class: 'muted' }, 'Analyst annotations, not evidence: each is a custody event (who, when, what); the sealed capture is not changed. Packages carry them in data/annotations.json.'),
      tags,
      a.notes.length ? notes : null,
      forms,
      out,
    );
  };
  const change = async (fn) => {
    try {
      const r = await fn();
      render(r.annotations);
      box.dataset.changed = String(r.seq ?? '');
    } catch (e) {
      mount(out, errorBox(e));
    }
  };
  render(await get(`${base}/annotations`));
  return box;
}

/** A tag filter for the case's capture list; calls `apply(tag or null)`. */
export function tagFilter(current, apply) {
  const input = h('input', { id: 'tag-filter', dir: 'auto', maxlength: '64', value: current ?? '', placeholder: 'filter by tag' });
  const form = h('form', { id: 'tag-filter-form', class: 'inline' }, input, h('button', { type: 'submit', class: 'secondary' }, 'Filter'), ' ', h('button', { type: 'button', class: 'secondary', id: 'tag-filter-clear', onclick: () => { input.value = ''; apply(null); } }, 'All'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply(input.value.trim() || null);
  });
  return form;
}

export const tagList = (tags) => (tags?.length ? h('span', { class: 'tags' }, tags.map((t) => h('span', { class: 'tag', dir: 'auto' }, t))) : null);
