/**
 * The human-readable certificate of a package (HTML; PDF through an injected renderer, since
 * evidence/ must not import Playwright — workers/app pass a Chromium-backed `RenderPdf`).
 *
 * Everything captured is hostile input: every string goes through `escapeHtml`, captured text
 * carries `dir="auto"` so Arabic/Hebrew render right-to-left, a CSP meta tag forbids scripts and
 * any network fetch, and the screenshot is embedded as a `data:` URI of an allow-listed image type.
 */
import type { Artifact } from '../schemas/artifact.js';
import type { CustodyEvent, SignatureRecord, TimestampRecord } from '../schemas/custody.js';
import type { CaptureManifest } from '../schemas/manifest.js';

/** Render `html` to a PDF file at `outPath` (e.g. Chromium `page.pdf`). */
export type RenderPdf = (html: string, outPath: string) => Promise<void>;

/** Image types that may be embedded as data: URIs. */
export const EMBEDDABLE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);

export interface CertificateCapture {
  manifest: CaptureManifest;
  manifestDigest: string;
  signature: SignatureRecord | null;
  timestamps: TimestampRecord[];
  /** `data:image/...;base64,...` of the screenshot (or its thumbnail), or null when too large/absent. */
  screenshotDataUri: string | null;
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
  /** The plain-language verification text (VERIFY.txt). */
  verifyText: string;
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const t = (v: unknown) => `<span dir="auto">${escapeHtml(v)}</span>`;
const code = (v: unknown) => `<code>${escapeHtml(v)}</code>`;

function row(label: string, valueHtml: string): string {
  return `<tr><th scope="row">${escapeHtml(label)}</th><td>${valueHtml}</td></tr>`;
}

function captureSection(c: CertificateCapture, index: number): string {
  const m = c.manifest;
  const env = m.environment;
  const tsa = c.timestamps.length
    ? c.timestamps.map((ts) => `${code(ts.genTime)} by ${t(ts.tsaName ?? ts.tsaUrl)} (local clock ${ts.clockSkewMs >= 0 ? '+' : ''}${ts.clockSkewMs} ms)`).join('<br>')
    : '<strong class="bad">no timestamp token: this capture is unsealed</strong>';
  const artifacts = m.artifacts
    .map(
      (a) =>
        `<tr><td>${t(a.name)}${a.derivedFrom ? `<br><em>derived from ${t(a.derivedFrom.source)} by ${t(a.derivedFrom.method)} (${t(a.derivedFrom.tool)})</em>` : ''}</td><td>${escapeHtml(a.role)}</td><td>${escapeHtml(a.mediaType)}</td><td class="num">${a.size}</td><td class="hash">${code(a.sha256)}<br>${code(a.sha512)}</td><td>${code(c.bagPathOf(a))}</td></tr>`,
    )
    .join('\n');
  return `<section class="capture">
<h2>Capture ${index + 1}: ${t(m.page.title ?? m.request.url)}</h2>
${c.screenshotDataUri ? `<figure><img alt="Screenshot of the captured page" src="${escapeHtml(c.screenshotDataUri)}"><figcaption>Screenshot as captured (see the artifact list for the original file).</figcaption></figure>` : '<p><em>No screenshot embedded (none captured, or too large to embed; see artifacts).</em></p>'}
<table class="facts">
${row('Capture id', code(m.captureId))}
${row('Status', `${escapeHtml(m.status)}${m.failure ? ` — ${t(m.failure.code)}: ${t(m.failure.message)}` : ''}`)}
${row('Requested URL', t(m.request.url))}
${row('Final URL', t(m.page.finalUrl ?? '(none)'))}
${row('HTTP status', escapeHtml(m.page.status ?? '(none)'))}
${row('Server IP address', t(m.page.remoteIp ?? '(unknown)'))}
${row('Requested by', t(m.request.requestedBy))}
${row('Operator', t(env.operator))}
${row('Legal basis', t(m.request.legalBasis ?? '(none given)'))}
${row('Capture time (local clock)', `${code(env.startedAt)} – ${code(env.finishedAt)}`)}
${row('TSA time', tsa)}
${row('Sealed at', code(m.sealedAt))}
${row('Manifest SHA-256', code(c.manifestDigest))}
${row('Signature', c.signature ? `Ed25519, key ${code(c.signature.keyFingerprint)}` : '<strong class="bad">not signed</strong>')}
${row('Environment', `${t(env.collector.id)} ${t(env.collector.version)}; Exhibit ${t(env.exhibitVersion)}; ${t(env.browserVersion)}; Playwright ${t(env.playwrightVersion)}; ${t(env.platform)}; host ${t(env.hostname)}`)}
${row('User agent', t(env.userAgent))}
${row('Viewport, locale, time zone', `${env.viewport.width}×${env.viewport.height}, ${t(env.locale)}, ${t(env.timezone)}`)}
${row('Network egress', `${t(env.network.egressIp ?? 'unknown')}${env.network.proxy ? ` via proxy ${t(env.network.proxy)}` : ''}`)}
${row('Capture method', t(env.captureMethod))}
</table>
<h3>Artifacts</h3>
<table class="artifacts"><thead><tr><th>Name</th><th>Role</th><th>Type</th><th>Bytes</th><th>SHA-256 / SHA-512</th><th>In this package</th></tr></thead>
<tbody>
${artifacts}
</tbody></table>
</section>`;
}

/** The certificate as one self-contained HTML document. */
export function renderCertificateHtml(input: CertificateInput): string {
  const timeline = input.events
    .map(
      (e) =>
        `<tr><td class="num">${e.seq}</td><td>${code(e.time)}</td><td>${escapeHtml(e.action)}</td><td>${t(e.actor.id)} (${escapeHtml(e.actor.type)}, ${t(e.actor.role)}${e.actor.authorisedBy ? `, authorised by ${t(e.actor.authorisedBy)}` : ''})</td><td>${e.subject.captureId ? code(e.subject.captureId) : ''}</td><td class="hash">${code(e.hash)}</td></tr>`,
    )
    .join('\n');
  const head = input.head
    ? `<p>The log head — event ${input.head.seq}, hash ${code(input.head.hash)} — was signed at ${code(input.head.time)}${input.head.timestamps.length ? ` and timestamped at ${input.head.timestamps.map((ts) => code(ts.genTime)).join(', ')}` : ' (no timestamp)'}.</p>`
    : '<p><strong class="bad">No signed head.</strong></p>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>Evidence certificate — case ${escapeHtml(input.caseId)}</title>
<style>
body { font-family: "Noto Sans", "Noto Sans Arabic", "Noto Naskh Arabic", "Noto Sans Hebrew", "DejaVu Sans", sans-serif; margin: 2em; color: #111; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-top: 2px solid #333; padding-top: .6em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1em; font-size: .85em; }
th, td { border: 1px solid #bbb; padding: .25em .4em; vertical-align: top; text-align: start; unicode-bidi: plaintext; }
.facts th { width: 14em; background: #f3f3f3; }
code { font-family: "Noto Sans Mono", "DejaVu Sans Mono", monospace; font-size: .95em; word-break: break-all; }
.hash code { font-size: .8em; } .num { text-align: end; }
img { max-width: 100%; max-height: 60em; border: 1px solid #999; }
.bad { color: #a00; } pre { white-space: pre-wrap; font-size: .8em; background: #f6f6f6; padding: 1em; }
section { page-break-inside: auto; }
</style>
</head>
<body>
<h1>Evidence certificate</h1>
<table class="facts">
${row('Case', t(input.caseId))}
${row('Issued by', t(input.organization))}
${row('Package built', `${code(input.generatedAt)} by ${t(input.generatedBy)}`)}
${row('Captures', String(input.captures.length))}
${row('Custody events', String(input.events.length))}
</table>
<p>This certificate describes the package it is part of. It is a convenience: the evidence is the
files in the package, and anyone can check them with the standard tools described at the end,
without trusting the software that made them.</p>
${input.captures.map(captureSection).join('\n')}
<section>
<h2>Chain of custody</h2>
${head}
<table><thead><tr><th>#</th><th>Time (UTC)</th><th>Action</th><th>Actor</th><th>Capture</th><th>Event hash</th></tr></thead>
<tbody>
${timeline}
</tbody></table>
</section>
<section>
<h2>How to verify this package with standard tools</h2>
<pre>${escapeHtml(input.verifyText)}</pre>
</section>
</body>
</html>
`;
}
