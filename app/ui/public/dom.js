// Building DOM from data without ever parsing it as HTML: every string becomes a text node or an
// attribute value set with setAttribute. Links and image sources are limited to our own routes
// (plus the OpenStreetMap link for GPS positions), so captured `javascript:` URLs cannot slip in.

const OWN_HREF = /^(#\/|\/api\/|\/admin\/queues)/;
const OSM = /^https:\/\/www\.openstreetmap\.org\/\?mlat=-?\d+(\.\d+)?&mlon=-?\d+(\.\d+)?#map=\d+\/-?\d+(\.\d+)?\/-?\d+(\.\d+)?$/;

export function safeHref(v) {
  const s = String(v);
  if (OWN_HREF.test(s) || OSM.test(s)) return s;
  throw new Error(`refusing link ${s.slice(0, 80)}`);
}

function safeSrc(v) {
  const s = String(v);
  if (s.startsWith('/api/')) return s;
  throw new Error(`refusing image source ${s.slice(0, 80)}`);
}

/** h('p', {class: 'x', dir: 'auto'}, 'text', child, [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'href') el.setAttribute('href', safeHref(v));
    else if (k === 'src') el.setAttribute('src', safeSrc(v));
    else if (k === 'value') el.value = String(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace the children of an element. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const fmtBytes = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
export const fmtTime = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');

/** A link to OpenStreetMap for a position (numbers only). */
export function mapLink(lat, lon) {
  const la = Number(lat).toFixed(6);
  const lo = Number(lon).toFixed(6);
  return h('a', { href: `https://www.openstreetmap.org/?mlat=${la}&mlon=${lo}#map=16/${la}/${lo}`, target: '_blank', rel: 'noopener noreferrer', class: 'map-link' }, `${la}, ${lo} (map)`);
}

export function progressBar(percent, label) {
  return h('span', { class: 'progress' }, h('progress', { max: '100', value: String(Math.round(percent ?? 0)) }), ' ', label ?? '');
}

/**
 * The replay viewer: a sandboxed frame on the replay origin, which must be another origin than
 * ours (captured pages run there). `allow-same-origin` keeps the frame's own (replay) origin, which
 * its service worker needs; it grants nothing in ours. No top navigation, no popups, no downloads.
 */
export function replayFrame(viewerUrl, replayOrigin) {
  const origin = new URL(replayOrigin).origin;
  const url = new URL(viewerUrl);
  if (!/^https?:$/.test(url.protocol) || url.origin !== origin || origin === location.origin || !/^\/view\/[A-Za-z0-9_-]+$/.test(url.pathname)) throw new Error(`refusing replay viewer ${String(viewerUrl).slice(0, 80)}`);
  const el = document.createElement('iframe');
  el.id = 'replay-frame';
  el.title = 'Replay of the captured page (ReplayWeb.page)';
  el.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-forms');
  el.setAttribute('referrerpolicy', 'no-referrer');
  el.setAttribute('allow', "camera 'none'; microphone 'none'; geolocation 'none'; payment 'none'");
  el.setAttribute('src', url.href);
  return el;
}
