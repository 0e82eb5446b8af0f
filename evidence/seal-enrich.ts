import * as path from 'node:path';
import type { Artifact, Derivation } from '../schemas/artifact.js';
import type { Config } from '../schemas/config.js';
import type { ImageMetadataDocument } from '../schemas/image-metadata.js';
import type { EnrichmentRecord } from '../schemas/manifest.js';
import { canonicalBytes } from './canonical.js';
import { makeThumbnail, openRaster, perceptualHash, SHARP_TOOL, type RasterSource } from './derive.js';
import { extractImageMetadata, probeMedia, type ImageMetadataResult, type MetadataResult } from './metadata.js';
import { DERIVED_PREFIX, type ResolvedFile } from './spool-files.js';
import type { EvidenceStore, StoredBlob } from './store.js';

/**
 * Enrichment of sealed originals: EXIF JSON, thumbnails, perceptual hashes and ffprobe JSON as
 * labelled derivatives. Optional: every outcome is recorded, none fails the seal.
 */

/**
 * Images that are documents, not pixels: left alone. Every other image type is decoded (sharp, or
 * libheif's heif-convert for HEVC-coded HEIF); one that cannot be is flagged, never skipped quietly.
 */
const NOT_RASTER_TYPES = new Set(['image/svg+xml']);
/** Images whose metadata we read: exifr 7 reads all but WebP, whose chunks metadata.ts hands it. */
const EXIF_TYPES = new Set(['image/jpeg', 'image/jpg', 'image/pjpeg', 'image/png', 'image/tiff', 'image/avif', 'image/heic', 'image/heif', 'image/webp']);

function baseType(mediaType: string): string {
  return mediaType.split(';')[0]!.trim().toLowerCase();
}

/** What the enrichment tools found in one spool file, before its digest is known. */
export type Extracted =
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

/** Where one seal's enrichment goes: the store, a scratch directory, and the lists it adds to. */
export interface EnrichContext {
  store: EvidenceStore;
  config: Pick<Config, 'seal'>;
  /** Scratch directory for thumbnails until they are stored. */
  tmp: string;
  /** Derivatives stored so far. */
  derived: Artifact[];
  /** Record one step's outcome. */
  record(artifact: string, step: EnrichmentRecord['step'], status: EnrichmentRecord['status'], tool: string | null, message: string | null): void;
}

/** What the enrichment tools say about one spool file; never throws (failures are outcomes). */
export async function extract(file: ResolvedFile, i: number, c: Pick<EnrichContext, 'config' | 'tmp'>): Promise<Extracted> {
  const type = baseType(file.spool.mediaType);
  if (type.startsWith('image/')) {
    if (NOT_RASTER_TYPES.has(type)) return { kind: 'not-raster', type };
    const exif = EXIF_TYPES.has(type) ? await extractImageMetadata(file.abs) : null;
    // Decoded once (a HEIC by heif-convert into a temporary PNG), then hashed and thumbnailed.
    let raster: RasterSource;
    try {
      raster = await openRaster(file.abs, { heifConvertPath: c.config.seal.heifConvertPath });
    } catch (err) {
      const failed = { ok: false as const, error: errMessage(err) };
      return { kind: 'image', type, pixelsTool: null, phash: failed, exif, thumb: failed };
    }
    try {
      const phash = await perceptualHash(raster).then(
        (value) => ({ ok: true as const, value }),
        (err: unknown) => ({ ok: false as const, error: errMessage(err) }),
      );
      const dest = path.join(c.tmp, `thumb-${i}.webp`);
      const thumb = await makeThumbnail(raster, dest, c.config.seal.thumbnailSize, { format: 'webp' }).then(
        (t) => ({ ok: true as const, method: t.method, tool: t.tool, dest }),
        (err: unknown) => ({ ok: false as const, error: errMessage(err) }),
      );
      return { kind: 'image', type, pixelsTool: raster.tool, phash, exif, thumb };
    } finally {
      await raster.dispose();
    }
  }
  if (type.startsWith('video/') || type.startsWith('audio/')) return { kind: 'media', probe: await probeMedia(file.abs, c.config.seal.ffprobePath) };
  return { kind: 'none' };
}

/** Store the derivatives of one sealed original (they name its digest) and record every outcome. */
export async function recordEnrichment(artifact: Artifact, ex: Extracted, c: EnrichContext): Promise<void> {
  const { store, derived, record } = c;
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

export function derivedArtifact(name: string, role: Artifact['role'], mediaType: string, blob: StoredBlob, derivedFrom: Derivation): Artifact {
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

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
