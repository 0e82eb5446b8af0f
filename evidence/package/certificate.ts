/**
 * The human-readable certificate of a package (HTML; PDF through an injected renderer, since
 * evidence/ must not import Playwright — workers/app pass a Chromium-backed `RenderPdf`).
 *
 * Laid out for A4 portrait. A single capture: page 1 tells the story (case, the capture's
 * who/what/when, seal status, a preview of the top of the page); then its technical record and
 * artifact list (originals first, derivatives grouped under their source, digests on their own
 * lines); the custody timeline; the "verify with standard tools" text; and an appendix with the
 * full-page screenshot cut into page-sized slices.
 *
 * Several captures (a case of hundreds is common): one compact entry per capture — a thumbnail,
 * the who/what/when, seal status, and the file name and SHA-256 of the full screenshot and of the
 * signed manifest — then the custody log condensed to one line per capture, and the verification
 * text. The full record of each capture (every artifact with both digests, network, TLS and
 * software facts) is its signed manifest in the package; printing it, and every screenshot at full
 * size, for every capture made a 200-capture certificate ~950 pages and minutes of rendering.
 *
 * Everything captured is hostile input: every string goes through `escapeHtml`, captured text
 * carries `dir="auto"` so Arabic/Hebrew render right-to-left, a CSP meta tag forbids scripts and
 * any network fetch, and the screenshot is embedded once, as a CSS background of an allow-listed
 * `data:` URI (checked against a strict pattern, so it cannot break out of the style sheet).
 */
import type { Artifact } from '../schemas/artifact.js';
import type { CustodyAction, CustodyEvent, SignatureRecord, TimestampRecord } from '../schemas/custody.js';
import type { CaptureManifest } from '../schemas/manifest.js';

/**
 * Render `html` to a PDF file at `outPath` (e.g. Chromium `page.pdf`). `prepare`, when given, is
 * called as packaging starts so a slow start-up (a browser launch) overlaps the rest of the work.
 */
export type RenderPdf = ((html: string, outPath: string) => Promise<void>) & { prepare?: () => Promise<void> };

/** Image types that may be embedded as data: URIs. */
export const EMBEDDABLE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);

/** The Content-Security-Policy of the certificate: no scripts, no fetches, only data: images. */
export const CERTIFICATE_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

export interface CertificateCapture {
  manifest: CaptureManifest;
  manifestDigest: string;
  signature: SignatureRecord | null;
  timestamps: TimestampRecord[];
  /** `data:image/...;base64,...` of the screenshot (or its thumbnail), or null when too large/absent. */
  screenshotDataUri: string | null;
  /**
   * Name of the sealed artifact the embedded image was made from, when it is not the screenshot
   * itself (multi-capture certificates show a JPEG rendering of the sealed thumbnail).
   */
  screenshotShownFrom?: string | null;
  /** Path of each artifact inside the bag, by artifact name. */
  bagPathOf: (a: Artifact) => string;
}

export interface CertificateInput {
  caseId: string;
  organization: string;
  generatedAt: string;
  generatedBy: string;
  captures: CertificateCapture[];
  events: CustodyEvent[];
  head: { seq: number; hash: string; time: string; timestamps: TimestampRecord[] } | null;
  /** The plain-language verification text (VERIFY.txt), or the part of it shown in the certificate. */
  verifyText: string;
  /**
   * What authenticates the package: its content manifest digest (recorded in the signed custody
   * log), the signing key and the TSA root(s) a recipient must confirm independently.
   */
  authenticity?: { packageId: string; contentManifestDigest: string; signingKey: string; tsaRoots: Array<{ fingerprint: string; subject: string }> };
  /** Said above the verification text when it is abridged (e.g. commands shown for one capture of many). */
  verifyNote?: string;
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const t = (v: unknown) => `<span dir="auto">${escapeHtml(v)}</span>`;
const code = (v: unknown) => `<code>${escapeHtml(v)}</code>`;
/** A timestamp that must not wrap. */
const time = (v: unknown) => `<time>${escapeHtml(v)}</time>`;
/** Captured text as a block of its own. */
const textBlock = (v: unknown, cls = 'captured') => `<p class="${cls}" dir="auto">${escapeHtml(v)}</p>`;

function row(label: string, valueHtml: string): string {
  return `<tr><th scope="row">${escapeHtml(label)}</th><td>${valueHtml}</td></tr>`;
}

/** Shorten long text: keep the start and the end, say how long it was. */
export function truncateMiddle(s: string, max = 140): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  const tail = Math.min(30, Math.floor(max / 4));
  return `${chars.slice(0, max - tail - 1).join('')}…${chars.slice(-tail).join('')} (${chars.length} characters)`;
}

const groupDigits = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
function formatSize(n: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u < 0 ? `${groupDigits(n)} bytes` : `${groupDigits(n)} bytes (${v.toFixed(1)} ${units[u]})`;
}

/** `2026-03-01 11:00:00.000 (Europe/Paris, GMT+1)`, or null for an unknown time zone or a UTC host. */
function inZone(iso: string, timeZone: string): string | null {
  if (/^(utc|etc\/utc|gmt|z)$/i.test(timeZone)) return null;
  try {
    const parts = new Intl.DateTimeFormat('en-GB', {
      timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
      fractionalSecondDigits: 3, hourCycle: 'h23', timeZoneName: 'shortOffset',
    }).formatToParts(new Date(iso));
    const p = (type: Intl.DateTimeFormatPartTypes) => parts.find((x) => x.type === type)?.value ?? '';
    return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')}:${p('second')}.${p('fractionalSecond')} (${timeZone}, ${p('timeZoneName')})`;
  } catch {
    return null;
  }
}

/** `sha256:<hex>` → `<hex>` (what sha256sum prints); anything else unchanged. */
const hexOf = (digest: string) => digest.replace(/^sha(?:256|512):/, '');

const DATA_URI = /^data:(image\/(?:png|jpeg|webp|gif));base64,([A-Za-z0-9+/]+={0,2})$/;

