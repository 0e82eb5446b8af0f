// The case graph view: cytoscape (served from our own origin) draws the graph; filters re-ask the
// API, so the graph, its measures and the custody record all describe the same view. Every value
// from a capture goes into the page as text (dom.js `h`) or as a canvas label, never as markup.
import cytoscape from '/ui/vendor/cytoscape.esm.mjs';
import { ApiError, enc, get } from './api.js';
import { fmtTime, h, mount } from './dom.js';

const KIND_COLOUR = { account: '#1f5fa8', channel: '#6a3fa0', post: '#8a96a3', hashtag: '#1b7f3a', url: '#9a6700', domain: '#b36b00', media: '#b3261e' };
const EDGE_COLOUR = { reposts: '#b3261e', mentions: '#1f5fa8', 'replies-to': '#6a3fa0', quotes: '#6a3fa0', 'same-media': '#d9480f', 'similar-media': '#e8590c', 'same-avatar': '#d9480f', 'co-thread': '#5c940d', 'asserted-same': '#000', 'asserted-linked': '#000' };
const MEASURE_TITLES = { degree: 'Degree', mostForwarded: 'Most-forwarded sources', sharedMedia: 'Accounts sharing the same media', components: 'Connected components', betweenness: 'Betweenness (bridges)' };
const MAX_CAPTURES_SHOWN = 12;

// Strong right-to-left letters (Hebrew, Arabic, Syriac, Thaana, NKo and the Arabic presentation forms).
const RTL = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/;
const LTR = /[A-Za-z\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF]/;

/**
 * A canvas label line whose first strong letter is right-to-left is wrapped in a right-to-left
 * isolate (U+2067 … U+2069), so the canvas lays it out right-to-left: `#اخبار` reads as in Arabic
 * text, not with the `#` stranded on the left.
 */
export function bidiLabel(text) {
  return String(text)
    .split('\n')
    .map((line) => {
      const firstStrong = [...line].find((ch) => RTL.test(ch) || LTR.test(ch));
      return firstStrong && RTL.test(firstStrong) ? `\u2067${line}\u2069` : line;
    })
    .join('\n');
}

function nodeLabel(n) {
  if (n.kind !== 'account' && n.kind !== 'channel') return n.label.length > 40 ? `${n.label.slice(0, 39)}…` : n.label;
  const name = n.displayNames.at(-1)?.value;
  return name && `@${name}` !== n.label ? `${n.label}\n${name}` : n.label;
}

const captureIdsOf = (provenance) => [...new Set(provenance.filter((p) => p.basis === 'observed').map((p) => p.captureId))].sort();

function elements(doc) {
  return [
    ...doc.nodes.map((n) => ({ group: 'nodes', data: { id: n.id, label: bidiLabel(nodeLabel(n)), kind: n.kind, colour: KIND_COLOUR[n.kind] ?? '#555' } })),
    ...doc.edges.map((e) => ({ group: 'edges', data: { id: e.id, source: e.source, target: e.target, type: e.type, basis: e.basis, weight: e.weight, colour: EDGE_COLOUR[e.type] ?? '#aab4be' } })),
  ];
}

const STYLE = [
  { selector: 'node', style: { 'background-color': 'data(colour)', label: 'data(label)', 'font-size': 10, 'text-wrap': 'wrap', 'text-valign': 'bottom', 'text-margin-y': 3, 'font-family': 'system-ui, "Noto Sans", "Noto Sans Arabic", sans-serif', width: 14, height: 14 } },
  { selector: 'node[kind = "account"], node[kind = "channel"]', style: { width: 26, height: 26, 'font-size': 12, 'font-weight': 'bold' } },
  { selector: 'node[kind = "post"]', style: { shape: 'round-rectangle', width: 10, height: 10, 'font-size': 8, color: '#5b6672' } },
  { selector: 'node[kind = "media"]', style: { shape: 'diamond' } },
  { selector: 'edge', style: { width: 'mapData(weight, 1, 10, 1.2, 6)', 'line-color': 'data(colour)', 'target-arrow-color': 'data(colour)', 'target-arrow-shape': 'triangle', 'curve-style': 'bezier', 'arrow-scale': 0.8, opacity: 0.85 } },
  { selector: 'edge[basis = "asserted-by-analyst"]', style: { 'line-style': 'dashed', 'target-arrow-shape': 'none', width: 2.5 } },
  { selector: 'edge[type = "same-media"], edge[type = "similar-media"], edge[type = "same-avatar"], edge[type = "co-thread"]', style: { 'target-arrow-shape': 'none', 'line-style': 'dotted' } },
  { selector: '.match', style: { 'border-width': 4, 'border-color': '#f59f00' } },
  { selector: ':selected', style: { 'border-width': 4, 'border-color': '#000', 'line-color': '#000', 'target-arrow-color': '#000' } },
];

