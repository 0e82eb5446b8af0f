import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  CERTIFICATE_CSP,
  escapeHtml,
  imageDimensions,
  orderArtifacts,
  renderCertificateHtml,
  seqRuns,
  truncateMiddle,
  type CertificateCapture,
  type CertificateInput,
} from '../../../evidence/package/certificate.js';
import { bagPaths } from '../../../evidence/package/layout.js';
import type { Artifact } from '../../../schemas/artifact.js';
import { CustodyEvent, type SignatureRecord, type TimestampRecord } from '../../../schemas/custody.js';
import { StoredCaptureManifest, type CaptureManifest } from '../../../schemas/manifest.js';
import { PostDocument, type Post } from '../../../schemas/post.js';

const hex = (c: string, n = 64) => c.repeat(n);
const sha = (c: string) => `sha256:${hex(c)}`;
const sha512 = (c: string) => `sha512:${hex(c, 128)}`;
const CAPTURE_ID = '0190f5d6-0000-7000-8000-000000000001';
const OTHER_CAPTURE = '0190f5d6-0000-7000-8000-0000000000ff';

const SCRIPT = '<script>alert(1)</script>';
const BREAKOUT = '"><img src=x onerror=alert(1)>';
const SQ_BREAKOUT = "'><svg onload=alert(2)>";
const ARABIC = 'صباح الخير من السوق القديم في دمشق 🕊️';

function artifact(name: string, over: Partial<Artifact> = {}): Artifact {
  const c = (name.length % 10).toString();
  return { name, role: 'other', mediaType: 'application/octet-stream', size: 10, sha256: sha(c), sha512: sha512(c), storeKey: `sha256/${hex(c)}`, sourceUrl: null, derivedFrom: null, perceptualHash: null, flags: [], ...over };
}
const derivation = (source: string, method = 'thumbnail-512-webp') => ({ source, sourceSha256: sha('f'), method, tool: 'sharp 0.34.5' });

function manifest(over: { title?: string | null; url?: string; artifacts?: Artifact[]; ogDescription?: string; timezone?: string; status?: 'captured' | 'failed' } = {}): CaptureManifest {
  return StoredCaptureManifest.parse({
    schemaVersion: 'exhibit.capture-manifest/1', captureId: CAPTURE_ID, caseId: 'C-1',
    request: { url: over.url ?? 'https://example.org/post/1', requestedBy: 'analyst.one', legalBasis: `Warrant 12/2026 ${SCRIPT}`, submittedAt: '2026-03-01T10:00:00.000Z', options: {} },
    status: over.status ?? 'captured',
    failure: over.status === 'failed' ? { code: 'HTTP_ERROR', kind: 'permanent', message: `HTTP 500 ${SCRIPT}` } : null,
    page: {
      requestedUrl: over.url ?? 'https://example.org/post/1', finalUrl: `https://example.org/final?x=${BREAKOUT}`, redirects: [{ url: `https://example.org/r?${SQ_BREAKOUT}`, status: 301 }], status: 200, headers: [], remoteIp: '192.0.2.1',
      dns: { host: 'example.org', addresses: ['192.0.2.1'], error: null }, tls: null, title: over.title === undefined ? `Post ${SCRIPT}` : over.title, canonicalUrl: null, lang: 'ar', dir: 'rtl',
      meta: { openGraph: over.ogDescription ? { 'og:description': over.ogDescription } : {}, twitter: {}, description: `meta ${BREAKOUT}` },
      jsonLd: [{ '@type': 'SocialMediaPosting', articleBody: `body ${SQ_BREAKOUT}`, author: { name: 'Layla <b>Haddad</b>' }, datePublished: '2024-03-15T17:02:11Z' }, 'not an object', null],
      documentSize: null, requestCount: 3, blockedRequests: [],
    },
    environment: {
      exhibitVersion: '0.1.0', gitCommit: null, collector: { id: 'web', version: '1' }, playwrightVersion: '1.64', browserVersion: 'Chromium 1', userAgent: `UA ${BREAKOUT}`,
      viewport: { width: 100, height: 100 }, locale: 'ar', timezone: over.timezone ?? 'UTC', hostname: 'h', platform: 'linux', nodeVersion: 'v20', operator: `op${SQ_BREAKOUT}`.replace(/\s/g, ''),
      startedAt: '2026-03-01T10:00:00.000Z', finishedAt: '2026-03-01T10:00:05.000Z',
      network: { localAddresses: [], proxy: null, egressIp: null, egressIpSource: null, egressIpError: null }, captureMethod: 'browser',
    },
    artifacts: over.artifacts ?? [
      artifact('derived/media/002.jpg.thumb.webp', { role: 'thumbnail', mediaType: 'image/webp', derivedFrom: derivation('media/002.jpg') }),
      artifact('media/002.jpg', { role: 'media', mediaType: 'image/jpeg', sourceUrl: `https://cdn.example/${BREAKOUT}` }),
      artifact('derived/screenshot.png.exif.json', { role: 'metadata', mediaType: 'application/json', derivedFrom: derivation('screenshot.png', 'exif-extract') }),
      artifact(`evil${BREAKOUT}.bin`, { flags: [{ code: 'TRUNCATED', message: SCRIPT }] }),
      artifact('screenshot.png', { role: 'screenshot', mediaType: 'image/png' }),
      artifact('derived/media/002.jpg.exif.json', { role: 'metadata', mediaType: 'application/json', derivedFrom: derivation('media/002.jpg', 'exif-extract') }),
    ],
    enrichment: [], sealedAt: '2026-03-01T10:00:06.000Z', sealer: { exhibitVersion: '0.1.0', hostname: 'h' },
  });
}