/** Pixel size of a PNG, GIF, WebP or JPEG, or null when the bytes are not one of those. */
export function imageDimensions(b: Buffer): { width: number; height: number } | null {
  const ok = (width: number, height: number) => (width > 0 && height > 0 ? { width, height } : null);
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR') return ok(b.readUInt32BE(16), b.readUInt32BE(20));
  if (b.length >= 10 && b.toString('latin1', 0, 4) === 'GIF8') return ok(b.readUInt16LE(6), b.readUInt16LE(8));
  if (b.length >= 30 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') {
    const chunk = b.toString('latin1', 12, 16);
    if (chunk === 'VP8X') return ok(1 + b.readUIntLE(24, 3), 1 + b.readUIntLE(27, 3));
    if (chunk === 'VP8 ') return ok(b.readUInt16LE(26) & 0x3fff, b.readUInt16LE(28) & 0x3fff);
    if (chunk === 'VP8L') {
      const bits = b.readUInt32LE(21);
      return ok((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
    }
    return null;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1]!;
      if (marker === 0xff) {
        i++;
        continue;
      }
      // SOF0–SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return ok(b.readUInt16BE(i + 7), b.readUInt16BE(i + 5));
      i += 2 + b.readUInt16BE(i + 2);
    }
  }
  return null;
}

interface Shot {
  cls: string;
  css: string;
  width: number;
  height: number;
}

/** The screenshot as one CSS rule (embedded once, used by the preview and the appendix slices). */
function screenshotOf(c: CertificateCapture, index: number): Shot | null {
  const m = c.screenshotDataUri ? DATA_URI.exec(c.screenshotDataUri) : null;
  if (!m || !EMBEDDABLE_IMAGE_TYPES.has(m[1]!)) return null;
  const size = imageDimensions(Buffer.from(m[2]!.slice(0, 512 * 1024), 'base64'));
  if (!size) return null;
  const cls = `shot-${index + 1}`;
  // The pattern above admits only [A-Za-z0-9+/=;:,/] — nothing that can end the url(), the rule or the <style>.
  return { cls, css: `.${cls} { background-image: url("${c.screenshotDataUri}"); }`, ...size };
}

/** Originals (most telling first), then derivatives grouped under the source they were made from. */
const ROLE_ORDER = ['screenshot', 'post', 'dom', 'mhtml', 'warc', 'page-facts', 'environment', 'media', 'other', 'metadata', 'thumbnail'];
export function orderArtifacts(artifacts: readonly Artifact[]): { originals: Artifact[]; derived: Array<{ source: string; sourceSha256: string; artifacts: Artifact[] }> } {
  const rank = (a: Artifact) => {
    const r = ROLE_ORDER.indexOf(a.role);
    return r < 0 ? ROLE_ORDER.length : r;
  };
  const byName = (a: Artifact, b: Artifact) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const originals = artifacts.filter((a) => !a.derivedFrom).sort(byName);
  const groups = new Map<string, { source: string; sourceSha256: string; artifacts: Artifact[] }>();
  for (const a of artifacts) {
    if (!a.derivedFrom) continue;
    const g = groups.get(a.derivedFrom.source) ?? { source: a.derivedFrom.source, sourceSha256: a.derivedFrom.sourceSha256, artifacts: [] };
    g.artifacts.push(a);
    groups.set(a.derivedFrom.source, g);
  }
  const pos = new Map(originals.map((a, i) => [a.name, i]));
  const derived = [...groups.values()].sort((a, b) => (pos.get(a.source) ?? Infinity) - (pos.get(b.source) ?? Infinity) || (a.source < b.source ? -1 : 1));
  for (const g of derived) g.artifacts.sort(byName);
  return { originals, derived };
}

type SealState = { sealed: boolean; label: string; reasons: string[] };
function sealState(c: CertificateCapture): SealState {
  const reasons: string[] = [];
  if (!c.signature) reasons.push('not signed');
  if (c.timestamps.length === 0) reasons.push('no timestamp token: this capture is unsealed');
  return reasons.length ? { sealed: false, label: 'UNSEALED', reasons } : { sealed: true, label: 'SEALED', reasons: ['signed (Ed25519) and timestamped (RFC 3161)'] };
}

const badge = (s: SealState) => `<span class="badge ${s.sealed ? 'ok' : 'bad'}">${escapeHtml(s.label)}</span>`;

function tsaLines(c: CertificateCapture): string {
  if (!c.timestamps.length) return '<strong class="bad">no timestamp token: this capture is unsealed</strong>';
  return c.timestamps
    .map((ts) => {
      const skew = ts.clockSkewMs;
      const diff = skew === 0 ? 'local clock equal to the TSA' : `local clock ${Math.abs(skew)} ms ${skew > 0 ? 'ahead of' : 'behind'} the TSA`;
      return `${time(ts.genTime)} <span class="muted">by</span> ${t(ts.tsaName ?? ts.signerSubject)}<br><span class="muted">${escapeHtml(diff)}; serial ${escapeHtml(ts.serialNumber)}, policy ${escapeHtml(ts.policy)}</span>`;
    })
    .join('<br>');
}

/** Post text a reader should see: title, descriptions and JSON-LD body/headline, de-duplicated. */
function postTexts(m: CaptureManifest): Array<{ label: string; text: string }> {
  const out: Array<{ label: string; text: string }> = [];
  const seen = new Set<string>();
  const add = (label: string, v: unknown) => {
    if (typeof v !== 'string') return;
    const s = v.trim();
    if (!s || seen.has(s)) return;
    seen.add(s);
    out.push({ label, text: truncateMiddle(s, 1200) });
  };
  const og = m.page.meta.openGraph;
  const tw = m.page.meta.twitter;
  for (const ld of m.page.jsonLd.slice(0, 10)) {
    if (!ld || typeof ld !== 'object' || Array.isArray(ld)) continue;
    const o = ld as Record<string, unknown>;
    const author = Array.isArray(o.author) ? o.author[0] : o.author;
    const name = author && typeof author === 'object' ? (author as Record<string, unknown>).name : author;
    if (typeof name === 'string' && typeof o.articleBody === 'string') add('Author (JSON-LD)', name);
    add('Published (JSON-LD)', o.datePublished);
    add('Post text (JSON-LD articleBody)', o.articleBody);
  }
  add('Description (og:description)', og['og:description']);
  add('Description (twitter:description)', tw['twitter:description']);
  add('Description (meta)', m.page.meta.description);
  return out.slice(0, 8);
}

