/** The certificate's parts about each capture: its summary, technical record, artifact list and screenshot. */
import type { Artifact } from '../../schemas/artifact.js';
import type { CaptureManifest } from '../../schemas/manifest.js';
import type { Post, VisibilityState } from '../../schemas/post.js';
import { code, EMBEDDABLE_IMAGE_TYPES, escapeHtml, formatSize, hexOf, inZone, row, t, textBlock, time, truncateMiddle, type CertificateCapture } from './certificate-html.js';

export const DATA_URI = /^data:(image\/(?:png|jpeg|webp|gif));base64,([A-Za-z0-9+/]+={0,2})$/;

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

export interface Shot {
  cls: string;
  css: string;
  width: number;
  height: number;
}

/** The screenshot as one CSS rule (embedded once, used by the preview and the appendix slices). */
export function screenshotOf(c: CertificateCapture, index: number): Shot | null {
  const m = c.screenshotDataUri ? DATA_URI.exec(c.screenshotDataUri) : null;
  if (!m || !EMBEDDABLE_IMAGE_TYPES.has(m[1]!)) return null;
  const size = imageDimensions(Buffer.from(m[2]!.slice(0, 512 * 1024), 'base64'));
  if (!size) return null;
  const cls = `shot-${index + 1}`;
  // The pattern above admits only [A-Za-z0-9+/=;:,/] — nothing that can end the url(), the rule or the <style>.
  return { cls, css: `.${cls} { background-image: url("${c.screenshotDataUri}"); }`, ...size };
}

/** Originals (most telling first), then derivatives grouped under the source they were made from. */
export const ROLE_ORDER = ['screenshot', 'post', 'dom', 'mhtml', 'warc', 'wacz', 'page-facts', 'environment', 'media', 'other', 'metadata', 'thumbnail'];
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

export type SealState = { sealed: boolean; label: string; reasons: string[] };
export function sealState(c: CertificateCapture): SealState {
  const reasons: string[] = [];
  if (!c.signature) reasons.push('not signed');
  if (c.timestamps.length === 0) reasons.push('no timestamp token: this capture is unsealed');
  return reasons.length ? { sealed: false, label: 'UNSEALED', reasons } : { sealed: true, label: 'SEALED', reasons: ['signed (Ed25519) and timestamped (RFC 3161)'] };
}

export const badge = (s: SealState) => `<span class="badge ${s.sealed ? 'ok' : 'bad'}">${escapeHtml(s.label)}</span>`;

