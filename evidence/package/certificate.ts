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
 * signed manifest — then the custody log condensed to one line per kind of event per capture, and the verification
 * text. Each entry says who said what (author, post text in its own direction, the platform's
 * published time) and what the platform showed, from the capture's sealed post.json. The full record of each capture (every artifact with both digests, network, TLS and
 * software facts) is its signed manifest in the package; printing it, and every screenshot at full
 * size, for every capture made a 200-capture certificate ~950 pages and minutes of rendering.
 *
 * Everything captured is hostile input: every string goes through `escapeHtml`, captured text
 * carries `dir="auto"` so Arabic/Hebrew render right-to-left, a CSP meta tag forbids scripts and
 * any network fetch, and the screenshot is embedded once, as a CSS background of an allow-listed
 * `data:` URI (checked against a strict pattern, so it cannot break out of the style sheet).
 */
import { readFileSync } from 'node:fs';
import { appendix, captureEntry, detailsSection, screenshotOf, sealState, summaryCard, type Shot } from './certificate-capture.js';
import { condensedCustody, timeline } from './certificate-custody.js';
import { code, escapeHtml, t, time, type CertificateInput } from './certificate-html.js';

export { EMBEDDABLE_IMAGE_TYPES, escapeHtml, truncateMiddle, type CertificateCapture, type CertificateInput } from './certificate-html.js';
export { imageDimensions, orderArtifacts } from './certificate-capture.js';
export { seqRuns } from './certificate-custody.js';

/**
 * Render `html` to a PDF file at `outPath` (e.g. Chromium `page.pdf`). `prepare`, when given, is
 * called as packaging starts so a slow start-up (a browser launch) overlaps the rest of the work.
 */
export type RenderPdf = ((html: string, outPath: string) => Promise<void>) & { prepare?: () => Promise<void> };

/** The Content-Security-Policy of the certificate: no scripts, no fetches, only data: images. */
export const CERTIFICATE_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

/** The certificate's style sheet (A4 print layout), read once when this module loads. */
const CERTIFICATE_CSS = readFileSync(new URL('./certificate.css', import.meta.url), 'utf8');

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
${CERTIFICATE_CSS}</style>
<style>${shots.map((s) => s?.css ?? '').join('\n')}</style>
</head>
<body class="${total > 1 ? 'multi' : 'single'}">
<header class="masthead">
<div><div class="org" dir="auto">${escapeHtml(input.organization)}</div><h1>Evidence certificate</h1><div class="case">Case ${t(input.caseId)}</div></div>
<div class="meta"><span class="badge big ${allSealed ? 'ok' : 'bad'}">${allSealed ? 'ALL CAPTURES SEALED' : 'NOT ALL CAPTURES SEALED'}</span><br>Package built ${time(input.generatedAt)}<br>by ${t(input.generatedBy)} · ${total} capture(s) · ${input.events.length} custody event(s)${input.elidedEvents ? ` (${input.elidedEvents} more elided)` : ''}</div>
</header>
<p class="intro">This certificate describes the package it is part of. It is a convenience: the evidence is the files in the package, and anyone can check them with the standard tools described in “How to verify”, without trusting the software that made them. Text taken from captured pages is reproduced as received and may be false or hostile.</p>
${total > 1 ? multiBody(input, shots, head) : singleBody(input, shots, head)}
${input.annotations?.captures.length ? annotationsSection(input.annotations) : ''}
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

/** Tags and notes: analysts' words about the evidence, never part of it — a section of their own. */
function annotationsSection(a: NonNullable<CertificateInput['annotations']>): string {
  const rows = a.captures.flatMap((c) => [
    ...c.tags.map((x) => `<tr><td>${code(c.captureId)}</td><td>tag</td><td>${t(x.tag)}</td><td>${t(x.by.id)}</td><td>${time(x.at)}</td><td>${x.seq}</td></tr>`),
    ...c.notes.map((x) => `<tr><td>${code(c.captureId)}</td><td>note</td><td><p class="captured" dir="auto">${escapeHtml(x.note)}</p></td><td>${t(x.by.id)}</td><td>${time(x.at)}</td><td>${x.seq}</td></tr>`),
  ]);
  return `<section class="annotations">
<h2>Analyst annotations (not evidence)</h2>
<p class="note">Tags and notes that analysts added after the captures were sealed. They are not evidence and change nothing in the captures: each is a custody event (who, when, what) in ${code('data/custody/events.jsonl')}, listed here and in ${code('data/annotations.json')} by its event number.</p>
<table class="kv"><thead><tr><th>Capture</th><th>Kind</th><th>Text</th><th>By</th><th>When (UTC)</th><th>Event</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
</section>`;
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
${input.elidedEvents ? `<p class="note">${input.elidedEvents} event(s) of the case's log concern captures or acts this package does not disclose: ${code('data/custody/events.jsonl')} holds only their sequence number and hashes, so the chain still links from the first event to the signed head.</p>` : ''}
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
${input.elidedEvents ? `<p class="note">${input.elidedEvents} event(s) of the case's log concern captures or acts this package does not disclose: ${code('data/custody/events.jsonl')} holds only their sequence number and hashes, so the chain still links from the first event to the signed head.</p>` : ''}
<p class="note">Times are UTC. For each capture, one line per kind of event: how many, their event numbers (captures run side by side, so one capture's events need not be consecutive), from when to when, and by whom; then every other event on a line of its own. Every event, with its full details and its hash chain, is in ${code('data/custody/events.jsonl')}.</p>
${condensedCustody(input)}
</section>`;
}