function summaryCard(c: CertificateCapture, index: number, total: number, shot: Shot | null): string {
  const m = c.manifest;
  const env = m.environment;
  const seal = sealState(c);
  const local = inZone(env.startedAt, env.timezone);
  const vw = env.viewport.width > 0 ? env.viewport.width : 1;
  const boxRatio = shot ? Math.min(shot.height / shot.width, (1.5 * env.viewport.height) / vw) : 0;
  const preview = shot
    ? `<figure class="preview"><div class="shot ${shot.cls}" role="img" aria-label="Top of the captured page" style="aspect-ratio: 1000 / ${Math.max(1, Math.round(1000 * boxRatio))}"></div><figcaption>Top of the page as captured (about ${boxRatio * shot.width >= shot.height ? 'the whole page' : '1.5 screens'}). Full screenshot: Appendix A${total > 1 ? `.${index + 1}` : ''}.</figcaption></figure>`
    : '<figure class="preview none"><p>No screenshot embedded (none captured, or too large to embed; see the artifact list).</p></figure>';
  const texts = postTexts(m);
  return `<section class="card">
<h2><span class="capno">Capture ${index + 1}${total > 1 ? ` of ${total}` : ''}</span> ${badge(seal)}${m.status === 'failed' ? ' <span class="badge bad">CAPTURE FAILED</span>' : ''}</h2>
<p class="title" dir="auto">${escapeHtml(m.page.title ?? m.request.url)}</p>
<table class="facts">
${row('Requested URL', t(m.request.url))}
${row('Final URL', t(m.page.finalUrl ?? '(none)'))}
${row('HTTP status', `${escapeHtml(m.page.status ?? '(none)')}${m.page.redirects.length ? ` after ${m.page.redirects.length} redirect(s)` : ''}`)}
${row('Server address', t(m.page.remoteIp ?? '(unknown)'))}
${m.failure ? row('Failure', `<strong class="bad">${t(m.failure.code)}</strong>: ${t(m.failure.message)}`) : ''}
${row('Operator', `${t(env.operator)}${m.request.requestedBy !== env.operator ? ` (requested by ${t(m.request.requestedBy)})` : ''}`)}
${row('Legal basis', t(m.request.legalBasis ?? '(none given)'))}
${row('Captured (host clock)', `${time(env.startedAt)} <span class="muted">to</span> ${time(env.finishedAt.slice(0, 10) === env.startedAt.slice(0, 10) ? env.finishedAt.slice(11) : env.finishedAt)}<br><span class="muted">${local ? `local time ${escapeHtml(local)}` : `UTC; host time zone ${t(env.timezone)}`}</span>`)}
${row('Trusted time (RFC 3161)', tsaLines(c))}
${row('Signature key', c.signature ? `Ed25519 ${code(c.signature.keyFingerprint)}` : '<strong class="bad">not signed</strong>')}
${row('Manifest SHA-256', code(c.manifestDigest))}
${row('Evidence files', `${m.artifacts.length} artifacts (${m.artifacts.filter((a) => !a.derivedFrom).length} original, ${m.artifacts.filter((a) => a.derivedFrom).length} derived), each with SHA-256 and SHA-512 — see “Capture ${index + 1}: technical record”`)}
${row('Status', `${badge(seal)} ${escapeHtml(seal.reasons.join('; '))}`)}
</table>
<div class="story">
${preview}
${texts.length ? `<div class="post"><h3>What the page said <span class="sub">captured text, reproduced as received</span></h3>${texts.map((x) => `<div class="ptext"><span class="plabel">${escapeHtml(x.label)}</span>${textBlock(x.text)}</div>`).join('')}</div>` : '<div class="post"><p class="muted">The page carried no title, description or post text in its metadata.</p></div>'}
</div>
<p class="idline muted">Capture id ${code(m.captureId)} · case ${t(m.caseId)}</p>
</section>`;
}

function digestLines(a: Artifact): string {
  return `<div class="dg"><span class="alg">SHA-256</span>${code(hexOf(a.sha256))}</div><div class="dg"><span class="alg">SHA-512</span>${code(hexOf(a.sha512))}</div>`;
}

function artifactBlock(c: CertificateCapture, a: Artifact): string {
  const dir = `data/captures/${c.manifest.captureId}/`;
  const bagPath = c.bagPathOf(a);
  const rel = bagPath.startsWith(dir) ? bagPath.slice(dir.length) : bagPath;
  const facts: string[] = [];
  if (a.derivedFrom) facts.push(`<span class="k">From</span>${t(a.derivedFrom.source)} by ${t(a.derivedFrom.method)} <span class="muted">(${t(a.derivedFrom.tool)})</span>`);
  facts.push(`<span class="k">File</span>${code(rel)}`);
  if (a.perceptualHash) facts.push(`<span class="k">Perceptual hash</span>${escapeHtml(a.perceptualHash)}`);
  const lines = [facts.map((f) => `<span class="fact">${f}</span>`).join(' ')];
  if (a.sourceUrl) lines.push(`<span class="k">Source URL</span>${t(truncateMiddle(a.sourceUrl, 300))}`);
  for (const f of a.flags) lines.push(`<strong class="bad">${escapeHtml(f.code)}</strong>: ${t(truncateMiddle(f.message))}`);
  return `<div class="art${a.derivedFrom ? ' derived' : ''}">
<div class="art-head"><span class="tag">${a.derivedFrom ? 'DERIVED' : 'ORIGINAL'}</span> <span class="art-name" dir="auto">${escapeHtml(a.name)}</span> <span class="art-meta">${escapeHtml(a.role)} · ${escapeHtml(a.mediaType)} · ${escapeHtml(formatSize(a.size))}</span></div>
${lines.map((l) => `<div class="art-line">${l}</div>`).join('')}
${digestLines(a)}
</div>`;
}

