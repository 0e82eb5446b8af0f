/**
 * Synthetic inputs for the storage benchmarks: seal payloads for spools we write ourselves (no
 * browser), and large random files. The facts are plausible but invented; they validate against
 * the schemas like a real collector's output.
 */
import { randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import os from 'node:os';
import type { SpoolFile } from '../../schemas/artifact.js';
import type { SealPayload } from '../../schemas/jobs.js';

export function spoolFile(p: string, role: SpoolFile['role'], mediaType: string, sourceUrl: string | null = null): SpoolFile {
  return { path: p, role, mediaType, sourceUrl, flags: [] };
}

/** A seal payload for a spool written by the bench (status `captured`). */
export function syntheticSealPayload(args: { captureId: string; caseId: string; url: string; spoolDir: string; files: SpoolFile[]; at?: Date }): SealPayload {
  const at = (args.at ?? new Date()).toISOString();
  return {
    captureId: args.captureId,
    submittedAt: at,
    request: { url: args.url, caseId: args.caseId, requestedBy: 'bench-analyst', legalBasis: 'Benchmark only — no legal process', options: { allowPrivateNetwork: true } },
    spoolDir: args.spoolDir,
    output: {
      status: 'captured',
      failure: null,
      page: {
        requestedUrl: args.url,
        finalUrl: args.url,
        redirects: [],
        status: 200,
        headers: [['content-type', 'text/html; charset=utf-8']],
        remoteIp: '127.0.0.1',
        dns: { host: '127.0.0.1', addresses: ['127.0.0.1'], error: null },
        tls: null,
        title: 'Benchmark capture',
        canonicalUrl: null,
        lang: 'en',
        dir: 'ltr',
        meta: { openGraph: {}, twitter: {}, description: null },
        jsonLd: [],
        documentSize: { width: 1280, height: 2000 },
        requestCount: 9,
        blockedRequests: [],
    collectorRequests: [],
      },
      environment: {
        exhibitVersion: '0.1.0',
        gitCommit: null,
        collector: { id: 'web', version: '1.0.0' },
        playwrightVersion: 'bench',
        browserVersion: 'bench',
        userAgent: 'Mozilla/5.0 (bench)',
        viewport: { width: 1280, height: 900 },
        locale: 'en-GB',
        timezone: 'UTC',
        hostname: os.hostname(),
        platform: process.platform,
        nodeVersion: process.version,
        operator: 'bench-analyst',
        startedAt: at,
        finishedAt: at,
        network: { localAddresses: ['127.0.0.1'], proxy: null, egressIp: null, egressIpSource: null, egressIpError: 'not configured' },
        captureMethod: 'bench-synthetic',
      },
      files: args.files,
    },
  };
}

/** Write `bytes` of random data to `file` (never overwrites), 4 MiB at a time. */
export async function writeRandomFile(file: string, bytes: number): Promise<void> {
  const chunk = Buffer.allocUnsafe(4 * 1024 * 1024);
  const fh = await open(file, 'wx', 0o600);
  try {
    let left = bytes;
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      randomFillSync(chunk, 0, n);
      await fh.write(chunk, 0, n);
      left -= n;
    }
  } finally {
    await fh.close();
  }
}
