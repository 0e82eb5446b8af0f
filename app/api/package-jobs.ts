import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BrowserPool } from '../../collectors/browser/pool.js';
import { isoUtc } from '../../lib/clock.js';
import { PermanentError, toFailure, TransientError } from '../../lib/errors.js';
import { childLogger, type Logger } from '../../lib/logger.js';
import { PackageJob, type UserRecord } from '../../schemas/api.js';
import type { PackageProgress } from '../../evidence/package/build.js';
import { packageCase } from '../package-case.js';
import type { ShareSpec } from '../../evidence/package/build-share.js';
import { storeKeys } from '../../evidence/store.js';
import type { Services } from '../../workers/runtime.js';
import { actorOf } from './actor.js';

/** Rough share of the whole build per phase, for one progress bar. */
function percentOf(p: PackageProgress): number {
  switch (p.phase) {
    case 'head':
      return 3;
    case 'certificate':
      return 8;
    case 'payload':
      return 10 + Math.round((80 * p.bytesDone) / Math.max(1, p.bytesTotal));
    case 'tags':
      return 92;
    case 'custody':
      return 96;
    case 'done':
      return 100;
  }
}

/**
 * Packages built for API users: started in the background, progress kept in Redis (so any server
 * process can answer a poll), the zip written under `dir`. The build itself is evidence/package/build.ts;
 * the `packaged` custody event names the user who asked.
 */
export class PackageJobs {
  private readonly running = new Map<string, Promise<void>>();
  private browsers: BrowserPool | null = null;
  private readonly log: Logger;

  constructor(
    private readonly s: Services,
    private readonly dir: string,
    logger: Logger,
  ) {
    this.log = childLogger(logger, 'package');
  }

  private key(id: string) {
    return `${this.s.config.redis.prefix}:api:package:${id}`;
  }

  private async save(job: PackageJob): Promise<void> {
    await this.s.redis.set(this.key(job.packageId), JSON.stringify(PackageJob.parse(job)));
  }

  async get(id: string): Promise<PackageJob | null> {
    const raw = await this.s.redis.get(this.key(id));
    return raw ? PackageJob.parse(JSON.parse(raw)) : null;
  }

  /** Sealed capture ids of a case (those with a manifest in the store). */
  async sealedCaptureIds(caseId: string): Promise<string[]> {
    const keys = await this.s.store.list(storeKeys.captures(caseId));
    return keys.map((k) => /^cases\/[^/]+\/captures\/([^/]+)\/manifest\.json$/.exec(k)?.[1]).filter((x): x is string => !!x);
  }

  /** Check the request, record the job and start building. NOT_FOUND for captures not sealed in the case. */
  async start(caseId: string, captureIds: string[] | undefined, user: UserRecord, opts: { graph?: boolean; share?: ShareSpec } = {}): Promise<PackageJob> {
    const sealed = new Set(await this.sealedCaptureIds(caseId));
    if (captureIds?.length) {
      const missing = captureIds.filter((id) => !sealed.has(id));
      if (missing.length) throw new PermanentError('NOT_FOUND', `no sealed capture ${missing.join(', ')} in case ${caseId}`);
    } else if (sealed.size === 0) {
      throw new PermanentError('NOT_FOUND', `case ${caseId} has no sealed captures to package`);
    }
    const packageId = this.s.newId();
    const now = isoUtc(this.s.clock.now());
    const job: PackageJob = {
      schemaVersion: 'exhibit.api-package/1',
      packageId,
      caseId,
      captureIds: captureIds?.length ? [...new Set(captureIds)] : null,
      graph: Boolean(opts.graph),
      state: 'building',
      phase: 'queued',
      percent: 0,
      requestedBy: user.name,
      createdAt: now,
      finishedAt: null,
      // The bag inside the zip is named after the file: case, date and a short id.
      fileName: `${caseId}${opts.share ? `-to-${opts.share.partner}` : ''}-${now.slice(0, 10)}-${packageId.slice(-12)}.zip`,
      sha256: null,
      size: null,
      failure: null,
      ...(opts.share ? { share: { partner: opts.share.partner, legalBasis: opts.share.legalBasis, tlp: opts.share.tlp, expires: opts.share.expires, withhold: opts.share.withhold } } : {}),
    };
    await this.save(job);
    const p = this.build(job, user, opts.share).finally(() => this.running.delete(packageId));
    this.running.set(packageId, p);
    return job;
  }

  filePath(job: PackageJob): string {
    return path.join(this.dir, job.packageId, job.fileName);
  }

  private async build(job: PackageJob, user: UserRecord, share: ShareSpec | undefined): Promise<void> {
    const s = this.s;
    let last = 0;
    let current = job;
    try {
      await mkdir(path.dirname(this.filePath(job)), { recursive: true });
      this.browsers ??= BrowserPool.fromConfig({ ...s.config.capture, concurrency: 1 }, childLogger(s.logger, 'browser'));
      const built = await packageCase(s, this.browsers, {
        caseId: job.caseId,
        ...(job.captureIds ? { captureIds: job.captureIds } : {}),
        graph: Boolean(job.graph),
        ...(share ? { share } : {}),
        outPath: this.filePath(job),
        packageId: job.packageId,
        actor: actorOf(user),
        logger: this.log,
        onProgress: (p) => {
          current = { ...current, phase: p.phase, percent: percentOf(p) };
          const now = Date.now();
          if (now - last > 250) {
            last = now;
            void this.save(current).catch(() => undefined);
          }
        },
      });
      // An unsealed package (no TSA answered) would not verify: never offered as ready.
      if (!built.sealed) throw new TransientError('TIMESTAMP_FAILED', `the package was written UNSEALED and will not verify: ${built.unsealedReason}; build it again when the TSA answers`);
      current = { ...current, state: 'ready', phase: 'done', percent: 100, finishedAt: isoUtc(s.clock.now()), sha256: built.sha256, size: built.size };
      await this.save(current);
    } catch (err) {
      this.log.error({ err, packageId: job.packageId, caseId: job.caseId }, 'package build failed');
      current = { ...current, state: 'failed', finishedAt: isoUtc(s.clock.now()), failure: toFailure(err) };
      await this.save(current).catch(() => undefined);
    }
  }

  /** Open the built zip for download. */
  async open(job: PackageJob): Promise<{ stream: Readable; size: number }> {
    const file = this.filePath(job);
    const info = await stat(file).catch(() => null);
    if (!info) throw new PermanentError('NOT_FOUND', `package ${job.packageId} is not on this server`);
    return { stream: createReadStream(file), size: info.size };
  }

  /** Wait for running builds, then release the browser. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
    await this.browsers?.close();
    this.browsers = null;
  }
}
