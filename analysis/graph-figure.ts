/**
 * A rendered figure of the case graph as SVG, written here (no browser needed): a deterministic
 * force-directed layout (Fruchterman–Reingold, fixed start and iteration count, so the same graph
 * gives the same figure), nodes coloured by kind, edges by type, analyst assertions dashed, and
 * right-to-left labels laid out right-to-left.
 */
import type { CaseGraphDocument, GraphNode } from '../schemas/graph.js';
import { xmlEscape } from './graph-export.js';

/** Above this many nodes the figure shows the account layer only (accounts and the edges between them). */
export const FIGURE_MAX_NODES = 300;

const KIND_COLOUR: Record<string, string> = { account: '#1f5fa8', channel: '#6a3fa0', post: '#8a96a3', hashtag: '#1b7f3a', url: '#9a6700', domain: '#b36b00', media: '#b3261e' };
const EDGE_COLOUR: Record<string, string> = { reposts: '#b3261e', mentions: '#1f5fa8', 'replies-to': '#6a3fa0', quotes: '#6a3fa0', 'same-media': '#d9480f', 'similar-media': '#e8590c', 'same-avatar': '#d9480f', 'co-thread': '#5c940d', 'asserted-same': '#000000', 'asserted-linked': '#000000' };
const RTL_FIRST = /^[^A-Za-z\u00C0-\u024F\u0370-\u04FF\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]*[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/;
const isAccount = (n: GraphNode) => n.kind === 'account' || n.kind === 'channel';

function layout(ids: string[], edges: Array<[number, number]>, w: number, h: number): Array<{ x: number; y: number }> {
  const n = ids.length;
  const pos = ids.map((_, i) => ({ x: w / 2 + (w / 3) * Math.cos((2 * Math.PI * i) / Math.max(n, 1)), y: h / 2 + (h / 3) * Math.sin((2 * Math.PI * i) / Math.max(n, 1)) }));
  if (n < 2) return n ? [{ x: w / 2, y: h / 2 }] : [];
  const k = Math.sqrt((w * h) / n) * 0.75;
  let temp = w / 8;
  for (let it = 0; it < 250; it++) {
    const disp = pos.map(() => ({ x: 0, y: 0 }));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const dx = pos[i]!.x - pos[j]!.x || 0.01;
        const dy = pos[i]!.y - pos[j]!.y || 0.01;
        const d2 = Math.max(dx * dx + dy * dy, 0.01);
        const f = (k * k) / d2;
        disp[i]!.x += dx * f;
        disp[i]!.y += dy * f;
        disp[j]!.x -= dx * f;
        disp[j]!.y -= dy * f;
      }
    }
    for (const [a, b] of edges) {
      const dx = pos[a]!.x - pos[b]!.x;
      const dy = pos[a]!.y - pos[b]!.y;
      const d = Math.max(Math.hypot(dx, dy), 0.01);
      const f = d / k;
      disp[a]!.x -= dx * f;
      disp[a]!.y -= dy * f;
      disp[b]!.x += dx * f;
      disp[b]!.y += dy * f;
    }
    for (let i = 0; i < n; i++) {
      const d = Math.max(Math.hypot(disp[i]!.x, disp[i]!.y), 0.01);
      pos[i]!.x += (disp[i]!.x / d) * Math.min(d, temp);
      pos[i]!.y += (disp[i]!.y / d) * Math.min(d, temp);
      // A weak pull to the centre keeps separate components on the page.
      pos[i]!.x += (w / 2 - pos[i]!.x) * 0.01;
      pos[i]!.y += (h / 2 - pos[i]!.y) * 0.01;
    }
    temp *= 0.98;
  }
  // Fit into the drawing area.
  const xs = pos.map((p) => p.x);
  const ys = pos.map((p) => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  // Wider side margins: labels are centred under their node and may be long.
  const [mx, my] = [130, 50];
  return pos.map((p) => ({ x: mx + ((p.x - x0) / Math.max(x1 - x0, 1)) * (w - 2 * mx), y: my + ((p.y - y0) / Math.max(y1 - y0, 1)) * (h - 2 * my) }));
}

const short = (s: string) => (s.length > 32 ? `${s.slice(0, 31)}…` : s);