const signature: SignatureRecord = { schemaVersion: 'exhibit.signature/1', algorithm: 'Ed25519', keyFingerprint: sha('c'), signedDigest: sha('e'), signature: `${'A'.repeat(86)}==`, signedAt: '2026-03-01T10:00:06.000Z' };
const timestamp: TimestampRecord = {
  schemaVersion: 'exhibit.timestamp/1', tsaUrl: 'http://tsa.example/', digest: sha('e'), genTime: '2026-03-01T10:00:06.500Z', localTime: '2026-03-01T10:00:06.512Z', clockSkewMs: 12,
  serialNumber: '02', policy: '1.2.3', tsaName: `CN=Test TSA ${SCRIPT}`, signerSubject: 'CN=Test TSA', signerCertSha256: sha('d'), nonce: '01', token: '1.tsr', tokenSha256: sha('b'),
};

let seq = 0;
function event(action: CustodyEvent['action'], details: Record<string, unknown> = {}, over: Partial<CustodyEvent> = {}): CustodyEvent {
  seq++;
  return CustodyEvent.parse({
    schemaVersion: 'exhibit.custody-event/1', caseId: 'C-1', seq, eventId: `0190f5d6-0000-7000-8000-${String(seq).padStart(12, '0')}`, time: `2026-03-01T10:00:${String(seq).padStart(2, '0')}.000Z`,
    actor: { type: 'service', id: 'exhibit-sealer', role: 'sealer', authorisedBy: `boss${SQ_BREAKOUT}`.replace(/\s/g, '') }, action, subject: { captureId: CAPTURE_ID }, details,
    prevHash: sha('0'), hash: `sha256:${seq.toString(16).padStart(64, '0')}`, ...over,
  });
}

function capture(over: Partial<CertificateCapture> = {}, m = manifest()): CertificateCapture {
  return { manifest: m, manifestDigest: sha('e'), signature, timestamps: [timestamp], screenshotDataUri: null, bagPathOf: (a) => bagPaths.artifact(m.captureId, a), ...over };
}

function render(over: Partial<CertificateInput> = {}): string {
  seq = 0;
  const events = [
    event('request-submitted', { captures: [{ url: `https://example.org/${BREAKOUT}` }], legalBasis: SCRIPT }, { actor: { type: 'operator', id: 'analyst.one', role: 'analyst' } }),
    event('artifact-sealed', { name: 'media/002.jpg', sha512: sha512('a') }),
    event('artifact-sealed', { name: `evil${BREAKOUT}` }),
    event('artifact-sealed', { name: 'screenshot.png' }),
    event('capture-finished', { finalUrl: `https://example.org/${'a'.repeat(5000)}`, nested: { x: SCRIPT } }),
    event('viewed', {}, { subject: { captureId: OTHER_CAPTURE } }),
  ];
  return renderCertificateHtml({
    caseId: 'C-1', organization: `Org ${SCRIPT}`, generatedAt: '2026-03-02T00:00:00.000Z', generatedBy: 'prosecutor.one',
    captures: [capture()], events, head: { seq: 6, hash: sha('9'), time: '2026-03-02T00:00:00.000Z', timestamps: [timestamp] }, verifyText: `sha256sum -c manifest-sha256.txt\n${SCRIPT}`, ...over,
  });
}