function detailsSection(c: CertificateCapture, index: number, total: number): string {
  const m = c.manifest;
  const env = m.environment;
  const p = m.page;
  const { originals, derived } = orderArtifacts(m.artifacts);
  const failedEnrichment = m.enrichment.filter((e) => e.status === 'failed');
  const tls = p.tls
    ? `${t(p.tls.protocol ?? '?')} ${t(p.tls.cipher ?? '')}<br>subject ${t(p.tls.subject ?? '?')}; issuer ${t(p.tls.issuer ?? '?')}<br>valid ${t(p.tls.validFrom ?? '?')} – ${t(p.tls.validTo ?? '?')}; ${p.tls.authorized ? 'chain trusted' : `<strong class="bad">chain not trusted</strong> ${t(p.tls.authorizationError ?? '')}`}`
    : '<span class="muted">(not HTTPS, or not observed)</span>';
  return `<section class="details">
<h2>Capture ${index + 1}${total > 1 ? ` of ${total}` : ''}: technical record</h2>
<table class="facts wide">
${row('Capture id', code(m.captureId))}
${row('Submitted', `${time(m.request.submittedAt)} by ${t(m.request.requestedBy)}`)}
${p.redirects.length ? row('Redirects', p.redirects.map((r) => `${escapeHtml(r.status)} ${t(truncateMiddle(r.url, 200))}`).join('<br>')) : ''}
${row('Canonical URL', t(p.canonicalUrl ?? '(none)'))}
${row('Server address', `${t(p.remoteIp ?? '(unknown)')}${p.dns ? `; DNS ${t(p.dns.host)} → ${p.dns.addresses.length ? t(p.dns.addresses.join(', ')) : t(p.dns.error ?? '(no answer)')}` : ''}`)}
${row('TLS', tls)}
${row('Page language', `${t(p.lang ?? '?')}, direction ${t(p.dir ?? '?')}; ${escapeHtml(p.requestCount)} requests${p.blockedRequests.length ? `, <strong class="bad">${p.blockedRequests.length} blocked or failed</strong>` : ''}`)}
${row('Collector', `${t(env.collector.id)} ${t(env.collector.version)}, method ${t(env.captureMethod)}`)}
${row('Software', `Exhibit ${t(env.exhibitVersion)}${env.gitCommit ? ` (${code(env.gitCommit.slice(0, 12))})` : ''}; browser ${t(env.browserVersion)}; Playwright ${t(env.playwrightVersion)}; Node ${t(env.nodeVersion)}`)}
${row('Host', `${t(env.hostname)}, ${t(env.platform)}`)}
${row('User agent', t(env.userAgent))}
${row('Viewport, locale, time zone', `${escapeHtml(env.viewport.width)}×${escapeHtml(env.viewport.height)}, ${t(env.locale)}, ${t(env.timezone)}`)}
${row('Network egress', `${t(env.network.egressIp ?? 'unknown')}${env.network.egressIpError ? ` <span class="muted">(${t(env.network.egressIpError)})</span>` : ''}${env.network.proxy ? `; via proxy ${t(env.network.proxy)}` : ''}`)}
${row('Local addresses', t(env.network.localAddresses.join(', ') || '(none)'))}
${row('Sealed', `${time(m.sealedAt)} on ${t(m.sealer.hostname)} (Exhibit ${t(m.sealer.exhibitVersion)})`)}
${failedEnrichment.length ? row('Enrichment failures', failedEnrichment.map((e) => `${t(e.artifact)} ${escapeHtml(e.step)}: ${t(truncateMiddle(e.message ?? ''))}`).join('<br>')) : ''}
</table>
<h3>Artifacts (${m.artifacts.length}: ${originals.length} original, ${m.artifacts.length - originals.length} derived)</h3>
<p class="note">Paths are relative to ${code(`data/captures/${m.captureId}/`)}. Digests are hexadecimal, as printed by ${code('sha256sum')} and ${code('sha512sum')}. Originals are the bytes exactly as captured; derived files were made from them afterwards and are labelled with their source.</p>
<h4>Originals</h4>
${originals.map((a) => artifactBlock(c, a)).join('\n')}
${derived.length ? '<h4>Derived artifacts</h4>' : ''}
${derived.map((g) => `<div class="dgroup"><div class="dgroup-head">From ${t(g.source)} <span class="muted">(SHA-256 ${escapeHtml(hexOf(g.sourceSha256).slice(0, 16))}…)</span></div>${g.artifacts.map((a) => artifactBlock(c, a)).join('\n')}</div>`).join('\n')}
</section>`;
}

const ACTION_STYLE: Record<CustodyAction, { glyph: string; cls: string }> = {
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
};
const actionLabel = (a: string) => a.charAt(0).toUpperCase() + a.slice(1).replace(/-/g, ' ');