// cytoscape adds an inline <style> (position: relative on its container) unless an element with this
// id exists; the strict CSP refuses inline styles, and style.css already positions the container.
function preventInlineStylesheet() {
  if (document.getElementById('__________cytoscape_stylesheet')) return;
  document.head.append(h('meta', { id: '__________cytoscape_stylesheet', name: 'cytoscape-style', content: 'style.css' }));
}

function errorBox(e) {
  const msg = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e?.message ?? e);
  return h('p', { class: 'error', role: 'alert' }, msg);
}

/** The captures behind a node or an edge: each one's post (a custody-logged read), text and a link to the capture view. */
async function capturesPanel(caseId, provenance) {
  const ids = captureIdsOf(provenance);
  const pointers = new Map();
  for (const p of provenance) if (p.basis === 'observed') pointers.set(p.captureId, [...(pointers.get(p.captureId) ?? []), p.pointer]);
  const items = await Promise.all(
    ids.slice(0, MAX_CAPTURES_SHOWN).map(async (id) => {
      const link = h('a', { href: `#/cases/${enc(caseId)}/captures/${enc(id)}`, class: 'capture-link mono' }, id);
      try {
        const doc = await get(`/api/cases/${enc(caseId)}/captures/${enc(id)}/post`);
        const p = doc.post;
        return h(
          'li',
          { 'data-capture-id': id },
          link,
          h('div', { class: 'muted' }, `${doc.platform} · captured ${fmtTime(doc.observedAt)}${p?.published ? ` · stated ${p.published.raw}` : ''} · ${(pointers.get(id) ?? []).join(', ')}`),
          p?.author ? h('div', { dir: 'auto', class: 'graph-author' }, `${p.author.displayName ?? ''} ${p.author.handle ? '@' + p.author.handle.replace(/^@/, '') : ''}`.trim()) : null,
          p?.text?.content ? h('p', { class: 'post-text', dir: p.text.direction ?? 'auto', lang: p.text.language ?? null }, p.text.content) : h('p', { class: 'muted' }, 'no text'),
        );
      } catch (e) {
        return h('li', { 'data-capture-id': id }, link, errorBox(e));
      }
    }),
  );
  const asserted = provenance.filter((p) => p.basis === 'asserted-by-analyst');
  return [
    h('h3', {}, `Captures behind it (${ids.length})`),
    ids.length ? h('ul', { class: 'graph-captures', id: 'graph-captures' }, items) : null,
    ids.length > MAX_CAPTURES_SHOWN ? h('p', { class: 'muted' }, `${ids.length - MAX_CAPTURES_SHOWN} more: ${ids.slice(MAX_CAPTURES_SHOWN).join(', ')}`) : null,
    asserted.length
      ? [h('h3', {}, 'Asserted by an analyst (not observed)'), h('ul', {}, asserted.map((a) => h('li', { dir: 'auto' }, `${a.actor} at ${fmtTime(a.time)}, custody event ${a.custodySeq}: ${a.reason}`)))]
      : null,
  ];
}

function nodeFacts(n) {
  const rows = [['Kind', n.kind], ['Id', n.id], ['Platform', n.platform ?? '—']];
  for (const v of n.handles) rows.push([n.kind === 'hashtag' ? 'Tag as observed' : 'Handle as observed', v.value, fmtTime(v.capturedAt)]);
  for (const v of n.displayNames) rows.push(['Name as observed', v.value, fmtTime(v.capturedAt)]);
  for (const [k, v] of Object.entries(n.attrs)) if (v !== null && v !== '') rows.push([k, String(v)]);
  // The observed value is isolated (bdi, its own direction), so an Arabic name does not reorder the date after it.
  return h('dl', { class: 'facts' }, rows.map(([k, v, when]) => [h('dt', {}, k), h('dd', {}, h('bdi', { dir: 'auto' }, v), when ? h('span', { class: 'muted' }, ` (seen ${when})`) : null)]));
}

