import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PermanentError } from '../../../lib/errors.js';
import type { Context } from 'hono';
import { PackageJob, PackageRequest, VerifyResponse, type UserRecord } from '../../../schemas/api.js';
import { localAnchors } from '../../../evidence/trust.js';
import { verifyPackage } from '../../../evidence/package/verify.js';
import { currentUser, may, requireCase } from '../auth.js';
import type { ApiDeps, ApiEnv } from '../context.js';
import { HttpError } from '../errors.js';
import { recordRead } from '../evidence-reads.js';
import type { RouteTable } from '../route-table.js';
import { pollingSse } from '../sse.js';
import { contentDisposition } from './captures.js';

/** Zip entries of an upload may add up to at most this (never less than 64 MiB, for small packages). */
export const inflateLimit = (uploadBytes: number, ratio: number) => Math.max(64 * 1024 * 1024, uploadBytes * ratio);

/** Certified packages (build, progress, download) and verification of an uploaded package. */
export function packageRoutes(t: RouteTable, d: ApiDeps): void {
  const s = d.services;
  const jobOf = async (caseId: string, packageId: string): Promise<PackageJob> => {
    const job = /^[0-9a-f-]{36}$/.test(packageId) ? await d.packages.get(packageId) : null;
    // A package built for a partner is reached through /shares only (its own permission).
    if (!job || job.caseId !== caseId || job.share) throw new PermanentError('NOT_FOUND', `no package ${packageId} of case ${caseId}`);
    return job;
  };

  t.def(
    { method: 'post', path: '/api/cases/:caseId/packages', summary: 'Build a certified package of the case or of chosen captures (in the background), optionally with the case graph as a derived analysis product', tag: 'packages', access: 'package', body: PackageRequest, response: PackageJob, status: 202, errors: [404] },
    async (c, { body }) => {
      const caseId = c.req.param('caseId') ?? '';
      const user = requireCase(c, 'package', caseId);
      return d.packages.start(caseId, body.captureIds, user, { graph: body.graph });
    },
  );

  t.def({ method: 'get', path: '/api/cases/:caseId/packages/:packageId', summary: 'State and progress of a package build', tag: 'packages', access: 'package', response: PackageJob, errors: [404] }, async (c) => {
    const caseId = c.req.param('caseId') ?? '';
    requireCase(c, 'package', caseId);
    return jobOf(caseId, c.req.param('packageId') ?? '');
  });

  t.def(
    { method: 'get', path: '/api/cases/:caseId/packages/:packageId/events', summary: 'Progress of a package build (server-sent events `package`, then `done`)', tag: 'packages', access: 'package', produces: 'text/event-stream', errors: [404] },
    async (c) => {
      const caseId = c.req.param('caseId') ?? '';
      requireCase(c, 'package', caseId);
      const job = await jobOf(caseId, c.req.param('packageId') ?? '');
      return pollingSse(c, { name: 'package', intervalMs: d.options.progressIntervalMs, poll: async () => (await d.packages.get(job.packageId)) ?? job, isDone: (j) => j.state !== 'building' });
    },
  );

  t.def(
    { method: 'get', path: '/api/cases/:caseId/packages/:packageId/download', summary: 'Download a built package (zip); recorded as a custody event', tag: 'packages', access: 'package', produces: 'application/zip', errors: [404, 409] },
    async (c) => {
      const caseId = c.req.param('caseId') ?? '';
      const user = requireCase(c, 'package', caseId);
      const job = await jobOf(caseId, c.req.param('packageId') ?? '');
      return downloadResponse(d, user, job);
    },
  );

  t.def(
    {
      method: 'post',
      path: '/api/verify',
      summary: 'Verify an uploaded package (zip body, application/zip) offline; recorded on the custody log of its case when you are a member',
      tag: 'packages',
      access: 'verify',
      consumes: 'application/zip',
      response: VerifyResponse,
      errors: [413, 415],
      maxBodyBytes: d.options.maxUploadBytes,
    },
    async (c) => {
      const user = currentUser(c);
      const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-verify-'));
      try {
        const file = path.join(dir, 'upload.zip');
        const { size: n, sha256: uploadSha256 } = await receiveZipUpload(c, file);
        // This deployment pins its trust store and its own keys and TSA CAs; a package from elsewhere
        // whose signer is not pinned there is reported `unauthenticated`. What the zip may inflate to is
        // bounded by what was uploaded: a small zip deflating to many GiB is refused before it is inflated.
        const anchors = await localAnchors({ trustFile: s.config.trust.file, keysDir: s.config.keys.dir, tsaCaFiles: s.config.tsa.caFiles });
        const checked = await verifyPackage(file, { anchors, maxTotalBytes: inflateLimit(n, d.options.maxInflateRatio) });
        const named = c.req.header('x-filename');
        const source = named ? path.basename(named).slice(0, 200) : 'upload.zip';
        const report = withoutServerPaths(checked, [
          [file, source],
          [dir, '(upload)'],
          [s.config.trust.file, 'the server trust store'],
          [s.config.keys.dir, 'the server key folder'],
          ...s.config.tsa.caFiles.map((f): [string, string] => [f, 'a server TSA certificate']),
        ]);
        report.source = source;
        let custodySeq: number | null = null;
        if (report.caseId && user.cases.includes(report.caseId) && may(user, 'verify')) {
          custodySeq = await recordRead(s, user, report.caseId, 'verified', { digests: [uploadSha256] }, { package: report.source, ok: report.ok, verdict: report.verdict, checks: report.checks.length, failures: report.failures.map((f) => `${f.item}: ${f.check}`).slice(0, 50) });
        }
        d.logger.info({ context: 'api', user: user.name, caseId: report.caseId, ok: report.ok, verdict: report.verdict, uploadSha256 }, 'package verified');
        return { report, uploadSha256, custodySeq };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
}

/**
 * Stream a zip request body to `file`, counting and hashing it. The size limit is enforced while the
 * body streams in (body-limit.ts, the route's maxBodyBytes). 415 unless sent as a zip, 400 when empty.
 */
export async function receiveZipUpload(c: Context<ApiEnv>, file: string): Promise<{ size: number; sha256: string }> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/zip' && type !== 'application/octet-stream') throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the package as application/zip');
  const body = c.req.raw.body;
  if (!body) throw new HttpError(400, 'INVALID_INPUT', 'empty body: send the package zip');
  const hash = createHash('sha256');
  let n = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      n += chunk.length;
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>), counter, createWriteStream(file));
  if (n === 0) throw new HttpError(400, 'INVALID_INPUT', 'empty body: send the package zip');
  return { size: n, sha256: `sha256:${hash.digest('hex')}` };
}