/** Every start tag in the document: name plus attribute names. A hostile value that escaped its attribute would add one. */
function startTags(html: string): Array<{ name: string; attrs: string[] }> {
  const tags: Array<{ name: string; attrs: string[] }> = [];
  const body = html.replace(/<style>[\s\S]*?<\/style>/g, '<style>');
  for (const m of body.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z-]+(?:="[^"]*")?)*)\s*\/?>/g)) {
    tags.push({ name: m[1]!.toLowerCase(), attrs: [...m[2]!.matchAll(/([a-zA-Z-]+)(?:="[^"]*")?/g)].map((a) => a[1]!.toLowerCase()) });
  }
  return tags;
}

const ALLOWED_TAGS = new Set(['html', 'head', 'meta', 'title', 'style', 'body', 'header', 'div', 'h1', 'h2', 'h3', 'h4', 'p', 'span', 'code', 'time', 'strong', 'em', 'br', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'section', 'figure', 'figcaption', 'ol', 'li', 'i', 'pre']);
const ALLOWED_ATTRS = new Set(['lang', 'charset', 'http-equiv', 'content', 'name', 'class', 'dir', 'scope', 'style', 'role', 'aria-label', 'aria-hidden', 'colspan']);

describe('certificate: hostile captured values', () => {
  const html = render();

  it('contains only our own tags and attributes (no script, no breakout from any attribute)', () => {
    const tags = startTags(html);
    expect(tags.length).toBeGreaterThan(100);
    for (const tag of tags) {
      expect(ALLOWED_TAGS.has(tag.name), `tag <${tag.name}>`).toBe(true);
      for (const a of tag.attrs) expect(ALLOWED_ATTRS.has(a), `attribute ${a} on <${tag.name}>`).toBe(true);
    }
    // Every "<" in the document starts one of the tags counted above, a closing tag or the doctype.
    const lt = html.replace(/<style>[\s\S]*?<\/style>/g, '<style>').match(/</g)!.length;
    const closing = html.replace(/<style>[\s\S]*?<\/style>/g, '<style>').match(/<\//g)!.length;
    expect(lt).toBe(tags.length + closing + 1);
  });

  it('escapes script tags, attribute breakouts and markup in every place captured text appears', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img|<svg|<b>/i);
    expect(html).not.toContain(BREAKOUT);
    expect(html).not.toContain(SQ_BREAKOUT);
    const escScript = escapeHtml(SCRIPT);
    const escBreakout = escapeHtml(BREAKOUT);
    // title, legal basis, TSA name (summary + head), failure-free flags, org, verify text, custody details…
    expect(html.split(escScript).length - 1).toBeGreaterThanOrEqual(7);
    // final URL, meta description, user agent, artifact name, source URL, custody URL, artifact-sealed run…
    expect(html.split(escBreakout).length - 1).toBeGreaterThanOrEqual(7);
    expect(html).toContain(escapeHtml(SQ_BREAKOUT));
    expect(html).toContain('Layla &#60;b&#62;Haddad&#60;/b&#62;');
    expect(escapeHtml(`<a href="x">'&\``)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#96;');
  });

  it('refuses a screenshot data: URI that is not a plain base64 image (no CSS or HTML breakout)', async () => {
    const png = (await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).png().toBuffer()).toString('base64');
    for (const bad of [
      `data:image/png;base64,${png}");} </style><script>alert(1)</script>`,
      `data:image/png;base64,${png}") } .x { background: url("https://attacker.example/`,
      `data:image/png;base64,${png}\n`,
      'data:text/html;base64,PHNjcmlwdD4=',
      'data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=',
      'javascript:alert(1)',
    ]) {
      const out = render({ captures: [capture({ screenshotDataUri: bad })] });
      expect(out, bad).not.toContain('background-image');
      expect(out).not.toMatch(/<script/i);
      expect(out).toContain('No screenshot embedded');
    }
  });

  it('shortens very long values and says how long they were', () => {
    expect(html).toContain('(5020 characters)');
    expect(html).not.toContain('a'.repeat(200));
    expect(truncateMiddle('x'.repeat(10))).toBe('x'.repeat(10));
    const s = truncateMiddle(`${'a'.repeat(300)}END`, 100);
    expect(s.startsWith('a'.repeat(50))).toBe(true);
    expect(s).toContain('aEND (303 characters)');
    expect([...truncateMiddle('🕊'.repeat(500), 100)].every((ch) => ch !== '\uFFFD')).toBe(true);
  });
});

describe('certificate: right-to-left text, emoji and CSP', () => {
  const html = render({ captures: [capture({}, manifest({ title: ARABIC, ogDescription: `${ARABIC} #دمشق` }))] });

  it('puts dir="auto" on captured text blocks, with Arabic and emoji intact', () => {
    expect(html).toContain(`<p class="title" dir="auto">${ARABIC}</p>`);
    expect(html).toContain(`<p class="captured" dir="auto">${ARABIC} #دمشق</p>`);
    expect(html).toContain('Description (og:description)');
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toMatch(/unicode-bidi: plaintext/);
    expect(html).toMatch(/"Noto Sans Arabic"/);
    expect(html).toMatch(/"Noto Color Emoji"/);
  });

  it('declares a CSP that forbids scripts and any fetch, and loads nothing from outside', () => {
    expect(CERTIFICATE_CSP).toBe("default-src 'none'; img-src data:; style-src 'unsafe-inline'");
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${CERTIFICATE_CSP}">`);
    expect(html.indexOf('Content-Security-Policy')).toBeLessThan(html.indexOf('<style>'));
    expect(html).not.toMatch(/<script|<link|<iframe|<object|@import|url\((?!"data:image\/)/i);
    for (const tag of startTags(html)) expect(tag.attrs.filter((a) => a === 'src' || a === 'href' || a.startsWith('on'))).toEqual([]);
  });

  it('shows the post text from page metadata when the title is missing', () => {
    const out = render({ captures: [capture({}, manifest({ title: null, ogDescription: 'Morning at the old market' }))] });
    expect(out).toContain('<p class="captured" dir="auto">Morning at the old market</p>');
    expect(out).toContain('<p class="title" dir="auto">https://example.org/post/1</p>');
  });
});

describe('certificate: artifacts', () => {
  it('orders originals first (most telling role first), then derivatives grouped under their source', () => {
    const { originals, derived } = orderArtifacts(manifest().artifacts);
    expect(originals.map((a) => a.name)).toEqual(['screenshot.png', 'media/002.jpg', `evil${BREAKOUT}.bin`]);
    expect(derived.map((g) => [g.source, g.artifacts.map((a) => a.name)])).toEqual([
      ['screenshot.png', ['derived/screenshot.png.exif.json']],
      ['media/002.jpg', ['derived/media/002.jpg.exif.json', 'derived/media/002.jpg.thumb.webp']],
    ]);
  });

  it('lists every original before any derivative in the document, each with both digests on their own lines', () => {
    const html = render();
    const section = html.slice(html.indexOf('technical record'), html.indexOf('Chain of custody</h2>'));
    const blocks = [...section.matchAll(/<span class="tag">(ORIGINAL|DERIVED)<\/span>/g)].map((m) => m[1]);
    expect(blocks).toEqual(['ORIGINAL', 'ORIGINAL', 'ORIGINAL', 'DERIVED', 'DERIVED', 'DERIVED']);
    const m = manifest();
    for (const a of m.artifacts) {
      expect(section).toContain(`<div class="dg"><span class="alg">SHA-256</span><code>${a.sha256.slice(7)}</code></div>`);
      expect(section).toContain(`<div class="dg"><span class="alg">SHA-512</span><code>${a.sha512.slice(7)}</code></div>`);
    }
    expect(section).toMatch(/From <span dir="auto">media\/002\.jpg<\/span>/);
    expect(section).toContain('<code>derived/media/002.jpg.thumb.webp</code>');
    expect(section).toContain('<code>artifacts/screenshot.png</code>');
    expect(section).toContain('TRUNCATED');
    expect(html).toMatch(/\.dg code \{[^}]*word-break: break-all/);
  });
});

describe('certificate: seal status, time and custody timeline', () => {
  it('tells a sealed capture: TSA, its time, the clock difference and the key', () => {
    const html = render();
    expect(html).toContain('ALL CAPTURES SEALED');
    expect(html).toContain('<span class="badge ok">SEALED</span>');
    expect(html).toContain('local clock 12 ms ahead of the TSA');
    expect(html).toContain('<time>2026-03-01T10:00:06.500Z</time>');
    expect(html).toContain(`Ed25519 <code>${sha('c')}</code>`);
    expect(html).not.toContain('not signed');
  });

  it('flags an unsealed or failed capture', () => {
    const html = render({ captures: [capture({ signature: null, timestamps: [] }, manifest({ status: 'failed' }))] });
    expect(html).toContain('NOT ALL CAPTURES SEALED');
    expect(html).toContain('<span class="badge bad">UNSEALED</span>');
    expect(html).toContain('not signed');
    expect(html).toContain('no timestamp token: this capture is unsealed');
    // What was observed is worded, not flagged as a failure beside the seal.
    expect(html).not.toContain('CAPTURE FAILED');
    expect(html).toContain('<span class="shown">the page was not captured</span>');
    expect(html).toContain('HTTP_ERROR');
  });

  it('gives the local time in the capture host time zone, and survives an unknown zone', () => {
    expect(render({ captures: [capture({}, manifest({ timezone: 'Europe/Paris' }))] })).toContain('local time 2026-03-01 11:00:00.000 (Europe/Paris, GMT+1)');
    expect(render({ captures: [capture({}, manifest({ timezone: 'Mars/Olympus' }))] })).toContain('host time zone <span dir="auto">Mars/Olympus</span>');
  });

  it('draws every event with a marker per action, authorised-by, and runs of sealed artifacts collapsed', () => {
    const html = render();
    const items = [...html.matchAll(/<li class="ev ([a-z]+)"><span class="marker" aria-hidden="true">(.)<\/span>/g)].map((m) => [m[1], m[2]]);
    expect(items).toEqual([['request', '●'], ['seal', '◆'], ['capture', '■'], ['access', '◉']]);
    expect(html).toContain('#2–4');
    expect(html).toContain('3 artifacts sealed');
    for (const n of [2, 3, 4]) expect(html).toMatch(new RegExp(`<li><span class="num">${n}</span>`));
    expect(html).toContain(`authorised by <span dir="auto">${escapeHtml(`boss${SQ_BREAKOUT}`.replace(/\s/g, ''))}</span>`);
    expect(html).toContain('capture not in this package');
    expect(html).toContain(`capture 1 <code>${CAPTURE_ID}</code>`);
    expect(html).not.toContain(sha512('a').slice(7));
    expect(html).toContain('The log head — event 6');
  });
});

describe('certificate: screenshot', () => {
  it('reads the pixel size of PNG, JPEG, WebP and GIF, and nothing else', async () => {
    const img = sharp({ create: { width: 37, height: 91, channels: 3, background: '#336699' } });
    for (const format of ['png', 'jpeg', 'webp', 'gif'] as const) {
      const bytes = await img.clone().toFormat(format).toBuffer();
      expect(imageDimensions(bytes), format).toEqual({ width: 37, height: 91 });
    }
    const lossless = await img.clone().webp({ lossless: true }).toBuffer();
    expect(imageDimensions(lossless)).toEqual({ width: 37, height: 91 });
    expect(imageDimensions(Buffer.from('<svg></svg>'))).toBeNull();
    expect(imageDimensions(Buffer.alloc(0))).toBeNull();
    expect(imageDimensions(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00]))).toBeNull();
  });

  it('embeds the screenshot once, previews its top and cuts the whole into page-sized slices', async () => {
    const png = await sharp({ create: { width: 100, height: 400, channels: 3, background: '#ffffff' } }).png().toBuffer();
    const uri = `data:image/png;base64,${png.toString('base64')}`;
    const html = render({ captures: [capture({ screenshotDataUri: uri })] });
    expect(html.split(png.toString('base64')).length - 1).toBe(1);
    expect(html).toContain(`.shot-1 { background-image: url("${uri}"); }`);
    // Viewport 100×100: the preview shows 1.5 viewports (aspect 1000/1500) of a 100×400 page.
    expect(html).toContain('class="shot shot-1" role="img" aria-label="Top of the captured page" style="aspect-ratio: 1000 / 1500"');
    // 120 mm wide → 480 mm tall → three slices of at most 232 mm.
    expect(html).toContain('Part 1 of 3 · pixel rows 0–193 of 400');
    expect(html).toContain('Part 3 of 3');
    expect(html).not.toContain('Part 4 of');
    expect(html).toMatch(/\.slice \{[^}]*break-inside: avoid/);
  });
});

describe('certificate: many captures', () => {
  const SECOND = '0190f5d6-0000-7000-8000-000000000002';
  const shotArt = (c: string) => artifact('screenshot.png', { role: 'screenshot', mediaType: 'image/png', sha256: sha(c), sha512: sha512(c) });
  const thumbArt = (c: string) => artifact('derived/screenshot.png.thumb.webp', { role: 'thumbnail', mediaType: 'image/webp', sha256: sha(c), derivedFrom: derivation('screenshot.png') });
  const second = () => {
    const m = manifest({ title: `Second ${BREAKOUT}`, artifacts: [shotArt('7'), thumbArt('8'), artifact('dom.html', { role: 'dom', mediaType: 'text/html' })] });
    return StoredCaptureManifest.parse({ ...m, captureId: SECOND });
  };

  async function renderMany(): Promise<{ html: string; jpeg: string }> {
    const jpeg = (await sharp({ create: { width: 40, height: 400, channels: 3, background: '#123456' } }).jpeg().toBuffer()).toString('base64');
    const first = manifest({ artifacts: [shotArt('5'), thumbArt('6')] });
    seq = 0;
    const events = [
      event('capture-started'),
      event('artifact-sealed', { name: 'screenshot.png' }, { subject: { captureId: SECOND } }),
      event('artifact-sealed', { name: 'screenshot.png' }),
      event('artifact-sealed', { name: 'derived/screenshot.png.thumb.webp' }),
      event('capture-failed', { reason: SCRIPT }, { subject: { captureId: SECOND } }),
      event('viewed', {}, { subject: { captureId: OTHER_CAPTURE } }),
      event('packaged', {}, { subject: {}, actor: { type: 'user', id: `p${SQ_BREAKOUT}`.replace(/\s/g, ''), role: 'prosecutor' } }),
    ];
    const html = renderCertificateHtml({
      caseId: 'C-1', organization: 'Org', generatedAt: '2026-03-02T00:00:00.000Z', generatedBy: 'prosecutor.one',
      captures: [
        capture({ screenshotDataUri: `data:image/jpeg;base64,${jpeg}`, screenshotShownFrom: 'derived/screenshot.png.thumb.webp' }, first),
        capture({ signature: null, timestamps: [] }, second()),
      ],
      events, head: { seq: events.length, hash: sha('9'), time: '2026-03-02T00:00:00.000Z', timestamps: [timestamp] },
      verifyText: 'commands for capture 1', verifyNote: 'Shown with the commands for capture 1 only; data/VERIFY.txt gives them for each of the 2 captures.',
    });
    return { html, jpeg };
  }

  it('gives each capture an entry with its thumbnail and the name and SHA-256 of its full screenshot and manifest', async () => {
    const { html, jpeg } = await renderMany();
    expect(html.split('<section class="entry">').length - 1).toBe(2);
    expect(html.split(jpeg).length - 1).toBe(1);
    expect(html).toContain('Capture 1 of 2');
    expect(html).toContain('Capture 2 of 2');
    expect(html).toContain(`<code>artifacts/screenshot.png</code> SHA-256 <code>${hex('5')}</code>`);
    expect(html).toContain(`<code>artifacts/screenshot.png</code> SHA-256 <code>${hex('7')}</code>`);
    expect(html).toContain(`Reduced from the sealed thumbnail derived/screenshot.png.thumb.webp (SHA-256 ${hex('6').slice(0, 16)}…)`);
    expect(html).toContain(`manifest.json</code> SHA-256 <code>${hex('e')}</code>`);
    // 40×400 px at 38 mm wide would be 380 mm tall: the entry shows the top 56 mm.
    expect(html).toContain('style="height: 56.00mm"></div><figcaption>Top of the page.');
    // The second capture has no image: it says so instead of showing nothing.
    expect(html).toContain('No screenshot shown');
    expect(html).toContain('no timestamp token: this capture is unsealed');
    expect(html).toContain('NOT ALL CAPTURES SEALED');
  });

  it('prints no full-size appendix, technical records or per-event timeline: the package files hold them', async () => {
    const { html } = await renderMany();
    expect(html).not.toContain('class="appendix"');
    expect(html).not.toContain('class="slice"');
    expect(html).not.toContain('technical record');
    expect(html).not.toContain('class="timeline"');
    expect(html).toContain('data/captures/&#60;capture id&#62;/manifest.json');
    expect(html).toContain(`<code>data/captures/${CAPTURE_ID}/</code> 2 artifacts (1 original, 1 derived)`);
  });

  it('condenses the custody log to one line per event kind per capture, with event numbers as runs that never interleave', async () => {
    const { html } = await renderMany();
    const rows = [...html.matchAll(/<tr class="([a-z]+)"><td class="num">([^<]+)<\/td>/g)].map((m) => `${m[1]} ${m[2]}`);
    // Capture 1: started #1, sealed #3 and #4; capture 2: sealed #2, failed #5; then the other events.
    expect(rows).toEqual(['capture #1', 'seal #3–4', 'seal #2', 'failure #5', 'access #6', 'package #7']);
    expect(html).toContain(`Capture 1 <span class="muted">· 3 events ·</span> <code>${CAPTURE_ID}</code>`);
    expect(html).toContain('Artifact sealed <span class="muted">× 2</span>');
    expect(html).toContain(`capture not in this package <code>${OTHER_CAPTURE}</code>`);
    expect(html).toContain('Shown with the commands for capture 1 only; data/VERIFY.txt gives them for each of the 2 captures.');
  });

  it('lists long runs of event numbers briefly', () => {
    expect(seqRuns([9, 1, 2, 3, 5, 7, 8])).toBe('#1–3, #5, #7–9');
    expect(seqRuns([1, 3, 5, 7], 2)).toBe('#1, #3 … (2 more)');
  });

  it('escapes captured and hostile values in the compact layout too', async () => {
    const { html } = await renderMany();
    expect(html).not.toMatch(/<script|<img|<svg|<b>/i);
    expect(html).not.toContain(BREAKOUT);
    expect(html).not.toContain(SQ_BREAKOUT);
    expect(html).toContain(escapeHtml(`Second ${BREAKOUT}`));
    for (const tag of startTags(html)) {
      expect(ALLOWED_TAGS.has(tag.name), `tag <${tag.name}>`).toBe(true);
      for (const a of tag.attrs) expect(ALLOWED_ATTRS.has(a), `attribute ${a} on <${tag.name}>`).toBe(true);
    }
  });
});

describe('certificate: print layout', () => {
  it('numbers its pages itself (CSS @page margin box), so the PDF renderer needs no per-page footer template', () => {
    expect(render()).toMatch(/@page \{[^@]*@bottom-center \{ content: "Page " counter\(page\) " of " counter\(pages\);/);
  });
});

describe('certificate: analyst annotations', () => {
  const annotations = {
    schemaVersion: 'exhibit.annotations/1' as const, kind: 'analyst-annotations' as const, statement: 'not evidence', caseId: 'C-1', throughSeq: 9,
    captures: [{
      captureId: CAPTURE_ID,
      tags: [{ tag: `تصعيد ${BREAKOUT}`, by: { type: 'user' as const, id: 'analyst.one', role: 'analyst' }, at: '2026-03-02T00:00:00Z', seq: 7, eventHash: sha('7') }],
      notes: [{ note: `compare ${SCRIPT}\n${SQ_BREAKOUT}`, by: { type: 'user' as const, id: 'analyst.one', role: 'analyst' }, at: '2026-03-02T00:00:01Z', seq: 8, eventHash: sha('8'), eventId: '0190f5d6-0000-7000-9000-000000000008' }],
    }],
  };

  it('lists tags and notes in a section of their own, as text, naming their custody events', () => {
    const html = render({ annotations });
    const section = /<section class="annotations">[\s\S]*?<\/section>/.exec(html)?.[0] ?? '';
    expect(section).toContain('Analyst annotations (not evidence)');
    expect(section).toContain(escapeHtml(`compare ${SCRIPT}`));
    expect(section).toContain(escapeHtml(`تصعيد ${BREAKOUT}`));
    for (const tag of startTags(section)) {
      expect(ALLOWED_TAGS.has(tag.name), `tag <${tag.name}>`).toBe(true);
      for (const a of tag.attrs) expect(ALLOWED_ATTRS.has(a), `attribute ${a} on <${tag.name}>`).toBe(true);
    }
    expect(section).toMatch(/<td>7<\/td>[\s\S]*<td>8<\/td>/);
  });

  it('has no such section when nothing was annotated', () => {
    expect(render({ annotations: { ...annotations, captures: [] } })).not.toContain('Analyst annotations');
    expect(render()).not.toContain('Analyst annotations');
  });
});

describe('certificate: who said what, and what the platform showed', () => {
  const post = (over: Partial<Post> = {}): Post => ({
    id: '43', url: 'https://t.me/sahel_news/43', uri: null, author: { id: 'sahel_news', handle: 'sahel_news', displayName: 'أخبار الساحل', profileUrl: null },
    published: { raw: '2026-02-27T09:15:00+00:00', utc: '2026-02-27T09:15:00.000Z' },
    text: { content: `${ARABIC}\nسطر ثان ${SCRIPT}`, html: null, language: null, direction: 'rtl' },
    media: [], links: [], mentions: [], hashtags: [], replyTo: null, quoteOf: null, repostOf: null, engagement: null, sources: {}, ...over,
  });
  const doc = (over: Partial<PostDocument> = {}): PostDocument =>
    PostDocument.parse({
      schemaVersion: 'exhibit.post/1', platform: 'telegram', collector: { id: 'telegram', version: '1' }, requestedUrl: 'https://t.me/sahel_news/43', pageUrl: 'https://t.me/sahel_news/43', observedAt: '2026-03-01T10:00:03.000Z',
      visibility: { state: 'visible', reason: null, signals: [], httpStatus: 200 }, post: post(), replies: [], quoted: null, proof: null, collectorRequests: [], readFrom: [], ...over,
    });
  const SECOND = '0190f5d6-0000-7000-8000-000000000002';
  const THIRD = '0190f5d6-0000-7000-8000-000000000003';
  const withId = (id: string, m: CaptureManifest, request: Partial<CaptureManifest['request']> = {}) => StoredCaptureManifest.parse({ ...m, captureId: id, request: { ...m.request, ...request } });

  function renderContent(): string {
    seq = 0;
    const events = [
      event('request-submitted', {}, { actor: { type: 'operator', id: 'Dana', role: 'analyst', osUser: 'dana', host: 'lab-7' } }),
      event('request-submitted', {}, { subject: { captureId: SECOND }, actor: { type: 'user', id: 'prosecutor-1', role: 'prosecutor' } }),
    ];
    const m1 = withId(CAPTURE_ID, manifest({ title: 'Telegram: Contact @sahel_news' }), { requestedBy: 'Dana', operator: { kind: 'cli', name: 'Dana', osUser: 'dana', host: 'lab-7' } });
    const m2 = withId(SECOND, manifest({ title: 'X', status: 'failed' }), { requestedBy: 'prosecutor-1', user: { kind: 'user', name: 'prosecutor-1', role: 'prosecutor' } });
    const m3 = withId(THIRD, manifest({ title: 'Sahel News – Telegram' }));
    const login = doc({ platform: 'x', visibility: { state: 'login-wall', reason: 'the page asked to sign in', signals: [], httpStatus: 200, retryAfter: null }, post: null });
    const channel = doc({
      post: null,
      profile: { kind: 'channel', id: 'sahel_news', handle: 'sahel_news', displayName: 'Sahel News', description: null, descriptionHtml: null, avatarUrl: null, url: null, counts: {}, readAt: '2026-03-01T10:00:03.000Z', sources: {} },
      replies: [post({ id: '41', text: { content: 'First message', html: null, language: 'en', direction: 'ltr' } }), post({ id: '42' }), post({ id: '43' }), post({ id: '44' })],
    });
    return renderCertificateHtml({
      caseId: 'C-1', organization: 'Org', generatedAt: '2026-03-02T00:00:00.000Z', generatedBy: 'prosecutor.one',
      captures: [capture({ post: doc() }, m1), capture({ post: login }, m2), capture({ post: channel }, m3)],
      events, head: { seq: events.length, hash: sha('9'), time: '2026-03-02T00:00:00.000Z', timestamps: [timestamp] }, verifyText: 'v',
    });
  }

  it('names the author, the text in its own direction and the published time, not the page title', () => {
    const html = renderContent();
    expect(html).toContain('<span class="aname" dir="auto">أخبار الساحل</span> <span class="ahandle" dir="ltr">@sahel_news</span>');
    expect(html).toContain(`<p class="excerpt captured" dir="rtl">${escapeHtml(`${ARABIC}\nسطر ثان ${SCRIPT}`)}</p>`);
    expect(html).toContain('<time>2026-02-27T09:15:00.000Z</time> <span class="muted">platform:</span>');
    expect(html).not.toContain('Telegram: Contact @sahel_news');
    // The page's language (ar in the manifest) is not given to the post: no lang unless the platform states one.
    expect(html).not.toMatch(/class="excerpt captured" dir="rtl" lang=/);
    expect(html).toContain('<p class="excerpt captured" dir="ltr" lang="en">First message</p>');
  });

  it('words a capture the platform did not show as what the platform showed, with no failure badge beside the seal', () => {
    const html = renderContent();
    expect(html).toContain('<span class="shown">the platform showed a login wall</span>');
    expect(html).toContain('the page asked to sign in');
    expect(html).not.toContain('CAPTURE FAILED');
    expect(html).toContain('Capture 2 of 3 <span class="badge ok">SEALED</span></h3>');
  });

  it('shows the posts of a list capture (a channel page) with their authors', () => {
    const html = renderContent();
    expect(html).toContain('<span class="aname" dir="auto">Sahel News</span> <span class="ahandle" dir="ltr">@sahel_news</span> <span class="muted">on</span>');
    expect(html).toContain('· 4 posts shown</span>');
    expect(html).toContain('… and 1 more in <code>post.json</code>');
  });

  it('names a command-line operator with OS user and host, and a signed-in web user as such', () => {
    const html = renderContent();
    expect(html).toContain('Dana</span> <span class="muted">— command-line operator: OS user</span> <span dir="auto">dana</span> <span class="muted">on host</span> <span dir="auto">lab-7</span>');
    expect(html).toContain('prosecutor-1</span> <span class="muted">— signed-in web user (prosecutor)</span>');
    expect(html).toContain('(command-line operator: OS user <span dir="auto">dana</span> on host <span dir="auto">lab-7</span>, <span dir="auto">analyst</span>)');
    expect(html).toContain('(signed-in web user, <span dir="auto">prosecutor</span>)');
  });

  it('a single capture behind a login wall is worded as what the platform showed, beside its seal', () => {
    const login = doc({ platform: 'x', visibility: { state: 'login-wall', reason: 'the page asked to sign in', signals: [], httpStatus: 200, retryAfter: null }, post: null });
    const html = render({ captures: [capture({ post: login }, manifest({ status: 'failed' }))] });
    expect(html).toContain('<span class="shown">the platform showed a login wall</span> — <span dir="auto">the page asked to sign in</span>');
    expect(html).not.toContain('CAPTURE FAILED');
  });

  it('a single capture names the author and the published time', () => {
    const html = render({ captures: [capture({ post: doc() })] });
    expect(html).toContain('<span class="aname" dir="auto">أخبار الساحل</span> <span class="ahandle" dir="ltr">@sahel_news</span> <span class="muted">on</span>');
    expect(html).toContain('<time>2026-02-27T09:15:00.000Z</time>');
  });

  it('words a page that was not captured (no post.json) without a failure badge', () => {
    const m = withId(CAPTURE_ID, manifest({ status: 'failed' }));
    const html = renderCertificateHtml({
      caseId: 'C-1', organization: 'Org', generatedAt: '2026-03-02T00:00:00.000Z', generatedBy: 'p', captures: [capture({}, m), capture({}, withId('0190f5d6-0000-7000-8000-000000000002', manifest()))],
      events: [], head: null, verifyText: 'v',
    });
    expect(html).toContain('<span class="shown">the page was not captured</span>');
    expect(html).not.toContain('CAPTURE FAILED');
  });
});