function measuresPanel(measures, explanations, byId) {
  const item = (key, rows, empty) =>
    h(
      'section',
      { class: 'card measure', 'data-measure': key },
      h('h3', {}, MEASURE_TITLES[key]),
      h('p', { class: 'muted measure-explanation' }, explanations[key]),
      rows.length ? h('ol', {}, rows.slice(0, 8).map((r) => h('li', { dir: 'auto' }, r))) : h('p', { class: 'muted' }, empty),
    );
  const name = (id, label) => byId.get(id)?.label ?? label;
  return h(
    'div',
    { id: 'graph-measures', class: 'measures' },
    item('degree', measures.degree.map((d) => `${name(d.id, d.label)} — degree ${d.degree}, weighted ${d.weightedDegree}`), 'no accounts'),
    item('mostForwarded', measures.mostForwarded.map((f) => `${name(f.id, f.label)} — ${f.reposts} reposts by ${f.reposters} accounts`), 'none observed'),
    item('sharedMedia', measures.sharedMedia.map((x) => `${x.a} ↔ ${x.b} — ${x.posts} post pairs`), 'none observed'),
    item('components', measures.components.map((c) => `${c.size}: ${c.members.slice(0, 8).join(', ')}${c.size > 8 ? ', …' : ''}`), 'no accounts'),
    item('betweenness', measures.betweenness ? measures.betweenness.map((b) => `${name(b.id, b.label)} — ${b.score.toFixed(3)}`) : [], measures.betweenness ? 'no accounts' : 'not computed: too many accounts'),
  );
}