export function tsaLines(c: CertificateCapture): string {
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
export function postTexts(m: CaptureManifest): Array<{ label: string; text: string }> {
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

export function summaryCard(c: CertificateCapture, index: number, total: number, shot: Shot | null): string {
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
<h2><span class="capno">Capture ${index + 1}${total > 1 ? ` of ${total}` : ''}</span> ${badge(seal)}</h2>
<p class="title" dir="auto">${escapeHtml(m.page.title ?? m.request.url)}</p>
<table class="facts">
${row('Requested URL', t(m.request.url))}
${row('Final URL', t(m.page.finalUrl ?? '(none)'))}
${row('HTTP status', `${escapeHtml(m.page.status ?? '(none)')}${m.page.redirects.length ? ` after ${m.page.redirects.length} redirect(s)` : ''}`)}
${row('Server address', t(m.page.remoteIp ?? '(unknown)'))}
${outcomeRow(c)}
${c.post?.post ? row('Author', `${authorHtml(c.post.post.author) ?? '<span class="muted">not stated</span>'} <span class="muted">on</span> ${t(c.post.platform)}`) : ''}
${c.post?.post ? row('Published', publishedHtml(c.post.post) ?? '<span class="muted">not stated by the platform</span>') : ''}
${row('Requested by', operatorHtml(m))}
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

export function digestLines(a: Artifact): string {
  return `<div class="dg"><span class="alg">SHA-256</span>${code(hexOf(a.sha256))}</div><div class="dg"><span class="alg">SHA-512</span>${code(hexOf(a.sha512))}</div>`;
}

export function artifactBlock(c: CertificateCapture, a: Artifact): string {
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

export function detailsSection(c: CertificateCapture, index: number, total: number): string {
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

export function appendix(c: CertificateCapture, index: number, total: number, shot: Shot | null): string {
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

export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The caption under a multi-capture thumbnail: what the image is, and where the evidence is. */
export function shownFromNote(c: CertificateCapture, shotArtifact: Artifact | undefined): string {
  const from = c.screenshotShownFrom ? c.manifest.artifacts.find((a) => a.name === c.screenshotShownFrom) : shotArtifact;
  if (!from) return 'Reduced reproduction.';
  return from === shotArtifact
    ? 'Reduced reproduction of the screenshot.'
    : `Reduced from the sealed thumbnail ${escapeHtml(c.bagPathOf(from).replace(`data/captures/${c.manifest.captureId}/`, ''))} (SHA-256 ${escapeHtml(hexOf(from.sha256).slice(0, 16))}…).`;
}

/** What the platform showed, as a sentence part (the certificate never writes "failed" beside "sealed"). */
export const PLATFORM_SHOWED: Record<VisibilityState, string> = {
  visible: 'the post',
  'login-wall': 'the platform showed a login wall',
  deleted: 'deleted by the platform',
  unavailable: 'the platform said it is not available, giving no reason',
  'age-gated': 'the platform showed an age gate',
  'region-gated': 'the platform did not show it in this region',
  'rate-limited': 'the platform refused to answer (rate limited)',
  'not-recognised': 'not recognised — review',
};

/** `dir` of captured text: as stated (or read from the first strong character by the collector), else left to the reader's browser. */
const dirOf = (p: Post) => p.text?.direction ?? 'auto';

/** Display name and handle, each isolated so an Arabic name does not reorder the handle. */
export function authorHtml(a: { displayName: string | null; handle: string | null } | null | undefined): string | null {
  if (!a || (!a.displayName && !a.handle)) return null;
  const name = a.displayName ? `<span class="aname" dir="auto">${escapeHtml(a.displayName)}</span>` : '';
  const handle = a.handle ? `<span class="ahandle" dir="ltr">@${escapeHtml(a.handle.replace(/^@/, ''))}</span>` : '';
  return name && handle ? `${name} ${handle}` : name || handle;
}

/** The platform's published time: its UTC reading, and its own words when they differ. */
export function publishedHtml(p: Post): string | null {
  const pub = p.published;
  if (!pub) return null;
  if (!pub.utc) return `<span dir="auto">${escapeHtml(pub.raw)}</span> <span class="muted">(as the platform states it)</span>`;
  return `${time(pub.utc)}${pub.raw !== pub.utc ? ` <span class="muted">platform:</span> <span dir="auto">${escapeHtml(truncateMiddle(pub.raw, 80))}</span>` : ''}`;
}

/** The first lines of the post text, in its own direction and (when the platform states it) language. */
export function excerptHtml(p: Post, max = 400): string {
  if (!p.text?.content.trim()) return '<p class="excerpt muted">(no text)</p>';
  const lines = p.text.content.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const shown = lines.slice(0, 4).join('\n');
  const chars = [...shown];
  const cut = chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : `${shown}${lines.length > 4 ? ' …' : ''}`;
  const lang = p.text.language ? ` lang="${escapeHtml(p.text.language)}"` : '';
  return `<p class="excerpt captured" dir="${dirOf(p)}"${lang}>${escapeHtml(cut)}</p>`;
}

/** Who asked for the capture: a command-line operator (the name given, OS user and host) or a signed-in web user. */
export function operatorHtml(m: CaptureManifest): string {
  const r = m.request;
  if (r.operator) return `${t(r.operator.name)} <span class="muted">— command-line operator: OS user</span> ${t(r.operator.osUser)} <span class="muted">on host</span> ${t(r.operator.host)}`;
  if (r.user) return `${t(r.user.name)} <span class="muted">— signed-in web user (${escapeHtml(r.user.role)})</span>`;
  const env = m.environment;
  return `${t(r.requestedBy)}${env.operator !== r.requestedBy ? ` <span class="muted">(capture run as</span> ${t(env.operator)}<span class="muted">)</span>` : ''}`;
}

/** The content of an entry: the post, the posts of a list page, or what the platform showed instead. */
function contentHtml(c: CertificateCapture): string {
  const m = c.manifest;
  const doc = c.post;
  const line = (label: string, html: string) => `<div class="l"><span class="k">${escapeHtml(label)}</span>${html}</div>`;
  if (!doc) {
    const text = postTexts(m)[0];
    return `${line('Page title', `<span dir="auto">${escapeHtml(truncateMiddle(m.page.title ?? '(none)', 200))}</span>`)}
${m.failure ? line('Outcome', `<span class="shown">the page was not captured</span>: ${t(truncateMiddle(m.failure.message))} <span class="muted">(${escapeHtml(m.failure.code)})</span>`) : ''}
${text ? `<div class="l"><span class="k">${escapeHtml(text.label)}</span>${textBlock(truncateMiddle(text.text, 300))}</div>` : ''}`;
  }
  const v = doc.visibility;
  const parts: string[] = [];
  const platform = `<span class="muted">on</span> ${t(doc.platform)}`;
  if (v.state !== 'visible') {
    parts.push(line('Platform showed', `<span class="shown">${escapeHtml(PLATFORM_SHOWED[v.state])}</span>${v.reason ? ` <span class="muted">—</span> ${t(truncateMiddle(v.reason, 200))}` : ''}`));
  }
  const post = doc.post;
  if (post) {
    parts.push(line('Author', `${authorHtml(post.author) ?? '<span class="muted">not stated</span>'} ${platform}`));
    parts.push(line('Published', publishedHtml(post) ?? '<span class="muted">not stated by the platform</span>'));
    parts.push(excerptHtml(post));
    if (post.media.length) parts.push(line('Media', escapeHtml(plural(post.media.length, 'item'))));
  } else if (doc.replies.length) {
    const who = doc.profile ? authorHtml(doc.profile) : null;
    parts.push(line(doc.profile?.kind === 'channel' ? 'Channel' : 'Page', `${who ?? t(doc.pageUrl)} ${platform} <span class="muted">· ${plural(doc.replies.length, 'post')} shown</span>`));
    for (const p of doc.replies.slice(0, 3)) {
      parts.push(`<div class="listed">${line('Post', `${authorHtml(p.author) ?? ''} ${publishedHtml(p) ?? ''}`)}${excerptHtml(p, 200)}</div>`);
    }
    if (doc.replies.length > 3) parts.push(`<div class="l muted">… and ${doc.replies.length - 3} more in ${code('post.json')}</div>`);
  } else if (v.state === 'visible') {
    parts.push(line('Post', `<span class="muted">none read</span> ${platform}`));
  }
  if (doc.review.length) parts.push(line('Review', t(truncateMiddle(doc.review.map((r) => r.message).join('; '), 200))));
  return parts.join('\n');
}

/** What was observed, in words: what the platform showed (from post.json), or why the page was not captured. */
function outcomeRow(c: CertificateCapture): string {
  const v = c.post?.visibility;
  if (v && v.state !== 'visible') return row('Platform showed', `<span class="shown">${escapeHtml(PLATFORM_SHOWED[v.state])}</span>${v.reason ? ` — ${t(v.reason)}` : ''}`);
  const f = c.manifest.failure;
  return f ? row('Outcome', `<span class="shown">the page was not captured</span>: ${t(f.message)} <span class="muted">(${escapeHtml(f.code)})</span>`) : '';
}

/** One capture of many: who said what and when, what the platform showed, seal status, and the digests of the screenshot and manifest. */
export function captureEntry(c: CertificateCapture, index: number, total: number, shot: Shot | null): string {
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
  const line = (label: string, html: string) => `<div class="l"><span class="k">${escapeHtml(label)}</span>${html}</div>`;
  const nOrig = m.artifacts.filter((a) => !a.derivedFrom).length;
  return `<section class="entry">
${figure}
<div class="ebody">
<h3>Capture ${index + 1} of ${total} ${badge(seal)}</h3>
${contentHtml(c)}
${line('URL', `${t(truncateMiddle(m.request.url, 300))}${m.page.finalUrl && m.page.finalUrl !== m.request.url ? ` <span class="muted">→</span> ${t(truncateMiddle(m.page.finalUrl, 300))}` : ''} <span class="muted">· HTTP ${escapeHtml(m.page.status ?? '(none)')}${m.page.redirects.length ? ` after ${plural(m.page.redirects.length, 'redirect')}` : ''} · server ${t(m.page.remoteIp ?? 'unknown')}</span>`)}
${line('Captured', `${time(env.startedAt)} <span class="muted">host clock · TSA</span> ${tsa}`)}
${line('Requested by', `${operatorHtml(m)} <span class="muted">· legal basis</span> ${t(truncateMiddle(m.request.legalBasis ?? '(none given)', 200))}`)}
${line('Screenshot', shotArtifact ? `${code(`artifacts/${shotArtifact.name}`)} SHA-256 ${code(hexOf(shotArtifact.sha256))}` : '<span class="muted">(none captured)</span>')}
${line('Manifest', `${code('manifest.json')} SHA-256 ${code(hexOf(c.manifestDigest))}${c.signature ? `<br><span class="muted">signed with Ed25519 key</span> ${code(hexOf(c.signature.keyFingerprint))}` : ' <strong class="bad">not signed</strong>'}`)}
${line('Files', `${code(`data/captures/${m.captureId}/`)} ${plural(m.artifacts.length, 'artifact')} (${nOrig} original, ${m.artifacts.length - nOrig} derived)`)}
${seal.sealed ? '' : line('Status', `<strong class="bad">${escapeHtml(seal.reasons.join('; '))}</strong>`)}
</div>
</section>`;
}
