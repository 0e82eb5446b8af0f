import { readFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { escapeHtml, renderCertificateHtml } from '../../../evidence/package/certificate.js';
import { certificateImageArtifact, MAX_EMBEDDED_SCREENSHOT_BYTES } from '../../../evidence/package/images.js';
import type { Artifact } from '../../../schemas/artifact.js';
import { certificatesOfTokens, tokenCertificates, tokenCertificatesField } from '../../../evidence/timestamp.js';
import { bagPaths, isSafeRelativeName, PACKAGE_LAYOUT_TEXT } from '../../../evidence/package/layout.js';
import { verifyInstructions } from '../../../evidence/package/verify-instructions.js';
import { StoredCaptureManifest, type CaptureManifest } from '../../../schemas/manifest.js';

const sha = (c: string) => `sha256:${c.repeat(64)}`;

describe('package layout', () => {
  it('originals go to artifacts/, derivatives to derived/', () => {
    expect(bagPaths.artifact('id', { name: 'media/001.jpg', derivedFrom: null })).toBe('data/captures/id/artifacts/media/001.jpg');
    expect(bagPaths.artifact('id', { name: 'derived/001.thumb.webp', derivedFrom: { source: 'media/001.jpg', sourceSha256: sha('a'), method: 'm', tool: 't' } })).toBe('data/captures/id/derived/001.thumb.webp');
    expect(bagPaths.key(sha('b'))).toBe(`data/keys/${'b'.repeat(64)}.pem`);
  });

  it('refuses unsafe artifact names', () => {
    for (const bad of ['', '/etc/passwd', '../x', 'a/../../x', 'a/./b', 'a//b', 'a\\b', 'a\u0000b', 'a\nb']) expect(isSafeRelativeName(bad), bad).toBe(false);
    for (const good of ['screenshot.png', 'media/003-photo.jpg', 'derived/x.exif.json', 'صورة.png', '..hidden']) expect(isSafeRelativeName(good), good).toBe(true);
  });

  it('documents every top-level file', () => {
    for (const f of ['bagit.txt', 'bag-info.txt', 'manifest-sha256.txt', 'manifest-sha512.txt', 'tagmanifest-sha256.txt', 'tagmanifest-sha512.txt', 'data/VERIFY.txt', 'data/certificate.pdf', 'data/custody/events.jsonl', 'data/tsa/ca.pem']) {
      expect(PACKAGE_LAYOUT_TEXT).toContain(f);
    }
  });
});

describe('VERIFY.txt', () => {
  it('names the exact commands for each capture and the head', () => {
    const text = verifyInstructions({
      caseId: 'C-1',
      captures: [{ captureId: 'cap-1', keyFingerprint: sha('c'), tokens: 2 }, { captureId: 'cap-2', keyFingerprint: null, tokens: 0 }],
      head: { seq: 9, keyFingerprint: sha('c'), tokens: 1 },
      genesisHash: sha('d'),
    });
    expect(text).toContain('sha256sum -c manifest-sha256.txt');
    expect(text).toContain(`openssl pkeyutl -verify -pubin -inkey data/keys/${'c'.repeat(64)}.pem -rawin -in /tmp/manifest.sha256.bin -sigfile data/captures/cap-1/manifest.sig`);
    expect(text).toContain('openssl ts -verify -data data/captures/cap-1/manifest.json -in data/captures/cap-1/timestamps/2.tsr -CAfile data/tsa/ca.pem -untrusted data/tsa/tsa.pem');
    expect(text).toContain('(this capture is NOT signed');
    expect(text).toContain('-sigfile data/custody/heads/000000000009.sig');
    expect(text).toContain('python3 -m bagit --validate .');
  });
});

describe('certificate HTML', () => {
  const hostile = '<img src=x onerror=alert(1)>"\'& بيان';
  const manifest = StoredCaptureManifest.parse({
    schemaVersion: 'exhibit.capture-manifest/1', captureId: '0190f5d6-0000-7000-8000-000000000001', caseId: 'C-1',
    request: { url: `https://example.org/?q=${hostile}`, requestedBy: 'analyst.one', legalBasis: hostile, submittedAt: '2026-03-01T10:00:00.000Z', options: {} },
    status: 'captured', failure: null,
    page: { requestedUrl: 'https://example.org/', finalUrl: 'https://example.org/final', redirects: [], status: 200, headers: [], remoteIp: '192.0.2.1', dns: null, tls: null, title: hostile, canonicalUrl: null, lang: 'ar', dir: 'rtl', meta: { openGraph: {}, twitter: {}, description: null }, jsonLd: [], documentSize: null, requestCount: 1, blockedRequests: [] },
    environment: { exhibitVersion: '0.1.0', gitCommit: null, collector: { id: 'web', version: '1' }, playwrightVersion: '1.64', browserVersion: 'Chromium 1', userAgent: hostile, viewport: { width: 1, height: 1 }, locale: 'ar', timezone: 'UTC', hostname: 'h', platform: 'linux', nodeVersion: 'v20', operator: 'analyst.one', startedAt: '2026-03-01T10:00:00.000Z', finishedAt: '2026-03-01T10:00:05.000Z', network: { localAddresses: [], proxy: null, egressIp: null, egressIpSource: null, egressIpError: null }, captureMethod: 'browser' },
    artifacts: [{ name: `x${hostile}.png`, role: 'screenshot', mediaType: 'image/png', size: 1, sha256: sha('a'), sha512: `sha512:${'b'.repeat(128)}`, storeKey: `sha256/${'a'.repeat(64)}`, sourceUrl: null, derivedFrom: null, perceptualHash: null, flags: [] }],
    enrichment: [], sealedAt: '2026-03-01T10:00:06.000Z', sealer: { exhibitVersion: '0.1.0', hostname: 'h' },
  });
  const html = renderCertificateHtml({
    caseId: 'C-1', organization: 'Org', generatedAt: '2026-03-02T00:00:00.000Z', generatedBy: 'prosecutor.one',
    captures: [{ manifest, manifestDigest: sha('e'), signature: null, timestamps: [], screenshotDataUri: 'data:image/png;base64,iVBORw0KGgo=', bagPathOf: (a) => bagPaths.artifact(manifest.captureId, a) }],
    events: [], head: null, verifyText: 'run <this>',
  });

  it('escapes every captured string', () => {
    expect(escapeHtml(`<a href="x">'&\``)).toBe('&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#96;');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('onerror=alert(1)>');
    expect(html.match(/&#60;img src=x onerror=alert\(1\)&#62;/g)!.length).toBeGreaterThanOrEqual(4);
    expect(html).toContain('run &#60;this&#62;');
  });

  it('is UTF-8 with a script-free CSP and dir=auto on captured text', () => {
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain("default-src 'none'");
    expect(html).toMatch(/<span dir="auto">&#60;img src=x onerror=alert\(1\)&#62;&#34;&#39;&#38; بيان<\/span>/);
    expect(html).not.toMatch(/<script/i);
  });

  it('flags an unsealed capture', () => {
    expect(html).toContain('not signed');
    expect(html).toContain('no timestamp token: this capture is unsealed');
  });
});

describe('TSA certificates of many tokens', () => {
  const FIX = new URL('../../fixtures/tsa/', import.meta.url);

  it('finds the certificates field of a real reply, and none in a rejection', async () => {
    const granted = await readFile(new URL('granted.tsr', FIX));
    const field = tokenCertificatesField(granted);
    expect(field.length).toBeGreaterThan(100);
    // The field holds the TSA certificate, byte for byte.
    const der = Buffer.from((await readFile(new URL('tsa.pem', FIX), 'utf8')).replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    expect(Buffer.from(field).indexOf(der)).toBe(0);
    expect(tokenCertificatesField(await readFile(new URL('rejected.tsr', FIX))).length).toBe(0);
    expect(() => tokenCertificatesField(Buffer.from('hello'))).toThrow();
  });

  it('parses each distinct certificate set once and gives what parsing every token gives', async () => {
    const granted = await readFile(new URL('granted.tsr', FIX));
    const rejected = await readFile(new URL('rejected.tsr', FIX));
    const parse = vi.fn(tokenCertificates);
    const pems = certificatesOfTokens([granted, granted, Buffer.from(granted), rejected, rejected], parse);
    expect(pems).toEqual([...new Set([granted, rejected].flatMap((t) => tokenCertificates(t)))]);
    expect(pems.length).toBe(1);
    expect(parse).toHaveBeenCalledTimes(2);
  });

  it('parses a token it cannot walk on its own (no cache), so nothing is lost', () => {
    const parse = vi.fn((tsr: Uint8Array) => [`PEM ${tsr.length}`]);
    expect(certificatesOfTokens([Buffer.from('junk'), Buffer.from('junk'), Buffer.from('other!')], parse)).toEqual(['PEM 4', 'PEM 6']);
    expect(parse).toHaveBeenCalledTimes(3);
  });
});

describe('the image a certificate shows (read once, shared with its zip entry)', () => {
  const art = (name: string, over: Partial<Artifact>): Artifact => ({ name, role: 'other', mediaType: 'image/png', size: 1000, sha256: sha('1'), sha512: `sha512:${'1'.repeat(128)}`, storeKey: `sha256/${'1'.repeat(64)}`, sourceUrl: null, derivedFrom: null, perceptualHash: null, flags: [], ...over });
  const shot = (size = 1000) => art('screenshot.png', { role: 'screenshot', size });
  const thumb = art('derived/screenshot.png.thumb.webp', { role: 'thumbnail', mediaType: 'image/webp', derivedFrom: { source: 'screenshot.png', sourceSha256: sha('1'), method: 'thumbnail-512-webp', tool: 'sharp' } });
  const m = (artifacts: Artifact[]) => ({ artifacts }) as unknown as CaptureManifest;

  it('several captures: the sealed thumbnail, else a small enough screenshot', () => {
    const s = shot();
    expect(certificateImageArtifact(m([s, thumb]), true)).toBe(thumb);
    expect(certificateImageArtifact(m([s]), true)).toBe(s);
    expect(certificateImageArtifact(m([shot(MAX_EMBEDDED_SCREENSHOT_BYTES + 1)]), true)).toBeUndefined();
  });

  it('one capture: the screenshot itself, else (too large) its thumbnail; nothing without a screenshot', () => {
    const s = shot();
    expect(certificateImageArtifact(m([s, thumb]), false)).toBe(s);
    expect(certificateImageArtifact(m([shot(MAX_EMBEDDED_SCREENSHOT_BYTES + 1), thumb]), false)).toBe(thumb);
    expect(certificateImageArtifact(m([thumb]), false)).toBeUndefined();
    expect(certificateImageArtifact(m([art('x.txt', { mediaType: 'text/plain' })]), true)).toBeUndefined();
  });
});
