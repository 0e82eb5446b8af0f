import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { isoUtc, type Clock } from '../lib/clock.js';
import { mapLimit } from '../lib/concurrency.js';
import { IntegrityError, PermanentError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Artifact, Derivation, SpoolDerivation } from '../schemas/artifact.js';
import type { Config } from '../schemas/config.js';
import type { JobProgress, SealPayload } from '../schemas/jobs.js';
import { CAPTURE_MANIFEST_VERSION, CaptureManifest, type EnrichmentRecord } from '../schemas/manifest.js';
import { canonicalBytes, sha256Digest } from './canonical.js';
import { derivedArtifact, errMessage, extract, recordEnrichment, type EnrichContext } from './seal-enrich.js';
import { DERIVED_PREFIX, resolveSpoolFiles, type ResolvedFile } from './spool-files.js';
import { storeKeys, type EvidenceStore, type StoredBlob } from './store.js';
import { buildWacz, WACZ_MEDIA_TYPE, WACZ_VERSION, waczTool, type WaczTimestamper } from './wacz.js';
import type { WaczSigningKey } from './wacz-key.js';

export interface SealDeps {
  store: EvidenceStore;
  clock: Clock;
  logger: Logger;
  config: Pick<Config, 'seal'>;
  software: { exhibitVersion: string };
  hostname: string;
  onProgress?(p: JobProgress): void;
  /**
   * What signs and timestamps the WACZ made from each WARC (wacz.ts). Absent: the WACZ is still
   * made, unsigned and untimestamped, and its enrichment record says so (`partial`).
   */
  wacz?: { signingKey(): Promise<WaczSigningKey>; timestamp: WaczTimestamper };
}

export interface SealOutcome {
  manifest: CaptureManifest;
  /** The exact canonical (RFC 8785) bytes stored; what gets signed and timestamped. */
  manifestBytes: Buffer;
  /** `sha256:` of manifestBytes. */
  manifestDigest: string;
  /** Where the manifest record lives: storeKeys.manifest(caseId, captureId). */
  manifestKey: string;
}

/**
 * Spool files stored and enriched at once. Three lets a store write (waiting on fsync), ffprobe (its
 * own process) and one sharp pipeline (one at a time per process, see derive.ts) overlap without
 * one capture's seal crowding out the others.
 */
const SEAL_PARALLEL = 3;

/** Progress budget: originals 70 % by bytes and enrichment 25 % by files (together), manifest 95–100 %. */
class Progress {
  constructor(private readonly sink: ((p: JobProgress) => void) | undefined) {}
  report(stage: JobProgress['stage'], percent: number, detail?: string): void {
    if (!this.sink) return;
    const p = Math.max(0, Math.min(100, Math.round(percent * 10) / 10));
    this.sink(detail === undefined ? { stage, percent: p } : { stage, percent: p, detail });
  }
}

/**
 * Seal one capture: store every spool file byte-identical (both digests computed while
 * streaming), enrich images and media (EXIF JSON, thumbnails, perceptual hash, ffprobe JSON) as
 * labelled derivatives, and write the canonical capture manifest as a named record and as a blob.
 *
 * Idempotent: sealing the same payload again stores nothing new. If a manifest for the capture
 * already exists and differs only in `sealedAt` (a retry at a later time), the stored one is kept
 * and returned; any other difference is an IntegrityError STORE_CONFLICT.
 */
