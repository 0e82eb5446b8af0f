/**
 * The sealer's WACZ of a WARC: a labelled derivative holding the sealed WARC, its outcome recorded
 * (unsigned, untimestamped, unindexable), and a retry that keeps the WACZ already sealed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeWarcFile } from '../../../collectors/browser/warc-writer.js';
import { FsStore } from '../../../evidence/fs-store.js';
import { sealCapture, type SealDeps } from '../../../evidence/seal-capture.js';
import { checkWacz } from '../../../evidence/wacz-check.js';
import { generateWaczKey } from '../../../evidence/wacz-key.js';
import { newId } from '../../../lib/clock.js';
import type { SealPayload } from '../../../schemas/jobs.js';
import { exchange } from '../../support/recorded.js';

const PAGE = 'http://127.0.0.1:8080/post/1';
const logger = pino({ level: 'silent' });

function payloadFor(spoolDir: string, warcName = 'traffic.warc.gz'): SealPayload {
  return {
    captureId: newId(),
    submittedAt: '2026-01-02T03:00:00.000Z',
    request: { url: PAGE, caseId: 'C-2026-001', requestedBy: 'analyst-01', legalBasis: 'Warrant 42/2026', options: { allowPrivateNetwork: true } },
    spoolDir,
    output: {
      status: 'captured',
      failure: null,
      page: {
        requestedUrl: PAGE, finalUrl: PAGE, redirects: [], status: 200, headers: [], remoteIp: '127.0.0.1', dns: null, tls: null, title: 'مرحبا — post', canonicalUrl: null,
        lang: 'ar', dir: 'rtl', meta: { openGraph: {}, twitter: {}, description: null }, jsonLd: [], documentSize: null, requestCount: 1, blockedRequests: [], collectorRequests: [],
      },
      environment: {
        exhibitVersion: '0.1.0', gitCommit: null, collector: { id: 'web', version: '1.0.0' }, playwrightVersion: '1.64.0', browserVersion: '140.0',
        userAgent: 'Mozilla/5.0', viewport: { width: 1280, height: 900 }, locale: 'en-GB', timezone: 'UTC', hostname: 'collector-1', platform: 'linux',
        nodeVersion: process.version, operator: 'analyst-01', startedAt: '2026-01-02T03:00:01.000Z', finishedAt: '2026-01-02T03:00:09.000Z',
        network: { localAddresses: ['127.0.0.1'], proxy: null, egressIp: null, egressIpSource: null, egressIpError: 'not configured' },
        captureMethod: 'playwright-chromium',
      },
      files: [{ path: warcName, role: 'warc', mediaType: 'application/warc', sourceUrl: null, flags: [] }],
    },
  };
}

function deps(store: FsStore, at: string, wacz?: SealDeps['wacz']): SealDeps {
  return {
    store, clock: { now: () => new Date(at) }, logger, hostname: 'sealer-1', software: { exhibitVersion: '0.1.0-test' },
    config: { seal: { concurrency: 1, thumbnailSize: 64, ffprobePath: 'ffprobe', heifConvertPath: 'heif-convert' } },
    ...(wacz ? { wacz } : {}),
  };
}

const down: NonNullable<SealDeps['wacz']>['timestamp'] = async () => ({ tokens: [], failures: [{ tsaUrl: 'http://tsa.invalid/', message: 'TIMESTAMP_FAILED: connection refused' }] });

let root: string;
let spool: string;
beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'exhibit-seal-wacz-'));
  spool = path.join(root, 'spool');
  mkdirSync(spool, { recursive: true });
  const html = Buffer.from('<html><head><title>post</title></head><body>مرحبا</body></html>');
  await writeFile(path.join(root, 'p.res'), Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ${html.length}\r\n\r\n`), html]));
  await writeWarcFile(path.join(spool, 'traffic.warc.gz'), [exchange({ url: PAGE, rawResponsePath: path.join(root, 'p.res'), rawResponseSize: html.length + 70, startedAt: '2026-01-02T03:00:02.000Z' })], { software: 'Exhibit 0.1.0 (test)', operator: 'analyst-01', captureId: 'c-1' });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the WACZ of a sealed WARC', () => {
  it('is a labelled derivative holding the sealed WARC, signed; a TSA outage is recorded, not fatal', async () => {
    const store = await FsStore.open(path.join(root, 'store-1'));
    const key = generateWaczKey();
    const { manifest } = await sealCapture(payloadFor(spool), deps(store, '2026-01-02T03:00:10.000Z', { signingKey: async () => key, timestamp: down }));
    const warc = manifest.artifacts.find((a) => a.role === 'warc')!;
    const wacz = manifest.artifacts.find((a) => a.role === 'wacz')!;
    expect(wacz).toMatchObject({ name: 'derived/traffic.wacz', mediaType: 'application/wacz', derivedFrom: { source: 'traffic.warc.gz', sourceSha256: warc.sha256, method: 'wacz-1.1.1', tool: expect.stringMatching(/^warcio\.js \S+ \(CDXJ\) \+ yazl \S+$/) } });
    expect(manifest.enrichment.find((e) => e.step === 'wacz')).toMatchObject({ artifact: 'traffic.warc.gz', status: 'partial', message: 'not timestamped: http://tsa.invalid/: TIMESTAMP_FAILED: connection refused' });
    const file = path.join(root, 'sealed.wacz');
    writeFileSync(file, await store.getBytes(wacz.storeKey));
    const check = await checkWacz(file);
    expect(check.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(check.digest).toMatchObject({ signedBy: key.fingerprint, timestamps: [] });
    expect(check.warcs).toEqual(['archive/traffic.warc.gz']);
  });

  it('a retried seal keeps the WACZ already sealed (a new one would differ: new signature, new tokens)', async () => {
    const store = await FsStore.open(path.join(root, 'store-2'));
    const payload = payloadFor(spool);
    const first = await sealCapture(payload, deps(store, '2026-01-02T03:00:10.000Z', { signingKey: async () => generateWaczKey(), timestamp: down }));
    // Later, and with another key: were the WACZ made again, the manifest would differ and the store refuse it.
    const again = await sealCapture(payload, deps(store, '2026-01-02T04:00:00.000Z', { signingKey: async () => generateWaczKey(), timestamp: down }));
    expect(again.manifestBytes.equals(first.manifestBytes)).toBe(true);
  });

  it('without a signing key it is made unsigned, and says so', async () => {
    const store = await FsStore.open(path.join(root, 'store-3'));
    const { manifest } = await sealCapture(payloadFor(spool), deps(store, '2026-01-02T03:00:10.000Z'));
    expect(manifest.artifacts.some((a) => a.role === 'wacz')).toBe(true);
    expect(manifest.enrichment.find((e) => e.step === 'wacz')).toMatchObject({ status: 'partial', message: 'not signed (no WACZ signing key given); not timestamped (no TSA given)' });
  });

  it('a WARC that cannot be indexed gives a failed step, no WACZ, and the capture is still sealed', async () => {
    const bad = path.join(root, 'bad-spool');
    mkdirSync(bad, { recursive: true });
    writeFileSync(path.join(bad, 'traffic.warc.gz'), 'not a WARC at all\r\n\r\n');
    const store = await FsStore.open(path.join(root, 'store-4'));
    const { manifest } = await sealCapture(payloadFor(bad), deps(store, '2026-01-02T03:00:10.000Z', { signingKey: async () => generateWaczKey(), timestamp: down }));
    expect(manifest.artifacts.map((a) => a.role)).toEqual(['warc']);
    expect(manifest.enrichment.find((e) => e.step === 'wacz')).toMatchObject({ status: 'failed', message: expect.stringMatching(/could not be indexed/) });
  });
});
