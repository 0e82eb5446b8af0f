import { lstat, mkdtemp, realpath, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { isoUtc, type Clock } from '../lib/clock.js';
import { mapLimit } from '../lib/concurrency.js';
import { IntegrityError, PermanentError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Artifact, Derivation, SpoolDerivation, SpoolFile } from '../schemas/artifact.js';
import type { Config } from '../schemas/config.js';
import { SealPayload, type JobProgress } from '../schemas/jobs.js';
import type { ImageMetadataDocument } from '../schemas/image-metadata.js';
import { CAPTURE_MANIFEST_VERSION, CaptureManifest, type EnrichmentRecord } from '../schemas/manifest.js';
import { canonicalBytes, sha256Digest } from './canonical.js';
import { makeThumbnail, openRaster, perceptualHash, SHARP_TOOL, type RasterSource } from './derive.js';
import { extractImageMetadata, probeMedia, type ImageMetadataResult, type MetadataResult } from './metadata.js';
import { storeKeys, type EvidenceStore, type StoredBlob } from './store.js';

export interface SealDeps {
  store: EvidenceStore;
  clock: Clock;
  logger: Logger;
  config: Pick<Config, 'seal'>;
  software: { exhibitVersion: string };
  hostname: string;
  onProgress?(p: JobProgress): void;
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
 * Images that are documents, not pixels: left alone. Every other image type is decoded (sharp, or
 * libheif's heif-convert for HEVC-coded HEIF); one that cannot be is flagged, never skipped quietly.
 */
const NOT_RASTER_TYPES = new Set(['image/svg+xml']);
/** Images whose metadata we read: exifr 7 reads all but WebP, whose chunks metadata.ts hands it. */
const EXIF_TYPES = new Set(['image/jpeg', 'image/jpg', 'image/pjpeg', 'image/png', 'image/tiff', 'image/avif', 'image/heic', 'image/heif', 'image/webp']);

/**
 * Spool files stored and enriched at once. Three lets a store write (waiting on fsync), ffprobe (its
 * own process) and one sharp pipeline (one at a time per process, see derive.ts) overlap without
 * one capture's seal crowding out the others.
 */
const SEAL_PARALLEL = 3;

/** Spool names reserved for derivatives, so an original can never collide with one. */
const DERIVED_PREFIX = 'derived/';

function baseType(mediaType: string): string {
  return mediaType.split(';')[0]!.trim().toLowerCase();
}

/** Progress budget: originals 70 % by bytes and enrichment 25 % by files (together), manifest 95–100 %. */
class Progress {
  constructor(private readonly sink: ((p: JobProgress) => void) | undefined) {}
  report(stage: JobProgress['stage'], percent: number, detail?: string): void {
    if (!this.sink) return;
    const p = Math.max(0, Math.min(100, Math.round(percent * 10) / 10));
    this.sink(detail === undefined ? { stage, percent: p } : { stage, percent: p, detail });
  }
}

/** What the enrichment tools found in one spool file, before its digest is known. */
type Extracted =
  | { kind: 'none' }
  | { kind: 'not-raster'; type: string }
  | {
      kind: 'image';
      type: string;
      /** Tool chain that decoded the pixels (null when nothing could open them). */
      pixelsTool: string | null;
      phash: { ok: true; value: string } | { ok: false; error: string };
      /** Null when exifr does not read this type. */
      exif: ImageMetadataResult | null;
      thumb: { ok: true; method: string; tool: string; dest: string } | { ok: false; error: string };
    }
  | { kind: 'media'; probe: MetadataResult };

interface ResolvedFile {
  spool: SpoolFile;
  abs: string;
  size: number;
}

/**
 * Resolve every spool path inside the spool directory and refuse anything that could reach
 * outside it: `..`, absolute paths, symlinks anywhere on the way, non-regular files, duplicates.
 * All files are checked before anything is stored.
 */
async function resolveSpoolFiles(spoolDir: string, files: readonly SpoolFile[]): Promise<ResolvedFile[]> {
  let root: string;
  try {
    root = await realpath(spoolDir);
  } catch (cause) {
    throw new PermanentError('NOT_FOUND', `spool directory ${spoolDir} is not readable: ${(cause as Error).message}`, { cause });
  }
  const seen = new Set<string>();
  const out: ResolvedFile[] = [];
  for (const f of files) {
    const refuse = (why: string): never => {
      throw new IntegrityError('INVALID_INPUT', `spool file ${JSON.stringify(f.path)} refused: ${why}`);
    };
    const p = f.path;
    if (!p || p.startsWith('/') || p.includes('\\') || p.includes('\0')) refuse('path must be relative, POSIX, without NUL');
    const segs = p.split('/');
    if (segs.some((s) => s === '' || s === '.' || s === '..')) refuse('path must not contain empty, "." or ".." segments');
    if (p.startsWith(DERIVED_PREFIX)) refuse(`"${DERIVED_PREFIX}" is reserved for derivatives`);
    if (seen.has(p)) refuse('listed twice');
    seen.add(p);
    const abs = path.resolve(root, ...segs);
    if (!abs.startsWith(root + path.sep)) refuse('resolves outside the spool directory');
    // No symlink anywhere below the spool root: a link could point at any file on the host.
    let cur = root;
    for (const seg of segs) {
      cur = path.join(cur, seg);
      let st;
      try {
        st = await lstat(cur);
      } catch (cause) {
        throw new PermanentError('NOT_FOUND', `spool file ${JSON.stringify(p)} is missing (${(cause as Error).message})`, { cause });
      }
      if (st.isSymbolicLink()) refuse(`${path.relative(root, cur)} is a symbolic link`);
      if (cur === abs) {
        if (!st.isFile()) refuse('not a regular file');
        out.push({ spool: f, abs, size: st.size });
      }
    }
  }
  return out;
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
export async function sealCapture(payloadIn: SealPayload, deps: SealDeps): Promise<SealOutcome> {
  const input = SealPayload.safeParse(payloadIn);
  if (!input.success) {
    throw new PermanentError('INVALID_INPUT', `seal payload is invalid: ${input.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const payload = input.data;
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
  let originals: Array<{ file: ResolvedFile; artifact: Artifact }>;
  try {
    originals = await mapLimit(files, SEAL_PARALLEL, async (file, i) => {
      progress.report('hashing', overall(), file.spool.path);
      // Reading the spool file for metadata needs no digest: it runs while the file is stored.
      const extracting = extract(file, i);
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
      await recordEnrichment(artifact, await extracting);
      enriched += 1;
      progress.report('enriching', overall(), artifact.name);
      return { file, artifact };
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }

  /** What the enrichment tools say about one spool file; never throws (failures are outcomes). */
  async function extract(file: ResolvedFile, i: number): Promise<Extracted> {
    const type = baseType(file.spool.mediaType);
    if (type.startsWith('image/')) {
      if (NOT_RASTER_TYPES.has(type)) return { kind: 'not-raster', type };
      const exif = EXIF_TYPES.has(type) ? await extractImageMetadata(file.abs) : null;
      // Decoded once (a HEIC by heif-convert into a temporary PNG), then hashed and thumbnailed.
      let raster: RasterSource;
      try {
        raster = await openRaster(file.abs, { heifConvertPath: config.seal.heifConvertPath });
      } catch (err) {
        const failed = { ok: false as const, error: errMessage(err) };
        return { kind: 'image', type, pixelsTool: null, phash: failed, exif, thumb: failed };
      }
      try {
        const phash = await perceptualHash(raster).then(
          (value) => ({ ok: true as const, value }),
          (err: unknown) => ({ ok: false as const, error: errMessage(err) }),
        );
        const dest = path.join(tmp, `thumb-${i}.webp`);
        const thumb = await makeThumbnail(raster, dest, config.seal.thumbnailSize, { format: 'webp' }).then(
          (t) => ({ ok: true as const, method: t.method, tool: t.tool, dest }),
          (err: unknown) => ({ ok: false as const, error: errMessage(err) }),
        );
        return { kind: 'image', type, pixelsTool: raster.tool, phash, exif, thumb };
      } finally {
        await raster.dispose();
      }
    }
    if (type.startsWith('video/') || type.startsWith('audio/')) return { kind: 'media', probe: await probeMedia(file.abs, config.seal.ffprobePath) };
    return { kind: 'none' };
  }

  /** Store the derivatives of one sealed original (they name its digest) and record every outcome. */
  async function recordEnrichment(artifact: Artifact, ex: Extracted): Promise<void> {
    const derivation = (method: string, tool: string): Derivation => ({ source: artifact.name, sourceSha256: artifact.sha256, method, tool });
    const storeJson = async (name: string, method: string, result: Extract<MetadataResult, { ok: true }>): Promise<void> => {
      const bytes = canonicalBytes({ source: artifact.name, sourceSha256: artifact.sha256, tool: result.tool, data: result.data });
      const blob = await store.putBytes(bytes, { contentType: 'application/json' });
      derived.push(derivedArtifact(name, 'metadata', 'application/json', blob, derivation(method, result.tool)));
    };

    if (ex.kind === 'not-raster') {
      for (const step of ['perceptual-hash', 'exif', 'thumbnail'] as const) record(artifact.name, step, 'skipped', null, `${ex.type} is not a raster image format this sealer decodes`);
    } else if (ex.kind === 'image') {
      const pixelsTool = ex.pixelsTool ?? SHARP_TOOL;
      if (ex.phash.ok) {
        artifact.perceptualHash = ex.phash.value;
        record(artifact.name, 'perceptual-hash', 'ok', pixelsTool, null);
      } else {
        record(artifact.name, 'perceptual-hash', 'failed', pixelsTool, ex.phash.error);
      }

      if (!ex.exif) {
        record(artifact.name, 'exif', 'skipped', null, `exifr does not read ${ex.type}`);
      } else if (ex.exif.ok) {
        const { tool, data, facts, flags, blocks } = ex.exif;
        const doc: ImageMetadataDocument = { schemaVersion: 'exhibit.image-metadata/1', source: artifact.name, sourceSha256: artifact.sha256, tool, blocks, data, facts, flags };
        const blob = await store.putBytes(canonicalBytes(doc), { contentType: 'application/json' });
        derived.push(derivedArtifact(`${DERIVED_PREFIX}${artifact.name}.exif.json`, 'metadata', 'application/json', blob, derivation('exif-extract', tool)));
        // Each block that could not be read is named on the original; the rest was kept.
        artifact.flags.push(...flags);
        record(artifact.name, 'exif', flags.length ? 'partial' : 'ok', tool, flags.length ? `unreadable: ${flags.map((f) => f.block).join(', ')}` : null);
      } else {
        record(artifact.name, 'exif', 'failed', ex.exif.tool, ex.exif.error);
        artifact.flags.push({ code: 'METADATA_FAILED', message: `image metadata could not be read (${ex.exif.tool}): ${ex.exif.error}` });
      }

      if (ex.thumb.ok) {
        try {
          const blob = await store.putFile(ex.thumb.dest, { contentType: 'image/webp' });
          derived.push(derivedArtifact(`${DERIVED_PREFIX}${artifact.name}.thumb.webp`, 'thumbnail', 'image/webp', blob, derivation(ex.thumb.method, ex.thumb.tool)));
          record(artifact.name, 'thumbnail', 'ok', ex.thumb.tool, null);
        } catch (err) {
          record(artifact.name, 'thumbnail', 'failed', ex.thumb.tool, errMessage(err));
        }
      } else {
        record(artifact.name, 'thumbnail', 'failed', pixelsTool, ex.thumb.error);
      }
      // Pixels that could not be decoded are a fact about the artifact, not only a failed step.
      const undecoded = !ex.phash.ok ? ex.phash.error : !ex.thumb.ok ? ex.thumb.error : null;
      if (undecoded !== null) artifact.flags.push({ code: 'IMAGE_NOT_DECODED', message: `no thumbnail or perceptual hash (${pixelsTool}): ${undecoded}` });
    } else if (ex.kind === 'media') {
      if (ex.probe.ok) {
        await storeJson(`${DERIVED_PREFIX}${artifact.name}.ffprobe.json`, 'ffprobe', ex.probe);
        record(artifact.name, 'ffprobe', 'ok', ex.probe.tool, null);
      } else {
        record(artifact.name, 'ffprobe', 'failed', ex.probe.tool, ex.probe.error);
        artifact.flags.push({ code: 'METADATA_FAILED', message: `media metadata could not be read (${ex.probe.tool}): ${ex.probe.error}` });
      }
    }
  }

  // Collector-made derivatives (an MP4 assembled from recorded HLS segments) name their source.
  for (const { file, artifact } of originals) {
    if (file.spool.derivedFrom) artifact.derivedFrom = collectorDerivation(file.spool.path, file.spool.derivedFrom, originals.map((o) => o.artifact));
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
  const manifestKey = storeKeys.manifest(caseId, payload.captureId);
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

function derivedArtifact(name: string, role: Artifact['role'], mediaType: string, blob: StoredBlob, derivedFrom: Derivation): Artifact {
  return {
    name,
    role,
    mediaType,
    size: blob.size,
    sha256: blob.sha256,
    sha512: blob.sha512,
    storeKey: blob.key,
    sourceUrl: null,
    derivedFrom,
    perceptualHash: null,
    flags: [],
  };
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

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function safeJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
}