/** A built package as a download, recorded as a `downloaded` custody event. 409 until it is ready. */
export async function downloadResponse(d: ApiDeps, user: UserRecord, job: PackageJob): Promise<Response> {
  if (job.state !== 'ready' || !job.sha256) throw new HttpError(409, 'NOT_READY', `package ${job.packageId} is ${job.state}`);
  const { stream, size } = await d.packages.open(job);
  await recordRead(d.services, user, job.caseId, 'downloaded', { digests: [job.sha256] }, { package: job.fileName, packageId: job.packageId, size, ...(job.share ? { partner: job.share.partner } : {}) });
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, {
    headers: {
      'Content-Type': 'application/zip',
      'Content-Length': String(size),
      'Content-Disposition': contentDisposition('attachment', job.fileName),
      'Repr-Digest': `sha-256=:${Buffer.from(job.sha256.slice(7), 'hex').toString('base64')}:`,
      'Cache-Control': 'private, no-store',
    },
  });
}

/** The report with every server path (the upload's temporary folder, the trust store, key and CA files) replaced by a name: a browser is never shown the server's layout. */
export function withoutServerPaths<T>(report: T, paths: ReadonlyArray<readonly [string | null | undefined, string]>): T {
  let text = JSON.stringify(report);
  const longestFirst = paths.filter((p): p is readonly [string, string] => typeof p[0] === 'string' && p[0].length > 1).sort((a, b) => b[0].length - a[0].length);
  for (const [p, name] of longestFirst) text = text.split(JSON.stringify(p).slice(1, -1)).join(JSON.stringify(name).slice(1, -1));
  return JSON.parse(text) as T;
}