/** Details worth a line each, by action; others show every key. Long values are shortened. */
const DETAIL_SKIP = new Set(['sha512', 'storeKey', 'jobId', 'manifestKey', 'idempotencyKey']);
function detailLines(e: CustodyEvent): string[] {
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

function actorHtml(e: CustodyEvent): string {
  const a = e.actor;
  return `${t(a.id)} <span class="muted">(${escapeHtml(a.type)}, ${t(a.role)})</span>${a.authorisedBy ? ` <span class="auth">authorised by ${t(a.authorisedBy)}</span>` : ''}`;
}

function timeline(input: CertificateInput): string {
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
const fmtName = (e: CustodyEvent) => (typeof e.details.name === 'string' ? e.details.name : (e.subject.digests?.[0] ?? ''));

function appendix(c: CertificateCapture, index: number, total: number, shot: Shot | null): string {
  const m = c.manifest;
  const title = `A${total > 1 ? `.${index + 1}` : ''} Full-page screenshot, capture ${index + 1}`;
  if (!shot) return `<section class="appendix"><h2>${escapeHtml(title)}</h2><p>No screenshot was embedded (none captured, or too large to embed). The original is in the package; see the artifact list.</p></section>`;
  // Shown 120 mm wide, cut into slices that each fit one A4 page.
  const widthMm = 120;
  const sliceMm = 232;
  const heightMm = (widthMm * shot.height) / shot.width;
  const n = Math.max(1, Math.ceil(heightMm / sliceMm - 1e-9));
  const slices = Array.from({ length: n }, (_, k) => {
    const h = Math.min(sliceMm, heightMm - k * sliceMm);
    const fromPx = Math.round((k * sliceMm * shot.height) / heightMm);
    const toPx = Math.min(shot.height, Math.round(((k * sliceMm + h) * shot.height) / heightMm));
    return `<figure class="slice"><figcaption>Part ${k + 1} of ${n} · pixel rows ${fromPx}–${toPx} of ${shot.height}</figcaption><div class="shot ${shot.cls}" role="img" aria-label="Screenshot, part ${k + 1} of ${n}" style="width: ${widthMm}mm; height: ${h.toFixed(3)}mm; background-size: ${widthMm}mm auto; background-position: 0 -${(k * sliceMm).toFixed(3)}mm"></div></figure>`;
  });
  const shotArtifact = m.artifacts.find((a) => a.role === 'screenshot' && !a.derivedFrom);
  return `<section class="appendix"><h2>${escapeHtml(title)}</h2>
<p class="note">${shot.width}×${shot.height} px${shotArtifact ? `, ${code(shotArtifact.name)} (SHA-256 ${code(hexOf(shotArtifact.sha256))})` : ''}, shown at reduced width and cut into page-sized parts. The original file in the package is the evidence; this is a reproduction.</p>
${slices.join('\n')}</section>`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The caption under a multi-capture thumbnail: what the image is, and where the evidence is. */
function shownFromNote(c: CertificateCapture, shotArtifact: Artifact | undefined): string {
  const from = c.screenshotShownFrom ? c.manifest.artifacts.find((a) => a.name === c.screenshotShownFrom) : shotArtifact;
  if (!from) return 'Reduced reproduction.';
  return from === shotArtifact
    ? 'Reduced reproduction of the screenshot.'
    : `Reduced from the sealed thumbnail ${escapeHtml(c.bagPathOf(from).replace(`data/captures/${c.manifest.captureId}/`, ''))} (SHA-256 ${escapeHtml(hexOf(from.sha256).slice(0, 16))}…).`;
}

/** One capture of many: thumbnail, who/what/when, seal status, and the digests of the screenshot and manifest. */
function captureEntry(c: CertificateCapture, index: number, total: number, shot: Shot | null): string {
  const m = c.manifest;
  const env = m.environment;
  const seal = sealState(c);
  const shotArtifact = m.artifacts.find((a) => a.role === 'screenshot' && !a.derivedFrom);
  // 38 mm wide; a tall page shows its top 56 mm (the whole page is the screenshot file).
  const boxMm = shot ? Math.min(56, (38 * shot.height) / shot.width) : 0;
  const whole = shot ? (38 * shot.height) / shot.width <= 56 : false;
  const figure = shot
    ? `<figure class="thumb"><div class="shot ${shot.cls}" role="img" aria-label="Screenshot of capture ${index + 1}, reduced" style="height: ${boxMm.toFixed(2)}mm"></div><figcaption>${whole ? 'Whole page' : 'Top of the page'}. ${shownFromNote(c, shotArtifact)}</figcaption></figure>`
    : '<figure class="thumb none"><p>No screenshot shown (none captured, or no sealed thumbnail); see the files of this capture.</p></figure>';
  const ts = c.timestamps[0];
  const tsa = ts ? `${time(ts.genTime)} <span class="muted">by</span> ${t(ts.tsaName ?? ts.signerSubject)} <span class="muted">(local clock ${ts.clockSkewMs === 0 ? 'equal' : `${Math.abs(ts.clockSkewMs)} ms ${ts.clockSkewMs > 0 ? 'ahead' : 'behind'}`})</span>${c.timestamps.length > 1 ? ` <span class="muted">+${c.timestamps.length - 1} more</span>` : ''}` : '<strong class="bad">no timestamp token: this capture is unsealed</strong>';
  const text = postTexts(m)[0];
  const line = (label: string, html: string) => `<div class="l"><span class="k">${escapeHtml(label)}</span>${html}</div>`;
  const nOrig = m.artifacts.filter((a) => !a.derivedFrom).length;
  return `<section class="entry">
${figure}
<div class="ebody">
<h3>Capture ${index + 1} of ${total} ${badge(seal)}${m.status === 'failed' ? ' <span class="badge bad">CAPTURE FAILED</span>' : ''}</h3>
<p class="title" dir="auto">${escapeHtml(truncateMiddle(m.page.title ?? m.request.url, 200))}</p>
${line('URL', `${t(truncateMiddle(m.request.url, 300))}${m.page.finalUrl && m.page.finalUrl !== m.request.url ? ` <span class="muted">→</span> ${t(truncateMiddle(m.page.finalUrl, 300))}` : ''} <span class="muted">· HTTP ${escapeHtml(m.page.status ?? '(none)')}${m.page.redirects.length ? ` after ${plural(m.page.redirects.length, 'redirect')}` : ''} · server ${t(m.page.remoteIp ?? 'unknown')}</span>`)}
${m.failure ? line('Failure', `<strong class="bad">${t(m.failure.code)}</strong>: ${t(truncateMiddle(m.failure.message))}`) : ''}
${line('Captured', `${time(env.startedAt)} <span class="muted">host clock · TSA</span> ${tsa}`)}
${line('Operator', `${t(env.operator)}${m.request.requestedBy !== env.operator ? ` (requested by ${t(m.request.requestedBy)})` : ''} <span class="muted">· legal basis</span> ${t(truncateMiddle(m.request.legalBasis ?? '(none given)', 200))}`)}
${line('Screenshot', shotArtifact ? `${code(`artifacts/${shotArtifact.name}`)} SHA-256 ${code(hexOf(shotArtifact.sha256))}` : '<span class="muted">(none captured)</span>')}
${line('Manifest', `${code('manifest.json')} SHA-256 ${code(hexOf(c.manifestDigest))}${c.signature ? `<br><span class="muted">signed with Ed25519 key</span> ${code(hexOf(c.signature.keyFingerprint))}` : ' <strong class="bad">not signed</strong>'}`)}
${line('Files', `${code(`data/captures/${m.captureId}/`)} ${plural(m.artifacts.length, 'artifact')} (${nOrig} original, ${m.artifacts.length - nOrig} derived)`)}
${seal.sealed ? '' : line('Status', `<strong class="bad">${escapeHtml(seal.reasons.join('; '))}</strong>`)}
${text ? `<div class="l"><span class="k">${escapeHtml(text.label)}</span>${textBlock(truncateMiddle(text.text, 300))}</div>` : ''}
</div>
</section>`;
}

/**
 * The custody log condensed for many captures: one line per capture of this package (how many
 * events, from when to when, which actions, by whom), and each other event on a line of its own.
 */
function condensedCustody(input: CertificateInput): string {
  const capNo = new Map(input.captures.map((c, i) => [c.manifest.captureId, i + 1]));
  const groups = new Map<string, CustodyEvent[]>();
  const rows: Array<{ seq: number; html: string }> = [];
  for (const e of input.events) {
    const id = e.subject.captureId;
    if (id && capNo.has(id)) {
      const g = groups.get(id);
      if (g) g.push(e);
      else groups.set(id, [e]);
    } else {
      const style = ACTION_STYLE[e.action] ?? { glyph: '•', cls: 'other' };
      const what = `${escapeHtml(actionLabel(e.action))}${id ? ` <span class="muted">(capture not in this package ${code(id)})</span>` : ''}`;
      rows.push({ seq: e.seq, html: `<tr class="${style.cls}"><td class="num">#${e.seq}</td><td>${time(e.time)}</td><td>${what}</td><td>${actorHtml(e)}</td></tr>` });
    }
  }
  for (const [id, evs] of groups) {
    const counts = new Map<string, number>();
    for (const e of evs) counts.set(e.action, (counts.get(e.action) ?? 0) + 1);
    const actions = [...counts].map(([a, n]) => (n > 1 ? `${n}× ${actionLabel(a).toLowerCase()}` : actionLabel(a).toLowerCase())).join(', ');
    const failed = evs.some((e) => ACTION_STYLE[e.action]?.cls === 'failure');
    const actors = [...new Map(evs.map((e) => [`${e.actor.id}\n${e.actor.authorisedBy ?? ''}`, e])).values()];
    const first = evs[0]!;
    const last = evs[evs.length - 1]!;
    rows.push({
      seq: first.seq,
      html: `<tr class="${failed ? 'failure' : 'capture'}"><td class="num">#${first.seq}${evs.length > 1 ? `–${last.seq}` : ''}</td><td>${time(first.time)}${evs.length > 1 ? `<br>${time(last.time)}` : ''}</td><td><strong>Capture ${capNo.get(id)}</strong>: ${plural(evs.length, 'event')} — ${escapeHtml(actions)}</td><td>${actors.slice(0, 3).map(actorHtml).join('<br>')}${actors.length > 3 ? `<br><span class="muted">+${actors.length - 3} more</span>` : ''}</td></tr>`,
    });
  }
  rows.sort((a, b) => a.seq - b.seq);
  return `<table class="index ctable"><thead><tr><th>Events</th><th>Time (UTC)</th><th>What</th><th>By</th></tr></thead><tbody>${rows.map((r) => r.html).join('\n')}</tbody></table>`;
}

/** The certificate as one self-contained HTML document. */
export function renderCertificateHtml(input: CertificateInput): string {
  const shots = input.captures.map((c, i) => screenshotOf(c, i));
  const total = input.captures.length;
  const states = input.captures.map(sealState);
  const allSealed = states.every((s) => s.sealed);
  const head = input.head
    ? `<p class="headbox">The log head — event ${input.head.seq}, hash ${code(input.head.hash)} — was signed at ${time(input.head.time)}${input.head.timestamps.length ? ` and timestamped at ${input.head.timestamps.map((ts) => `${time(ts.genTime)} by ${t(ts.tsaName ?? ts.signerSubject)}`).join(', ')}` : ' <strong class="bad">(no timestamp)</strong>'}. Any later change to events 1–${input.head.seq} would break this signature.</p>`
    : '<p class="headbox"><strong class="bad">No signed head.</strong></p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CERTIFICATE_CSP}">
<meta name="referrer" content="no-referrer">
<title>Evidence certificate — case ${escapeHtml(input.caseId)}</title>
<style>
@page { size: A4; margin: 14mm 12mm 16mm; @bottom-center { content: "Page " counter(page) " of " counter(pages); font-size: 7pt; color: #555; } }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font-family: "Noto Sans", "Noto Sans Arabic", "Noto Naskh Arabic", "Noto Sans Hebrew", "DejaVu Sans", "Noto Color Emoji", sans-serif; margin: 0 auto; max-width: 186mm; color: #15181c; font-size: 9pt; line-height: 1.35; }
h1, h2, h3, h4 { font-family: "Noto Serif", "Noto Naskh Arabic", "DejaVu Serif", serif; break-after: avoid; }
h1 { font-size: 19pt; margin: 0; letter-spacing: .02em; }
h2 { font-size: 13pt; margin: 0 0 2.5mm; padding-bottom: 1mm; border-bottom: 1.5px solid #1d2f4a; color: #1d2f4a; }
h3 { font-size: 10.5pt; margin: 4mm 0 1.5mm; } h4 { font-size: 9.5pt; margin: 3mm 0 1.5mm; color: #1d2f4a; }
code, pre, .dg, time, .seq { font-family: "DejaVu Sans Mono", "Noto Mono", "Liberation Mono", monospace; }
code { font-size: .92em; overflow-wrap: anywhere; }
.muted { color: #5b6470; } .bad { color: #a40000; } .k { color: #5b6470; margin-inline-end: .4em; }
.note { font-size: 8pt; color: #3d4652; margin: 1mm 0 2mm; }
[dir="auto"], .captured { unicode-bidi: plaintext; }
.masthead { border: 2px solid #1d2f4a; border-radius: 2mm; padding: 3mm 4mm; display: flex; justify-content: space-between; align-items: center; gap: 4mm; }
.masthead .org { font-size: 8.5pt; text-transform: uppercase; letter-spacing: .12em; color: #5b6470; }
.masthead .case { font-size: 11pt; margin-top: 1mm; }
.masthead .meta { text-align: end; font-size: 8pt; color: #3d4652; }
.badge { display: inline-block; white-space: nowrap; font-family: "Noto Sans", sans-serif; font-size: 7.5pt; font-weight: 700; letter-spacing: .08em; padding: .3mm 2mm; border-radius: 1mm; color: #fff; vertical-align: middle; }
.badge.ok { background: #1e6b34; } .badge.bad { background: #a40000; }
.badge.big { font-size: 10pt; padding: 1mm 3mm; }
.intro { font-size: 8.5pt; color: #3d4652; margin: 2.5mm 0 3mm; }
table { border-collapse: collapse; width: 100%; }
.facts th, .facts td { text-align: start; vertical-align: top; padding: .7mm 1.5mm; border-bottom: .5px solid #d4d8de; }
.facts th { width: 36mm; font-weight: 600; color: #3d4652; font-size: 8pt; }
.facts.wide th { width: 40mm; }
.facts td { unicode-bidi: plaintext; overflow-wrap: anywhere; }
.card { break-inside: avoid; margin-top: 3mm; }
.card .title { font-size: 11.5pt; font-weight: 600; margin: 0 0 2mm; }
.capno { margin-inline-end: 2mm; }
.story { display: grid; grid-template-columns: 84mm 1fr; gap: 5mm; align-items: start; margin-top: 3mm; }
.preview { margin: 0; }
.preview .shot, .slice .shot { border: .5px solid #8a939e; background-repeat: no-repeat; background-position: top center; background-size: 100% auto; background-color: #fff; }
.preview figcaption, .slice figcaption { font-size: 7.5pt; color: #5b6470; margin-top: 1mm; }
.preview.none { border: .5px dashed #8a939e; padding: 3mm; font-size: 8pt; }
.post { border-inline-start: 3px solid #1d2f4a; padding-inline-start: 3mm; break-inside: avoid; }
.post h3 { margin-top: 1mm; } h3 .sub { font-family: "Noto Sans", sans-serif; font-weight: 400; font-size: 7.5pt; color: #5b6470; margin-inline-start: 2mm; }
time { white-space: nowrap; font-size: .92em; }
.ptext { margin-bottom: 1.5mm; } .plabel { display: block; font-size: 7.5pt; color: #5b6470; }
.captured { margin: 0; font-size: 9.5pt; white-space: pre-wrap; overflow-wrap: anywhere; }
.idline { font-size: 7.5pt; margin-top: 2mm; }
.details, .custody, .verify, .appendix { break-before: page; }
.art { border: .5px solid #c9ced6; border-radius: 1mm; padding: 1.2mm 2mm; margin-bottom: 1.5mm; break-inside: avoid; }
.art.derived { background: #f6f7f9; }
.art-head { font-weight: 600; } .art-name { overflow-wrap: anywhere; }
.art-meta { font-weight: 400; color: #3d4652; font-size: 8pt; margin-inline-start: 2mm; }
.tag { margin-inline-end: 1mm; font-size: 6.5pt; letter-spacing: .08em; border: .5px solid #1d2f4a; color: #1d2f4a; padding: 0 1mm; border-radius: .7mm; vertical-align: 1px; }
.derived .tag { border-color: #7a5a00; color: #7a5a00; }
.art-line { font-size: 8pt; overflow-wrap: anywhere; }
.fact { display: inline-block; max-width: 100%; margin-inline-end: 3mm; } .fact .k, .art-line > .k { margin-inline-end: 1.2mm; }
.dg { display: flex; gap: 2mm; font-size: 7.6pt; line-height: 1.3; }
.dg .alg { flex: none; width: 13mm; color: #5b6470; font-family: "Noto Sans", sans-serif; font-size: 7pt; padding-top: .2mm; }
.dg code { font-size: 7.6pt; width: 64ch; max-width: 100%; word-break: break-all; }
.dgroup { margin: 2mm 0 2.5mm; break-inside: auto; }
.dgroup-head { font-size: 8.5pt; font-weight: 600; margin-bottom: 1mm; break-after: avoid; }
.dgroup .art { margin-inline-start: 5mm; }
.headbox { font-size: 8.5pt; background: #f1f4f8; border: .5px solid #c9ced6; padding: 2mm 3mm; border-radius: 1mm; }
.legend { font-size: 7.5pt; color: #3d4652; margin: 0 0 3mm; }
.legend span { margin-inline-end: 3mm; white-space: nowrap; }
.timeline { list-style: none; margin: 0; padding: 0 0 0 7mm; border-inline-start: 1.2px solid #b9c0ca; margin-inline-start: 3mm; }
.ev { position: relative; margin: 0 0 2.2mm; break-inside: avoid; }
.marker { position: absolute; inset-inline-start: -10.3mm; top: 0; width: 5.5mm; height: 5.5mm; border-radius: 50%; color: #fff; font-family: "DejaVu Sans", sans-serif; font-size: 7.5pt; line-height: 5.5mm; text-align: center; }
.request .marker, .legend .request { background: #1f5fbf; } .capture .marker, .legend .capture { background: #127a80; } .seal .marker, .legend .seal { background: #1e6b34; }
.package .marker, .legend .package { background: #6b3fa0; } .failure .marker, .legend .failure { background: #a40000; } .access .marker, .legend .access { background: #5b6470; }
.watch .marker, .legend .watch { background: #b25b00; } .other .marker { background: #8a939e; }
.legend i { display: inline-block; width: 2.6mm; height: 2.6mm; border-radius: 50%; vertical-align: -.3mm; margin-inline-end: 1mm; }
.ev-head { font-size: 8.5pt; } .ev-head time, .ev-head .seq { font-size: 7.8pt; color: #3d4652; } .ev-head .seq { font-weight: 700; color: #15181c; margin-inline-end: 1mm; }
.ev-actor, .ev-subject, .ev-details { font-size: 8pt; overflow-wrap: anywhere; } .auth { color: #1d2f4a; font-style: italic; }
.ev-hash { font-size: 6.8pt; color: #5b6470; } .ev-hash code { font-size: 6.8pt; }
.runs-key { font-size: 7pt; color: #5b6470; margin-top: .8mm; }
.runs { list-style: none; margin: .5mm 0 0; padding: 0; columns: 2; column-gap: 5mm; column-rule: .3px solid #d4d8de; font-size: 7.2pt; }
.runs li { display: grid; grid-template-columns: 6mm 1fr 14mm; gap: 1.5mm; break-inside: avoid; border-bottom: .3px solid #e3e6ea; padding: .15mm 0; }
.runs code { font-size: 6.8pt; color: #3d4652; } .runs li > span:nth-child(2) { overflow-wrap: anywhere; }
.num { text-align: end; font-variant-numeric: tabular-nums; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 7.1pt; line-height: 1.3; background: #f6f7f9; border: .5px solid #c9ced6; padding: 2mm 2.5mm; margin: 0; }
.index { font-size: 8pt; margin-bottom: 2mm; } .index .ititle { margin: 0; font-weight: 600; } .index td { overflow-wrap: anywhere; }
.multi .card { break-before: page; margin-top: 0; } .index th, .index td { text-align: start; border-bottom: .5px solid #d4d8de; padding: .6mm 1.5mm; vertical-align: top; }
.slice { margin: 0 0 3mm; break-inside: avoid; } .slice .shot { background-position: 0 0; }
.entry { display: grid; grid-template-columns: 40mm 1fr; gap: 4mm; break-inside: avoid; border-top: .5px solid #c9ced6; padding: 2mm 0 2.5mm; }
.entry h3 { margin: 0 0 1mm; } .entry .title { font-weight: 600; margin: 0 0 1mm; }
.thumb { margin: 0; } .thumb .shot { width: 38mm; border: .5px solid #8a939e; background-repeat: no-repeat; background-position: top center; background-size: 100% auto; background-color: #fff; }
.thumb figcaption { font-size: 6.8pt; color: #5b6470; margin-top: .8mm; } .thumb.none { border: .5px dashed #8a939e; padding: 2mm; font-size: 7.5pt; color: #5b6470; }
.l { font-size: 8pt; overflow-wrap: anywhere; margin-bottom: .4mm; } .l > .k { display: inline-block; min-width: 20mm; } .l .captured { font-size: 8.5pt; }
.ctable td:first-child { white-space: nowrap; } .ctable tr { break-inside: avoid; } .ctable .failure td:first-child { color: #a40000; }
.appendix .slice + .slice { break-before: page; }
</style>
<style>${shots.map((s) => s?.css ?? '').join('\n')}</style>
</head>
<body class="${total > 1 ? 'multi' : 'single'}">
<header class="masthead">
<div><div class="org" dir="auto">${escapeHtml(input.organization)}</div><h1>Evidence certificate</h1><div class="case">Case ${t(input.caseId)}</div></div>
<div class="meta"><span class="badge big ${allSealed ? 'ok' : 'bad'}">${allSealed ? 'ALL CAPTURES SEALED' : 'NOT ALL CAPTURES SEALED'}</span><br>Package built ${time(input.generatedAt)}<br>by ${t(input.generatedBy)} · ${total} capture(s) · ${input.events.length} custody event(s)</div>
</header>
<p class="intro">This certificate describes the package it is part of. It is a convenience: the evidence is the files in the package, and anyone can check them with the standard tools described in “How to verify”, without trusting the software that made them. Text taken from captured pages is reproduced as received and may be false or hostile.</p>
${total > 1 ? multiBody(input, shots, head) : singleBody(input, shots, head)}
${input.authenticity ? authenticitySection(input.authenticity) : ''}
<section class="verify">
<h2>How to verify this package with standard tools</h2>
${input.verifyNote ? `<p class="note">${escapeHtml(input.verifyNote)}</p>` : ''}
<pre>${escapeHtml(input.verifyText)}</pre>
</section>
${total > 1 ? '' : input.captures.map((c, i) => appendix(c, i, total, shots[i] ?? null)).join('\n')}
</body>
</html>
`;
}

function authenticitySection(a: NonNullable<CertificateInput['authenticity']>): string {
  return `<section class="authenticity">
<h2>Who vouches for this package</h2>
<table class="kv">
<tr><th>Package</th><td>${code(a.packageId)}</td></tr>
<tr><th>Content manifest</th><td>${code(a.contentManifestDigest)} (recorded in the signed custody log as the <em>packaged</em> event)</td></tr>
<tr><th>Signing key</th><td>${code(a.signingKey)}</td></tr>
${a.tsaRoots.map((r) => `<tr><th>TSA root</th><td>${code(r.fingerprint)}<br>${escapeHtml(r.subject)}</td></tr>`).join('\n')}
</table>
<p class="note">The keys and certificates inside the package only show that it is internally consistent: anyone can make such a package with their own key. Before relying on it, confirm the signing key fingerprint and the TSA root fingerprint independently — with the sending agency by phone or letter, and with the time-stamping authority's published certificate — and pin them when verifying (${code('exhibit verify --signing-key … --tsa-ca …')} or ${code('exhibit trust add')}). This page is covered by the package seal (${code('package-seal.json')}), so a change to it is detected.</p>
</section>`;
}

function singleBody(input: CertificateInput, shots: Array<Shot | null>, head: string): string {
  const total = input.captures.length;
  return `${input.captures.map((c, i) => summaryCard(c, i, total, shots[i] ?? null)).join('\n')}
${input.captures.map((c, i) => detailsSection(c, i, total)).join('\n')}
<section class="custody">
<h2>Chain of custody</h2>
${head}
<p class="note">Times are UTC. Every event, with its full details and its hash chain, is in ${code('data/custody/events.jsonl')}; long values are shortened here.</p>
<p class="legend"><span><i class="request"></i>request</span><span><i class="capture"></i>capture</span><span><i class="seal"></i>sealing, signing, timestamping</span><span><i class="package"></i>packaging, export</span><span><i class="access"></i>access, verification</span><span><i class="watch"></i>watchlist</span><span><i class="failure"></i>failure</span></p>
${timeline(input)}
</section>`;
}

function multiBody(input: CertificateInput, shots: Array<Shot | null>, head: string): string {
  const total = input.captures.length;
  return `<p class="intro">The ${total} captures follow, each with a reduced screenshot and the SHA-256 of its full screenshot and of its signed manifest. The complete record of each capture — every file with its SHA-256 and SHA-512, and the network, TLS, browser and host facts — is its signed ${code('data/captures/<capture id>/manifest.json')}; the full-size screenshots are its ${code('artifacts/')} files. Times are UTC; “TSA” is the trusted time of the capture's RFC 3161 timestamp.</p>
<h2>Captures in this package</h2>
${input.captures.map((c, i) => captureEntry(c, i, total, shots[i] ?? null)).join('\n')}
<section class="custody">
<h2>Chain of custody</h2>
${head}
<p class="note">Times are UTC. One line per capture (its events need not be consecutive: captures run side by side), and one per other event. Every event, with its full details and its hash chain, is in ${code('data/custody/events.jsonl')}.</p>
${condensedCustody(input)}
</section>`;
}
