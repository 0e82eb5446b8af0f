import { z } from 'zod';
import { Sha256Digest, Sha512Digest } from './common.js';

/** What an artifact is, within one capture. Closed vocabulary. */
export const ARTIFACT_ROLES = [
  'screenshot', // full-page PNG as rendered
  'dom', // serialised DOM after load (HTML)
  'mhtml', // CDP Page.captureSnapshot
  'warc', // every request and response, raw bytes
  'wacz', // the WARC as recorded, indexed and signed for replay (WACZ 1.1.1): derived
  'page-facts', // JSON: PageFacts
  'environment', // JSON: CaptureEnvironment
  'media', // an image/video/audio the page showed, bytes as served
  'post', // normalised post JSON (platform collectors)
  'metadata', // JSON extracted from another artifact (exifr, ffprobe): derived
  'thumbnail', // image derivative (sharp): derived
  'other',
] as const;
export const ArtifactRole = z.enum(ARTIFACT_ROLES);
export type ArtifactRole = z.infer<typeof ArtifactRole>;

/** Metadata blocks of an image, each read on its own when the file's metadata as a whole cannot be. */
export const IMAGE_METADATA_BLOCKS = ['ifd0', 'exif', 'gps', 'interop', 'ifd1', 'xmp', 'iptc', 'icc', 'jfif', 'ihdr'] as const;
export type ImageMetadataBlock = (typeof IMAGE_METADATA_BLOCKS)[number];

/**
 * A problem noticed about an artifact. `block` names the part of the file it concerns when only a
 * part is affected (a metadata block such as `gps` or `icc`); absent for the file as a whole.
 */
export const ArtifactFlag = z.object({ code: z.string(), block: z.string().optional(), message: z.string() });
export type ArtifactFlag = z.infer<typeof ArtifactFlag>;

/**
 * How a collector made a file from other evidence (e.g. an MP4 assembled with ffmpeg from recorded
 * HLS segments). The sealer turns it into the artifact's {@link Derivation}.
 */
export const SpoolDerivation = z.object({
  /** Spool path of the source within the same capture, or the URL of a recorded response. */
  source: z.string(),
  /** Digest of the source when it is not a spool file of this capture (a spool file's is computed by the sealer). */
  sourceSha256: Sha256Digest.optional(),
  /** What was done, e.g. `hls-assemble`. */
  method: z.string(),
  /** Tool, version and command line, e.g. `ffmpeg 5.1.9: ffmpeg -i local.m3u8 -c copy out.mp4`. */
  tool: z.string(),
});
export type SpoolDerivation = z.infer<typeof SpoolDerivation>;

/**
 * A file a collector left in its spool directory, before sealing.
 * `path` is relative to the spool directory, POSIX separators, no `..`.
 */
export const SpoolFile = z.object({
  path: z.string().regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+$/, 'spool path must be relative and must not contain ..'),
  role: ArtifactRole,
  mediaType: z.string(),
  /** Where the bytes came from on the network, for media taken from recorded responses. */
  sourceUrl: z.string().nullable().default(null),
  /** Problems noticed while collecting this file (truncated, oversize, …). */
  flags: z.array(ArtifactFlag).default([]),
  /** Set when the collector made this file from other evidence rather than receiving it; the artifact is then marked derived. */
  derivedFrom: SpoolDerivation.optional(),
});
export type SpoolFile = z.infer<typeof SpoolFile>;

/** How a derived artifact was made from its source; originals have none. */
export const Derivation = z.object({
  /** Name of the source artifact within the same capture (or, for a collector's derivative of a recorded response, its URL). */
  source: z.string(),
  sourceSha256: Sha256Digest,
  /** What was done, e.g. `exif-extract`, `ffprobe`, `thumbnail-512-webp`. */
  method: z.string(),
  /**
   * Tool and version, e.g. `exifr 7.1.3`, `sharp 0.34.5 / libvips 8.17.3`, `ffprobe 5.1.9`; a chain
   * when more than one made it, e.g. `heif-convert (libheif 1.15.1) + sharp 0.34.5 / libvips 8.17.3`.
   */
  tool: z.string(),
});
export type Derivation = z.infer<typeof Derivation>;

/** One sealed artifact: an entry of the capture manifest. */
export const Artifact = z.object({
  /** Unique name within the capture, e.g. `screenshot.png`, `media/003-photo.jpg`, `derived/003-photo.exif.json`. */
  name: z.string(),
  role: ArtifactRole,
  mediaType: z.string(),
  size: z.number().int().nonnegative(),
  sha256: Sha256Digest,
  sha512: Sha512Digest,
  /** Content address in the evidence store: `sha256/<hex>`. */
  storeKey: z.string().regex(/^sha256\/[0-9a-f]{64}$/),
  sourceUrl: z.string().nullable(),
  derivedFrom: Derivation.nullable(),
  /** Perceptual hash of images (`dhash:<16 hex>`), null otherwise. */
  perceptualHash: z.string().nullable(),
  flags: z.array(ArtifactFlag),
});
export type Artifact = z.infer<typeof Artifact>;
