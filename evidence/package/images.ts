/**
 * The images a certificate shows: for one capture its screenshot (embedded as it is), for several a
 * small JPEG of each capture's thumbnail. Each image is read from the store once, shared with the
 * zip writer, and checked against its sealed digest before it is shown.
 */
import sharp from 'sharp';
import { mapLimit } from '../../lib/concurrency.js';
import { IntegrityError } from '../../lib/errors.js';
import type { Artifact } from '../../schemas/artifact.js';
import type { CaptureManifest } from '../../schemas/manifest.js';
import { sha256Digest } from '../canonical.js';
import type { EvidenceStore } from '../store.js';
import { EMBEDDABLE_IMAGE_TYPES } from './certificate.js';

/** Largest screenshot (bytes) embedded into the certificate as a data: URI. @defaultValue 12 MiB */
export const MAX_EMBEDDED_SCREENSHOT_BYTES = 12 * 1024 * 1024;

/**
 * Width (px) of a screenshot shown in a multi-capture certificate: 38 mm wide, so 256 px is ~170 dpi.
 * @defaultValue 256
 */
const THUMBNAIL_WIDTH_PX = 256;

/** Certificate thumbnails being made at once (sharp queues the rest; this bounds the buffers held). */
const THUMBNAIL_CONCURRENCY = 8;

export interface CertificateImage {
  uri: string | null;
  from: string | null;
}

/**
 * The sealed image a certificate shows for a capture: for one capture, the screenshot itself (or its
 * thumbnail when the screenshot is too large to embed); for several, the thumbnail (or, lacking one,
 * a small enough screenshot).
 */
export function certificateImageArtifact(manifest: CaptureManifest, multi: boolean): Artifact | undefined {
  const candidates = manifest.artifacts.filter((a) => EMBEDDABLE_IMAGE_TYPES.has(a.mediaType.split(';')[0]!.trim().toLowerCase()));
  const original = candidates.find((a) => a.role === 'screenshot' && !a.derivedFrom);
  const thumb = original && candidates.find((a) => a.role === 'thumbnail' && a.derivedFrom?.source === original.name);
  const pick = multi ? (thumb ?? original) : original && original.size <= MAX_EMBEDDED_SCREENSHOT_BYTES ? original : thumb;
  return pick && pick.size <= MAX_EMBEDDED_SCREENSHOT_BYTES ? pick : undefined;
}

async function screenshotUri(manifest: CaptureManifest, read: (key: string) => Promise<Buffer>): Promise<string | null> {
  const pick = certificateImageArtifact(manifest, false);
  if (!pick) return null;
  const bytes = await read(pick.storeKey);
  if (sha256Digest(bytes) !== pick.sha256) throw new IntegrityError('HASH_MISMATCH', `artifact ${pick.name} in the store does not match its manifest digest`);
  return `data:${pick.mediaType.split(';')[0]!.trim().toLowerCase()};base64,${bytes.toString('base64')}`;
}

/**
 * The image of a capture in a multi-capture certificate: its sealed thumbnail (or, lacking one, the
 * screenshot itself when small enough), checked against its digest and re-encoded as a small JPEG —
 * Chromium embeds a JPEG in the PDF as it is, while a WebP or PNG is decoded and re-compressed
 * (~9 ms an image). An image sharp cannot read is left out, not fatal: the file is still in the package.
 */
async function thumbnailUri(manifest: CaptureManifest, read: (key: string) => Promise<Buffer>): Promise<CertificateImage> {
  const pick = certificateImageArtifact(manifest, true);
  if (!pick) return { uri: null, from: null };
  const bytes = await read(pick.storeKey);
  if (sha256Digest(bytes) !== pick.sha256) throw new IntegrityError('HASH_MISMATCH', `artifact ${pick.name} in the store does not match its manifest digest`);
  try {
    const jpeg = await sharp(bytes)
      .resize({ width: THUMBNAIL_WIDTH_PX, withoutEnlargement: true })
      .flatten({ background: '#ffffff' })
      .jpeg({ quality: 80 })
      .toBuffer();
    return { uri: `data:image/jpeg;base64,${jpeg.toString('base64')}`, from: pick.name };
  } catch {
    return { uri: null, from: null };
  }
}

/**
 * The image a certificate shows is read once, by whichever needs it first (the certificate or the
 * zip), and let go when every reader registered for it has taken it (a content-addressed image may
 * be pictured by several captures). The zip writer still checks those bytes against both sealed
 * digests, like any other entry.
 */
export class CertificateImages {
  private readonly reads = new Map<string, { bytes: Promise<Buffer> | null; uses: number }>();

  constructor(
    private readonly store: EvidenceStore,
    private readonly multi: boolean,
    private readonly bufferedMax: number,
  ) {}

  /** The artifact a capture's certificate entry shows. */
  pictured(manifest: CaptureManifest): Artifact | undefined {
    return certificateImageArtifact(manifest, this.multi);
  }

  /** The artifact a capture's certificate entry shows, registered for its readers (the certificate, and the zip when it reads it whole). */
  pictureOf(manifest: CaptureManifest): Artifact | undefined {
    const pic = certificateImageArtifact(manifest, this.multi);
    if (pic) {
      const r = this.reads.get(pic.storeKey) ?? { bytes: null, uses: 0 };
      r.uses += pic.size <= this.bufferedMax ? 2 : 1;
      this.reads.set(pic.storeKey, r);
    }
    return pic;
  }

  readonly read = (key: string): Promise<Buffer> => {
    const r = this.reads.get(key);
    if (!r) return this.store.getBytes(key);
    if (!r.bytes) {
      r.bytes = this.store.getBytes(key);
      r.bytes.catch(() => undefined);
    }
    if (--r.uses <= 0) this.reads.delete(key);
    return r.bytes;
  };

  /** Every capture's image, in order (thumbnails a few at a time, on sharp's thread pool). */
  render(manifests: readonly CaptureManifest[]): Promise<CertificateImage[]> {
    const p = this.multi
      ? mapLimit(manifests, THUMBNAIL_CONCURRENCY, (m) => thumbnailUri(m, this.read))
      : Promise.all(manifests.map(async (m) => ({ uri: await screenshotUri(m, this.read), from: null })));
    p.catch(() => undefined);
    return p;
  }
}
