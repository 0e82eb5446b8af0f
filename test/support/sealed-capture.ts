/**
 * Test helper: a sealed capture in an evidence store without running a browser — a manifest that
 * conforms to schemas/manifest.ts, its artifact blobs (a PNG screenshot, an HTML DOM with Arabic
 * text and hostile markup, a derived thumbnail), the signature and TSA tokens (attestManifest), and
 * the custody events a real seal would append.
 */
import sharp from 'sharp';
import { isoUtc, newId, type Clock } from '../../lib/clock.js';
import type { Artifact } from '../../schemas/artifact.js';
import { StoredCaptureManifest, type CaptureManifest } from '../../schemas/manifest.js';
import { canonicalBytes, sha256Digest } from '../../evidence/canonical.js';
import type { CustodyLog } from '../../evidence/custody.js';
import { attestManifest, type AttestDeps, type AttestResult } from '../../evidence/signing.js';
import { storeKeys, type EvidenceStore } from '../../evidence/store.js';

export interface SealedCapture {
  captureId: string;
  manifest: CaptureManifest;
  manifestBytes: Buffer;
  manifestDigest: string;
  attest: AttestResult;
}

export const HOSTILE_TITLE = 'بيان رسمي <script>alert(1)</script> & "quotes"';

export async function makeSealedCapture(opts: {
  caseId: string;
  store: EvidenceStore;
  clock: Clock;
  attest: Omit<AttestDeps, 'store' | 'clock'>;
  custody?: CustodyLog;
  url?: string;
  operator?: string;
  legalBasis?: string;
}): Promise<SealedCapture> {
  const { caseId, store, clock } = opts;
  const captureId = newId();
  const operator = opts.operator ?? 'analyst.one';
  const url = opts.url ?? 'https://example.org/post/1?lang=ar';
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
  const thumb = await sharp(png).resize(32).webp().toBuffer();
  const dom = Buffer.from(`<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>${HOSTILE_TITLE}</title></head><body><p>مرحبا بالعالم — ${captureId}</p></body></html>`);
  const mk = async (name: string, role: Artifact['role'], mediaType: string, bytes: Buffer, derivedFrom: Artifact['derivedFrom'] = null): Promise<Artifact> => {
    const blob = await store.putBytes(bytes, { contentType: mediaType });
    return { name, role, mediaType, size: blob.size, sha256: blob.sha256, sha512: blob.sha512, storeKey: blob.key, sourceUrl: null, derivedFrom, perceptualHash: null, flags: [] };
  };
  const shot = await mk('screenshot.png', 'screenshot', 'image/png', png);
  const artifacts = [
    shot,
    await mk('dom.html', 'dom', 'text/html; charset=utf-8', dom),
    await mk('derived/screenshot.thumb.webp', 'thumbnail', 'image/webp', thumb, { source: 'screenshot.png', sourceSha256: shot.sha256, method: 'thumbnail-32-webp', tool: 'sharp' }),
  ];
  const now = isoUtc(clock.now());
  const manifest = StoredCaptureManifest.parse({
    schemaVersion: 'exhibit.capture-manifest/1',
    captureId,
    caseId,
    request: { url, requestedBy: operator, legalBasis: opts.legalBasis ?? 'Warrant 2026/17 — أمر قضائي', submittedAt: now, options: {} },
    status: 'captured',
    failure: null,
    page: {
      requestedUrl: url, finalUrl: `${url}#final`, redirects: [], status: 200, headers: [['content-type', 'text/html']], remoteIp: '127.0.0.1',
      dns: null, tls: null, title: HOSTILE_TITLE, canonicalUrl: null, lang: 'ar', dir: 'rtl',
      meta: { openGraph: {}, twitter: {}, description: null }, jsonLd: [], documentSize: { width: 1280, height: 900 }, requestCount: 1, blockedRequests: [],
    },
    environment: {
      exhibitVersion: '0.1.0', gitCommit: null, collector: { id: 'web', version: '1' }, playwrightVersion: '1.64', browserVersion: 'Chromium test',
      userAgent: 'test-agent', viewport: { width: 1280, height: 900 }, locale: 'ar', timezone: 'UTC', hostname: 'test-host', platform: 'linux',
      nodeVersion: process.version, operator, startedAt: now, finishedAt: now,
      network: { localAddresses: ['127.0.0.1'], proxy: null, egressIp: null, egressIpSource: null, egressIpError: null }, captureMethod: 'fixture',
    },
    artifacts,
    enrichment: [],
    sealedAt: now,
    sealer: { exhibitVersion: '0.1.0', hostname: 'test-host' },
  });
  const manifestBytes = canonicalBytes(manifest);
  const manifestDigest = sha256Digest(manifestBytes);
  await store.putRecord(storeKeys.manifest(caseId, captureId), manifestBytes, { contentType: 'application/json' });
  const attest = await attestManifest(caseId, captureId, manifestDigest, { ...opts.attest, store, clock });
  if (opts.custody) {
    const actor = { type: 'service' as const, id: 'seal-worker', role: 'sealer', authorisedBy: operator };
    await opts.custody.append({ caseId, actor: { type: 'operator', id: operator, role: 'analyst' }, action: 'request-submitted', subject: { captureId }, details: { url }, idempotencyKey: `request:${captureId}` });
    for (const a of artifacts) {
      await opts.custody.append({ caseId, actor, action: 'artifact-sealed', subject: { captureId, digests: [a.sha256] }, details: { name: a.name }, idempotencyKey: `seal:${captureId}:artifact:${a.sha256}` });
    }
    await opts.custody.append({ caseId, actor, action: 'manifest-signed', subject: { captureId, digests: [manifestDigest] }, details: { keyFingerprint: attest.signature.keyFingerprint }, idempotencyKey: `seal:${captureId}:signed` });
    await opts.custody.append({ caseId, actor, action: 'timestamped', subject: { captureId, digests: [manifestDigest] }, details: { genTimes: attest.timestamps.map((t) => t.genTime) }, idempotencyKey: `seal:${captureId}:timestamped` });
  }
  return { captureId, manifest, manifestBytes, manifestDigest, attest };
}