/** The figure: SVG 1.1 text, self-contained (no scripts, no external references). */
export function graphFigureSvg(doc: CaseGraphDocument, opts: { title: string }): string {
  const accountOnly = doc.nodes.length > FIGURE_MAX_NODES;
  const nodes = accountOnly ? doc.nodes.filter(isAccount) : doc.nodes;
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const edges = doc.edges.filter((e) => index.has(e.source) && index.has(e.target) && e.source !== e.target);
  const [W, H, TOP] = [1400, 1000, 70];
  const pos = layout(nodes.map((n) => n.id), edges.map((e) => [index.get(e.source)!, index.get(e.target)!]), W, H - TOP).map((p) => ({ x: p.x, y: p.y + TOP }));
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Noto Sans, Noto Sans Arabic, DejaVu Sans, sans-serif">`,
    '<defs>',
    ...Object.entries({ default: '#aab4be', ...EDGE_COLOUR }).map(([t, c]) => `<marker id="arrow-${t}" viewBox="0 0 10 10" refX="16" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="${c}"/></marker>`),
    '</defs>',
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="20" y="30" font-size="18" font-weight="bold">${xmlEscape(opts.title)}</text>`,
    `<text x="20" y="52" font-size="12" fill="#5b6672">${xmlEscape(`Derived analysis product, not evidence: ${nodes.length} of ${doc.nodes.length} nodes${accountOnly ? ' (accounts only)' : ''}, ${edges.length} edges, from ${doc.captures.length} sealed captures. Dashed black: asserted by an analyst.`)}</text>`,
  ];
  const undirected = new Set(['same-media', 'similar-media', 'same-avatar', 'co-thread', 'asserted-same', 'asserted-linked']);
  for (const e of edges) {
    const a = pos[index.get(e.source)!]!;
    const b = pos[index.get(e.target)!]!;
    const colour = EDGE_COLOUR[e.type] ?? '#aab4be';
    const dash = e.basis === 'asserted-by-analyst' ? ' stroke-dasharray="8 5"' : undirected.has(e.type) ? ' stroke-dasharray="2 3"' : '';
    const marker = undirected.has(e.type) ? '' : ` marker-end="url(#arrow-${EDGE_COLOUR[e.type] ? e.type : 'default'})"`;
    out.push(`<line x1="${a.x.toFixed(1)}" y1="${a.y.toFixed(1)}" x2="${b.x.toFixed(1)}" y2="${b.y.toFixed(1)}" stroke="${colour}" stroke-width="${Math.min(1 + e.weight * 0.8, 6).toFixed(1)}" stroke-opacity="0.8"${dash}${marker}><title>${xmlEscape(`${e.type} (weight ${e.weight})`)}</title></line>`);
  }
  nodes.forEach((n, i) => {
    const p = pos[i]!;
    const r = isAccount(n) ? 11 : n.kind === 'post' ? 5 : 7;
    out.push(`<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="${r}" fill="${KIND_COLOUR[n.kind] ?? '#555555'}" stroke="#ffffff" stroke-width="1.5"><title>${xmlEscape(`${n.kind}: ${n.label}`)}</title></circle>`);
    if (n.kind === 'post' || n.kind === 'url') return;
    const label = short(isAccount(n) && n.displayNames.length ? `${n.label} · ${n.displayNames.at(-1)!.value}` : n.label);
    const rtl = RTL_FIRST.test(label);
    out.push(`<text x="${p.x.toFixed(1)}" y="${(p.y + r + 13).toFixed(1)}" font-size="${isAccount(n) ? 13 : 11}" text-anchor="middle"${rtl ? ' direction="rtl" unicode-bidi="embed"' : ''} fill="#1d232b">${xmlEscape(label)}</text>`);
  });
  const kinds = [...new Set(nodes.map((n) => n.kind))];
  kinds.forEach((k, i) => out.push(`<circle cx="${W - 150}" cy="${24 + i * 18}" r="6" fill="${KIND_COLOUR[k] ?? '#555555'}"/><text x="${W - 138}" y="${28 + i * 18}" font-size="12">${xmlEscape(k)}</text>`));
  out.push('</svg>', '');
  return out.join('\n');
}