/** #/cases/:caseId/graph */
export async function graphView(caseId, cleanup) {
  const canvas = h('div', { id: 'graph-canvas', class: 'graph-canvas', role: 'img', 'aria-label': `case graph of ${caseId}` });
  const details = h('aside', { id: 'graph-details', class: 'card graph-details', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Click a node or an edge to see the captures behind it.'));
  const summary = h('p', { id: 'graph-summary', class: 'muted' });
  const measuresBox = h('div');
  const status = h('div', { id: 'graph-status' });
  const typeBox = h('fieldset', { id: 'graph-edge-types', class: 'graph-types' }, h('legend', {}, 'Edge types'));
  const since = h('input', { type: 'date', id: 'graph-since', 'aria-label': 'from date (UTC)' });
  const until = h('input', { type: 'date', id: 'graph-until', 'aria-label': 'to date (UTC)' });
  const search = h('input', { type: 'search', id: 'graph-search', placeholder: '@handle, account id or name', dir: 'auto' });
  let cy = null;
  let allTypes = null;

  const query = (account) => {
    const q = new URLSearchParams();
    const picked = [...typeBox.querySelectorAll('input:checked')].map((i) => i.value);
    if (allTypes && picked.length && picked.length < allTypes.length) q.set('edgeTypes', picked.join(','));
    if (since.value) q.set('since', `${since.value}T00:00:00Z`);
    if (until.value) q.set('until', `${until.value}T23:59:59Z`);
    if (account) q.set('account', account);
    const s = q.toString();
    return `/api/cases/${enc(caseId)}/graph${s ? `?${s}` : ''}`;
  };

  const load = async (account) => {
    mount(status, h('p', { class: 'muted' }, 'Building the graph from the sealed captures…'));
    let view;
    try {
      view = await get(query(account));
    } catch (e) {
      mount(status, errorBox(e));
      return;
    }
    const doc = view.graph;
    if (!allTypes) {
      allTypes = [...new Set(doc.edges.map((e) => e.type))].sort();
      typeBox.append(...allTypes.map((t) => h('label', { class: 'graph-type' }, h('input', { type: 'checkbox', value: t, checked: true, name: 'edge-type' }), ` ${t}`)));
    }
    const byId = new Map(doc.nodes.map((n) => [n.id, n]));
    const edgesById = new Map(doc.edges.map((e) => [e.id, e]));
    mount(status);
    mount(
      summary,
      `${doc.nodes.length} nodes, ${doc.edges.length} edges from ${doc.captures.length} sealed captures`,
      doc.skipped.length ? ` (${doc.skipped.length} without a readable post.json)` : '',
      account ? ` — neighbourhood of ${account}` : '',
      view.custodySeq ? ` · this view is custody event ${view.custodySeq}` : '',
    );
    mount(measuresBox, h('h2', {}, 'Measures'), measuresPanel(view.measures, view.explanations, byId));
    cy?.destroy();
    preventInlineStylesheet();
    cy = cytoscape({ container: canvas, elements: elements(doc), style: STYLE, layout: { name: 'cose', animate: false, randomize: false, nodeRepulsion: () => 400000, idealEdgeLength: () => 90, nodeOverlap: 20, componentSpacing: 120, padding: 40 }, wheelSensitivity: 0.3, minZoom: 0.2, maxZoom: 4 });
    // Tests and the figure export read node positions through this reference.
    canvas.cy = cy;
    if (account) {
      const q = account.replace(/^@/, '').normalize('NFKC').toLowerCase();
      const centre = (n) => n.id === account || n.attrs.accountId === account || n.handles.some((v) => v.value.replace(/^@/, '').normalize('NFKC').toLowerCase() === q || v.matchKey === q);
      cy.nodes().filter((el) => centre(byId.get(el.id()))).addClass('match');
    }
    cy.on('tap', 'node', async (ev) => {
      const n = byId.get(ev.target.id());
      mount(details, h('h2', { dir: 'auto', id: 'graph-selected' }, n.label), nodeFacts(n), h('p', { class: 'muted' }, 'Loading the captures…'));
      details.dataset.selected = n.id;
      mount(details, h('h2', { dir: 'auto', id: 'graph-selected' }, n.label), nodeFacts(n), await capturesPanel(caseId, n.provenance));
      details.dataset.ready = n.id;
    });
    cy.on('tap', 'edge', async (ev) => {
      const e = edgesById.get(ev.target.id());
      const head = [
        h('h2', { id: 'graph-selected' }, h('span', { dir: 'auto' }, byId.get(e.source)?.label ?? e.source), ` —${e.type}→ `, h('span', { dir: 'auto' }, byId.get(e.target)?.label ?? e.target)),
        h('dl', { class: 'facts' }, h('dt', {}, 'Type'), h('dd', {}, e.type), h('dt', {}, 'Basis'), h('dd', {}, e.basis), h('dt', {}, 'Weight'), h('dd', {}, `${e.weight} distinct observation${e.weight === 1 ? '' : 's'}`), e.distance !== null ? [h('dt', {}, 'Hamming distance'), h('dd', {}, String(e.distance))] : null),
      ];
      details.dataset.selected = e.id;
      mount(details, head, h('p', { class: 'muted' }, 'Loading the captures…'));
      mount(details, head, await capturesPanel(caseId, e.provenance));
      details.dataset.ready = e.id;
    });
    canvas.dataset.nodes = String(doc.nodes.length);
    canvas.dataset.edges = String(doc.edges.length);
  };

  const controls = h(
    'form',
    { id: 'graph-filters', class: 'graph-filters' },
    typeBox,
    h('label', {}, 'From', since),
    h('label', {}, 'To', until),
    h('label', {}, 'Search by handle', search),
    h('button', { type: 'submit' }, 'Apply'),
    h('button', { type: 'button', class: 'secondary', id: 'graph-reset', onclick: () => { search.value = ''; since.value = ''; until.value = ''; for (const i of typeBox.querySelectorAll('input')) i.checked = true; void load(); } }, 'Show all'),
  );
  controls.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void load(search.value.trim() || undefined);
  });
  cleanup.push(() => cy?.destroy());
  const page = [
    h('p', {}, h('a', { href: `#/cases/${enc(caseId)}` }, `← Case ${caseId}`)),
    h('h1', {}, `Case graph of ${caseId}`),
    h('p', { class: 'muted' }, 'Built from the sealed post.json of every capture in the case: each node and edge names the captures it was read from. Accounts are never merged; dashed black edges are analyst assertions, not observations. Viewing the graph is recorded on the custody log.'),
    controls,
    status,
    summary,
    h('div', { class: 'graph-layout' }, canvas, details),
    measuresBox,
  ];
  // Cytoscape needs its container in the page to measure it: load once the view is mounted.
  setTimeout(() => void load(), 0);
  return page;
}