export async function sealCapture(payload: SealPayload, deps: SealDeps): Promise<SealOutcome> {
  const { store, config } = deps;
  const caseId = payload.request.caseId;
  const log = deps.logger.child({ context: 'seal', captureId: payload.captureId, stage: 'seal' });
  const progress = new Progress(deps.onProgress);

  const files = await resolveSpoolFiles(payload.spoolDir, payload.output.files);
  files.sort((a, b) => (a.spool.path < b.spool.path ? -1 : a.spool.path > b.spool.path ? 1 : 0));
  const totalBytes = files.reduce((n, f) => n + f.size, 0) || 1;

  // 1 + 2. Each original is stored (hashed once while it is written) and then enriched; a few
  // files at a time, so store writes, sharp's decoding and ffprobe's start-up overlap. Enrichment is
  // optional: every outcome is recorded, none fails the seal.
  const derived: Artifact[] = [];
  const enrichment: EnrichmentRecord[] = [];
  const record = (artifact: string, step: EnrichmentRecord['step'], status: EnrichmentRecord['status'], tool: string | null, message: string | null): void => {
    enrichment.push({ artifact, step, status, tool, message });
    if (status === 'failed') log.warn({ artifact, step, reason: message }, 'enrichment failed');
  };
  let doneBytes = 0;
  let enriched = 0;
  // Files overlap, so progress sums both parts: stored bytes (70 %) and enriched files (25 %).
  const overall = (): number => (doneBytes / totalBytes) * 70 + (enriched / Math.max(1, files.length)) * 25;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'exhibit-seal-'));
  const enrichCtx: EnrichContext = { store, config, tmp, derived, record };
  let originals: Array<{ file: ResolvedFile; artifact: Artifact }>;
  try {
    originals = await mapLimit(files, SEAL_PARALLEL, async (file, i) => {
      progress.report('hashing', overall(), file.spool.path);
      // Reading the spool file for metadata needs no digest: it runs while the file is stored.
      const extracting = extract(file, i, enrichCtx);
      let blob: StoredBlob;
      try {
        blob = await store.putFile(file.abs, { contentType: file.spool.mediaType });
      } catch (err) {
        await extracting;
        throw err;
      }
      if (blob.size !== file.size) {
        await extracting;
        throw new IntegrityError('HASH_MISMATCH', `spool file ${file.spool.path} changed while sealing: ${file.size} bytes listed, ${blob.size} stored`);
      }
      doneBytes += file.size;
      progress.report('storing', overall(), file.spool.path);
      log.debug({ artifact: file.spool.path, sha256: blob.sha256, created: blob.created }, 'original stored');
      const artifact: Artifact = {
        name: file.spool.path,
        role: file.spool.role,
        mediaType: file.spool.mediaType,
        size: blob.size,
        sha256: blob.sha256,
        sha512: blob.sha512,
        storeKey: blob.key,
        sourceUrl: file.spool.sourceUrl,
        derivedFrom: null,
        perceptualHash: null,
        flags: [...file.spool.flags],
      };
      await recordEnrichment(artifact, await extracting, enrichCtx);
      enriched += 1;
      progress.report('enriching', overall(), artifact.name);
      return { file, artifact };
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }

  /** The WACZ of one sealed WARC, stored as a derivative; every outcome is an enrichment record. */
  async function sealWacz(file: ResolvedFile, warc: Artifact): Promise<void> {
    const page = payload.output.page;
    const url = page.finalUrl ?? page.requestedUrl;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'exhibit-wacz-'));
    const tool = waczTool();
    try {
      const signingKey = deps.wacz ? await deps.wacz.signingKey() : null;
      const base = path.posix.basename(warc.name).toLowerCase();
      const built = await buildWacz({
        warcs: [{ path: file.abs, name: /^[a-z0-9][a-z0-9._-]*\.warc(\.gz)?$/.test(base) ? base : /\.gz$/i.test(base) ? 'data.warc.gz' : 'data.warc', sha256: warc.sha256 }],
        outPath: path.join(dir, 'capture.wacz'),
        pages: [{ url, title: page.title, fallbackTs: payload.output.environment.startedAt }],
        title: page.title ? `${page.title} (${url})` : url,
        description: `Capture ${payload.captureId} of case ${caseId}, requested URL ${payload.request.url}, sealed by Exhibit ${deps.software.exhibitVersion}. The WARC under archive/ is the sealed ${warc.name} (${warc.sha256}), byte for byte.`,
        created: isoUtc(deps.clock.now()),
        software: `Exhibit ${deps.software.exhibitVersion}`,
        signingKey,
        timestamp: deps.wacz?.timestamp ?? null,
      });
      const blob = await store.putFile(built.path, { contentType: WACZ_MEDIA_TYPE });
      const name = `${DERIVED_PREFIX}${warc.name.replace(/\.warc(\.gz)?$/i, '')}.wacz`;
      derived.push(derivedArtifact(name, 'wacz', WACZ_MEDIA_TYPE, blob, { source: warc.name, sourceSha256: warc.sha256, method: `wacz-${WACZ_VERSION}`, tool }));
      const gaps = [
        ...(built.signed ? [] : ['not signed (no WACZ signing key given)']),
        ...(built.timestamps.length ? [] : [`not timestamped${built.timestampFailures.length ? `: ${built.timestampFailures.map((f) => `${f.tsaUrl}: ${f.message}`).join('; ')}` : ' (no TSA given)'}`]),
        ...built.pages.filter((p) => !p.recorded).map((p) => `no response for the page ${p.url} in the WARC; its time is the capture start`),
      ];
      record(warc.name, 'wacz', gaps.length ? 'partial' : 'ok', tool, gaps.length ? gaps.join('; ') : null);
    } catch (err) {
      // The WARC changed after it was stored: the seal itself is wrong, not only the WACZ.
      if (err instanceof IntegrityError) throw err;
      record(warc.name, 'wacz', 'failed', tool, errMessage(err));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  // Collector-made derivatives (an MP4 assembled from recorded HLS segments) name their source.
  for (const { file, artifact } of originals) {
    if (file.spool.derivedFrom) artifact.derivedFrom = collectorDerivation(file.spool.path, file.spool.derivedFrom, originals.map((o) => o.artifact));
  }

  // 2b. A WACZ per WARC. A retry keeps the one already sealed: a new one would differ (its
  // signature and timestamps are made afresh), and the sealed manifest names the first.
  const manifestKey = storeKeys.manifest(caseId, payload.captureId);
  const existingManifest = (await store.stat(manifestKey)) ? CaptureManifest.safeParse(safeJson(await store.getBytes(manifestKey))) : null;
  for (const { file, artifact } of originals) {
    if (artifact.role !== 'warc' || artifact.derivedFrom) continue;
    const prior = existingManifest?.success ? existingManifest.data.artifacts.find((a) => a.role === 'wacz' && a.derivedFrom?.source === artifact.name && a.derivedFrom.sourceSha256 === artifact.sha256) : undefined;
    if (prior && (await store.stat(prior.storeKey))) {
      derived.push(prior);
      const was = existingManifest!.data!.enrichment.find((e) => e.artifact === artifact.name && e.step === 'wacz');
      record(artifact.name, 'wacz', was?.status ?? 'ok', was?.tool ?? waczTool(), was?.message ?? null);
      continue;
    }
    await sealWacz(file, artifact);
  }

  // 3. The manifest.
  progress.report('storing', 95, 'manifest');
  const artifacts = [...originals.map((o) => o.artifact), ...derived].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < artifacts.length; i++) {
    if (artifacts[i]!.name === artifacts[i - 1]!.name) throw new IntegrityError('INVALID_INPUT', `two artifacts named ${artifacts[i]!.name}`);
  }
  enrichment.sort((a, b) => (a.artifact === b.artifact ? (a.step < b.step ? -1 : a.step > b.step ? 1 : 0) : a.artifact < b.artifact ? -1 : 1));
  const draft = {
    schemaVersion: CAPTURE_MANIFEST_VERSION,
    captureId: payload.captureId,
    caseId,
    request: {
      url: payload.request.url,
      requestedBy: payload.request.requestedBy,
      legalBasis: payload.request.legalBasis ?? null,
      submittedAt: payload.submittedAt,
      options: payload.request.options,
      ...(payload.request.operator ? { operator: payload.request.operator } : {}),
      ...(payload.request.user ? { user: payload.request.user } : {}),
    },
    status: payload.output.status,
    failure: payload.output.failure,
    page: payload.output.page,
    environment: payload.output.environment,
    artifacts,
    enrichment,
    sealedAt: isoUtc(deps.clock.now()),
    sealer: { exhibitVersion: deps.software.exhibitVersion, hostname: deps.hostname },
  };
  const parsed = CaptureManifest.safeParse(draft);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new PermanentError('INVALID_INPUT', `capture manifest does not validate: ${issues}`);
  }
  let manifest = parsed.data;
  let manifestBytes = canonicalBytes(manifest);

  // A retry later in time: keep the manifest already sealed when only sealedAt differs.
  if (await store.stat(manifestKey)) {
    const existingBytes = await store.getBytes(manifestKey);
    const existing = CaptureManifest.safeParse(safeJson(existingBytes));
    if (existing.success) {
      const sameButTime = canonicalBytes({ ...manifest, sealedAt: existing.data.sealedAt });
      if (sameButTime.equals(existingBytes)) {
        manifest = existing.data;
        manifestBytes = existingBytes;
      }
    }
  }

  await store.putBytes(manifestBytes, { contentType: 'application/json' });
  const { created } = await store.putRecord(manifestKey, manifestBytes, { contentType: 'application/json' });
  const manifestDigest = sha256Digest(manifestBytes);
  progress.report('storing', 100, 'manifest');
  log.info({ manifestKey, manifestDigest, artifacts: artifacts.length, created }, 'capture sealed');
  return { manifest, manifestBytes, manifestDigest, manifestKey };
}

/**
 * The Derivation of a file the collector made: the source's digest is the sealed artifact's when the
 * source is a spool file of this capture, else the digest the collector stated. A derivative of
 * nothing we can name is refused rather than sealed as if it were an original.
 */
export function collectorDerivation(name: string, from: SpoolDerivation, originals: ReadonlyArray<Pick<Artifact, 'name' | 'sha256'>>): Derivation {
  if (from.source === name) throw new PermanentError('INVALID_INPUT', `spool file ${name} is listed as derived from itself`);
  const source = originals.find((a) => a.name === from.source);
  const sourceSha256 = source?.sha256 ?? from.sourceSha256;
  if (!sourceSha256) throw new PermanentError('INVALID_INPUT', `spool file ${name} is derived from ${from.source}, which is not an artifact of this capture and carries no sha256`);
  if (source && from.sourceSha256 && from.sourceSha256 !== source.sha256) {
    throw new IntegrityError('HASH_MISMATCH', `spool file ${name} was derived from ${from.source} with ${from.sourceSha256}, but that artifact was sealed as ${source.sha256}`);
  }
  return { source: from.source, sourceSha256, method: from.method, tool: from.tool };
}

function safeJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
}
